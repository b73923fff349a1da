/**
 * The seams tests and the consistency checker build on (docs/design.md "Per-isolate state"):
 * the Worker's state lives in one object per isolate, the colo cache is injectable, the shields'
 * own storage can be wrapped with the Worker's fault wrappers and a shield can be reset mid-call,
 * and the tokens the edge sends the origin follow the platform clock, not the injected one.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shieldNameFor } from "../../src/shield";
import { parseKey } from "../../src/keys";
import { freshId } from "../dev-origin/helpers";
import { fillCount, gateOrigin } from "../helpers/dev-origin";
import { resourceToken } from "../routes/helpers";
import { faultyKv, KV_ERRORS } from "../helpers/faults";
import { resetShield, wrapShieldStorage } from "../helpers/shield-seams";
import { adminToken } from "../helpers/tokens";
import { callWorker, productionEnv, simulatedIsolate } from "../helpers/worker";
import { captureLogs } from "../reliability/helpers";

const EDGE = "https://edge.test";
const wallNow = () => Math.floor(Date.now() / 1000);
/** The production topology: the shield bound, L0 on, every setting pinned. */
const PRODUCTION = productionEnv();
const binding = (env as unknown as { FAMILY_SHIELD: DurableObjectNamespace }).FAMILY_SHIELD;

const adminKey = (label: string) => `auth:is_admin:oseh_u_${freshId(label)}`;
const keyPath = (key: string) => `/_edge/v1/keys/${encodeURIComponent(key)}`;

function shieldOf(key: string): DurableObjectStub {
  const parsed = parseKey(key);
  if (!parsed.ok) throw new Error(parsed.failure.message);
  return binding.get(binding.idFromName(shieldNameFor(parsed.value.family, key, 16)));
}

/** A transcript through its edge route: a miss fills from the origin (through the shield). */
async function readTranscript(uid: string, options: { isolate?: Awaited<ReturnType<typeof simulatedIsolate>>; now?: number } = {}): Promise<Response> {
  const now = options.now ?? wallNow();
  // The route checks the JWT with the cache clock (as the backend checks with its own).
  const init = { headers: { authorization: `bearer ${await resourceToken("transcript", uid, now)}` } };
  const url = `${EDGE}/api/1/transcripts/${uid}`;
  return options.isolate === undefined ? callWorker(url, init, { env: PRODUCTION, now }) : options.isolate.call(url, init, { env: PRODUCTION, now });
}

const transcriptUid = (label: string) => `oseh_t_gen${freshId(label)}`;

describe("per-isolate state", () => {
  it("two simulated isolates keep separate counters; one isolate's requests share them", async () => {
    const a = await simulatedIsolate("colo-a");
    const b = await simulatedIsolate("colo-a");
    const stats = async (who: typeof a) =>
      (await (await who.call(`${EDGE}/_edge/v1/stats`, { headers: { authorization: `Bearer ${await adminToken(wallNow())}` } }, { env: PRODUCTION })).json()) as { isolate: string };
    const first = await stats(a);
    expect((await stats(a)).isolate).toBe(first.isolate);
    expect((await stats(b)).isolate).not.toBe(first.isolate);
    expect(first.isolate).toBe(a.isolate.id);
  });
});

describe("colo caches", () => {
  it("each simulated colo has its own Cache API: a value kept locally in one colo is not in another", async () => {
    const key = adminKey("colo");
    const here = await simulatedIsolate(`colo-${freshId("h")}`);
    const there = await simulatedIsolate(`colo-${freshId("t")}`);
    const url = `${EDGE}/_edge/l1/probe`;
    await here.colo.put(url, new Response("x", { headers: { "Cache-Control": "max-age=60" } }));
    expect(await here.colo.match(url)).toBeDefined();
    expect(await there.colo.match(url)).toBeUndefined();
    // And the Worker reads the colo it was given: a PUT through one isolate is served to it.
    const put = await here.call(`${EDGE}${keyPath(key)}`, { method: "PUT", body: "1", headers: { authorization: `Bearer ${await adminToken(wallNow())}` } }, { env: PRODUCTION });
    expect(put.status).toBe(204);
    const read = await here.call(`${EDGE}${keyPath(key)}`, { headers: { authorization: `Bearer ${await adminToken(wallNow())}` } }, { env: PRODUCTION });
    expect(await read.text()).toBe("1");
  });
});

describe("the shields' own storage", () => {
  it("wrapping it reaches the shield's KV writes (and only while installed)", async () => {
    const key = adminKey("wrap");
    const restore = wrapShieldStorage({ kv: (real) => faultyKv(real, { put: "error" }).kv });
    try {
      const token = await adminToken(wallNow());
      const { result } = await captureLogs(() =>
        callWorker(`${EDGE}${keyPath(key)}`, { method: "PUT", body: "1", headers: { authorization: `Bearer ${token}` } }, { env: PRODUCTION }),
      );
      // The shield's KV write failed, so the write was not applied: a storage error, nothing in KV.
      expect(result.status).toBe(503);
      expect(await result.text()).toContain(KV_ERRORS.put.slice(0, 10));
    } finally {
      restore();
    }
    expect(await env.CACHE.get(key)).toBeNull();
    const again = await callWorker(`${EDGE}${keyPath(key)}`, { method: "PUT", body: "1", headers: { authorization: `Bearer ${await adminToken(wallNow())}` } }, { env: PRODUCTION });
    expect(again.status).toBe(204);
    expect(await env.CACHE.get(key)).toBe("1");
  });

  it("a shield reset in the middle of a fill: the waiting reader is still answered, the next fill starts afresh", async () => {
    const uid = transcriptUid("reset");
    const key = `transcripts:${uid}`;
    const gate = await gateOrigin({ key });
    const reader = captureLogs(() => readTranscript(uid));
    await gate.arrived(1);
    await resetShield(shieldOf(key));
    await gate.release();
    const { result, lines } = await reader;
    // The shield's answer was lost with it; the Worker filled without storing (src/shield/client.ts).
    expect(result.status).toBe(200);
    expect(result.headers.get("Cache-Status")).toContain("fwd=miss");
    expect(lines.some((line) => line.includes("shield unavailable"))).toBe(true);
    await gate.close();
    const before = await fillCount(key);
    expect((await readTranscript(uid)).status).toBe(200);
    expect(await fillCount(key)).toBe(before + 1);
  });
});

describe("wire tokens", () => {
  it("follow the platform clock: a Worker whose cache clock is days ahead still fills from the origin", async () => {
    const uid = transcriptUid("clock");
    const res = await readTranscript(uid, { now: wallNow() + 3 * 86_400 });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Status")).toContain("fwd=miss");
    expect(await fillCount(`transcripts:${uid}`)).toBe(1);
  });
});
