/**
 * The family shields (docs/storage-schema.md §Shield, §Ordering) on real Durable Objects, KV and
 * Cache API, with the dev origin over real HTTP. The origin is held open with the dev origin's
 * `slow` fault while a purge, DELETE or PUT arrives; the fill then returns the old value, which
 * must be written nowhere.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createTokenMemory } from "../../src/auth/jwt";
import { createIsolateFiller, type CacheResult } from "../../src/cache";
import { createOriginClient, createOriginFill } from "../../src/origin";
import { createShieldClient, createShieldFiller, type FamilyShield } from "../../src/shield";
import { REFRESH_MIN_INTERVAL_SECONDS } from "../../src/shield/ordering";
import type { TieredStore } from "../../src/storage";
import { clearFault, fillCount, freshId, setFault } from "../dev-origin/helpers";
import { adminToken } from "../helpers/tokens";
import { callWorker } from "../helpers/worker";
import { binding, config, EDGE, familyOf, fetchFill, KV, shield, shieldRow, shieldStub, testIsolate } from "./helpers";

/** The dev origin checks tokens against the wall clock; the cache logic runs on this one. */
const NOW = Math.floor(Date.now() / 1000);
/** Long enough for a purge to arrive while the origin still holds the fill. */
const HOLD_MS = 3000;

let ADMIN = "";
beforeAll(async () => {
  ADMIN = await adminToken(NOW);
});
afterEach(() => vi.restoreAllMocks());

const adminKey = (label: string) => `auth:is_admin:oseh_u_${freshId(label)}`;

function admin(path: string, init: RequestInit = {}, now = NOW): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `bearer ${ADMIN}`);
  return callWorker(`${EDGE}/_edge/v1${path}`, { ...init, headers }, { now });
}

const purge = (body: unknown) =>
  admin("/purge", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

const text = (outcome: CacheResult) => (outcome.kind === "value" ? new TextDecoder().decode(outcome.value.bytes) : outcome.kind);

async function untilOriginHas(key: string, fills: number): Promise<void> {
  for (let i = 0; i < 500 && (await fillCount(key)) < fills; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(await fillCount(key)).toBe(fills);
}

/**
 * Starts a fill of `key` that the origin holds for HOLD_MS, runs `intervene` once the origin has
 * the request, and returns what the fill answered.
 */
async function raceFill(key: string, intervene: () => Promise<void>): Promise<CacheResult> {
  await setFault(key, { kind: "slow", ms: HOLD_MS }, 1);
  const filling = testIsolate();
  const pending = filling.start(key, NOW);
  await untilOriginHas(key, 1);
  await intervene();
  const outcome = await pending;
  await filling.settle();
  return outcome;
}

/** Nothing of `key` anywhere a reader could find it: KV, the shield's storage, L1 (a reader with L1 on). */
async function expectGone(key: string): Promise<void> {
  expect(await KV.get(key)).toBeNull();
  expect(await shieldRow(key)).toBeUndefined();
  expect(await testIsolate().read(key, NOW + 1)).toEqual({ state: "miss" });
}

describe("shield: a purge, DELETE or PUT after a fill started wins", () => {
  it("purge by key", async () => {
    const key = adminKey("race-key");
    const outcome = await raceFill(key, async () => {
      expect((await purge({ keys: [key] })).status).toBe(200);
    });
    // The fill answered its waiters with what the origin said…
    expect(text(outcome)).toBe("0");
    expect(outcome).toMatchObject({ state: "miss", stored: false });
    // …and wrote it nowhere.
    await expectGone(key);
  });

  it("purge by family", async () => {
    const key = adminKey("race-family");
    const outcome = await raceFill(key, async () => {
      expect((await purge({ family: "auth:is_admin:{sub}" })).status).toBe(200);
    });
    expect(text(outcome)).toBe("0");
    await expectGone(key);
  });

  it("purge by prefix (reaching into the family's params)", async () => {
    const key = adminKey("race-prefix");
    const outcome = await raceFill(key, async () => {
      expect((await purge({ prefix: key.slice(0, -3) })).status).toBe(200);
    });
    expect(text(outcome)).toBe("0");
    await expectGone(key);
  });

  it("DELETE", async () => {
    const key = adminKey("race-delete");
    const outcome = await raceFill(key, async () => {
      expect((await admin(`/keys/${encodeURIComponent(key)}`, { method: "DELETE" })).status).toBe(204);
    });
    expect(text(outcome)).toBe("0");
    await expectGone(key);
  });

  it("PUT: the newer value stays, in KV, the shield and L1", async () => {
    const key = adminKey("race-put");
    const outcome = await raceFill(key, async () => {
      expect((await admin(`/keys/${encodeURIComponent(key)}`, { method: "PUT", body: "1" })).status).toBe(204);
    });
    expect(text(outcome)).toBe("0");
    expect(await KV.get(key)).toBe("1");
    expect(await shieldRow(key)).toBe("1");
    const read = await testIsolate().read(key, NOW + 1);
    expect(read.state === "fresh" && new TextDecoder().decode(read.value.bytes)).toBe("1");
    expect((await shield.stats(familyOf(key))).droppedLateWrites).toBeGreaterThanOrEqual(1);
  });

  it("a fill that started after the purge is stored as usual", async () => {
    const key = adminKey("after");
    expect((await purge({ keys: [key] })).status).toBe(200);
    const outcome = await testIsolate().start(key, NOW);
    expect(outcome).toMatchObject({ state: "miss", stored: true });
    expect(await KV.get(key)).toBe("0");
    expect(await shieldRow(key)).toBe("0");
  });
});

describe("shield: one origin fill for the whole edge", () => {
  it("50 concurrent misses from 50 isolates (L1 off, KV empty) make exactly one origin fill", async () => {
    const key = adminKey("fifty");
    await setFault(key, { kind: "slow", ms: 300 }, 1);
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => testIsolate({ l1: false }).start(key, NOW)));
    expect(await fillCount(key)).toBe(1);
    expect(new Set(outcomes.map(text))).toEqual(new Set(["0"]));
    const stats = await shield.stats(familyOf(key));
    expect(stats.fills).toBeGreaterThanOrEqual(1);
    expect(stats.coalesced + stats.shieldHits).toBeGreaterThanOrEqual(49);
  });

  it("control: without the shield the same 50 isolates each fill (the test above needs the shield)", async () => {
    const key = adminKey("fifty-control");
    await setFault(key, { kind: "slow", ms: 300 }, 1);
    const noShield = (store: TieredStore, fills: Map<string, Promise<unknown>>) => createIsolateFiller(store, fetchFill, fills);
    await Promise.all(Array.from({ length: 50 }, () => testIsolate({ l1: false, filler: noShield }).start(key, NOW)));
    expect(await fillCount(key)).toBeGreaterThan(1);
  });

  it("a colo whose KV copy is missing is answered by the shield, not the origin", async () => {
    const key = adminKey("kv-missing");
    await testIsolate({ l1: false }).start(key, NOW);
    await KV.delete(key); // as a colo whose KV read is stale or empty sees it
    const again = await testIsolate({ l1: false }).start(key, NOW);
    expect(text(again)).toBe("0");
    expect(await fillCount(key)).toBe(1);
  });

  it("a value over the shield's per-value limit fills, is stored in KV only, and is served", async () => {
    const key = `journey_share_links:top_sharers:${19_000 + Math.floor(Math.random() * 900)}:${20_000 + Math.floor(Math.random() * 5000)}`;
    const first = await testIsolate({ l1: false }).start(key, NOW);
    expect(first).toMatchObject({ kind: "value", state: "miss", stored: true });
    if (first.kind !== "value") throw new Error("no value");
    expect(first.value.bytes.byteLength).toBeGreaterThan(config.shieldMaxValueBytes);
    expect(await shieldRow(key)).toBeUndefined();
    const stored = await KV.get(key, "arrayBuffer");
    expect(new Uint8Array(stored!)).toEqual(first.value.bytes);
    expect(await testIsolate({ l1: false }).start(key, NOW)).toMatchObject({ kind: "value", state: "hit", tier: "l2" });
  });
});

describe("shield: X-Edge-Source-Time", () => {
  it("drops a retried older PUT after a newer DELETE (409), leaving the key deleted", async () => {
    const key = adminKey("source-time");
    const path = `/keys/${encodeURIComponent(key)}`;
    expect((await admin(path, { method: "PUT", body: "1", headers: { "X-Edge-Source-Time": "1000.5" } })).status).toBe(204);
    expect((await admin(path, { method: "DELETE", headers: { "X-Edge-Source-Time": "1001" } })).status).toBe(204);
    const retried = await admin(path, { method: "PUT", body: "1", headers: { "X-Edge-Source-Time": "1000.5" } });
    expect(retried.status).toBe(409);
    expect(await retried.json()).toMatchObject({ type: "superseded" });
    expect(await KV.get(key)).toBeNull();
    // A newer one applies.
    expect((await admin(path, { method: "PUT", body: "0", headers: { "X-Edge-Source-Time": "1002" } })).status).toBe(204);
    expect(await KV.get(key)).toBe("0");
  });

  it("refuses a malformed X-Edge-Source-Time before storing anything", async () => {
    const key = adminKey("source-time-bad");
    for (const bad of ["soon", "-1", "1e3", "12.5.1"]) {
      const response = await admin(`/keys/${encodeURIComponent(key)}`, { method: "PUT", body: "1", headers: { "X-Edge-Source-Time": bad } });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ type: "bad_request" });
    }
    expect(await KV.get(key)).toBeNull();
    expect(await shieldRow(key)).toBeUndefined();
  });
});

describe("shield: forced refresh", () => {
  it("does not join an older fill in flight, and that older fill then writes nothing", async () => {
    const key = adminKey("refresh-join");
    await setFault(key, { kind: "slow", ms: HOLD_MS }, 1);
    const older = testIsolate().start(key, NOW);
    await untilOriginHas(key, 1);
    // The refresh makes its own origin call while the older one is still held.
    const refreshed = await testIsolate().start(key, NOW, { refresh: true });
    expect(refreshed).toMatchObject({ state: "miss", requested: true, stored: true });
    expect(await fillCount(key)).toBe(2);
    await older;
    expect((await shield.stats(familyOf(key))).droppedLateWrites).toBeGreaterThanOrEqual(1);
    expect(await shieldRow(key)).toBe("0");
  });

  it("reaches the origin at most once per 3 s for one key", async () => {
    const key = adminKey("refresh-limit");
    await testIsolate().start(key, NOW, { refresh: true });
    await testIsolate().start(key, NOW + 1, { refresh: true }); // within 3 s: answered from the shield's copy
    expect(await fillCount(key)).toBe(1);
    await testIsolate().start(key, NOW + 3, { refresh: true });
    expect(await fillCount(key)).toBe(2);
    await clearFault(key);
  });
});

describe("shield: without the binding", () => {
  it("falls back to in-isolate coalescing and says so once", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const { FAMILY_SHIELD: _omitted, ...without } = env as unknown as Record<string, unknown>;
    const key = adminKey("no-binding");
    for (let i = 0; i < 2; i++) {
      const response = await admin(`/keys/${encodeURIComponent(key)}`, { method: "PUT", body: "1" }).then(() =>
        callWorker(`${EDGE}/_edge/v1/keys/${encodeURIComponent(key)}`, { headers: { authorization: `bearer ${ADMIN}` } }, { now: NOW, env: without }),
      );
      expect(response.status).toBe(200);
    }
    const warned = warn.mock.calls.filter((call) => String(call[0]).includes("FAMILY_SHIELD binding absent"));
    expect(warned).toHaveLength(1);
    // One structured line, like every event the Worker prints.
    expect(JSON.parse(String(warned[0]?.[0]))).toMatchObject({ msg: "FAMILY_SHIELD binding absent" });
  });
});

describe("shield: leases (a fill whose bytes go elsewhere)", () => {
  it("publishes through the callback only when nothing was written or purged since the lease", async () => {
    const key = adminKey("lease");
    const stub = shieldStub(key);
    const published: string[] = [];
    const publish = async () => {
      published.push(key);
      return { ok: true as const };
    };
    const first = await stub.lease({ key, now: NOW });
    expect(await stub.commitLease({ key, lease: first.lease, now: NOW }, publish)).toMatchObject({ committed: true });
    expect(published).toHaveLength(1);

    const second = await stub.lease({ key, now: NOW });
    expect((await purge({ prefix: key })).status).toBe(200);
    expect(await stub.commitLease({ key, lease: second.lease, now: NOW }, publish)).toEqual({ committed: false });
    expect(published).toHaveLength(1);
    // A lease is good for one commit of its own key.
    expect(await stub.commitLease({ key, lease: first.lease, now: NOW }, publish)).toEqual({ committed: false });
  });
});

describe("shield: stats and unavailability", () => {
  it("a PUT of the bytes KV already holds counts as a skipped write, as it does without the shield", async () => {
    const key = adminKey("skip");
    const path = `/keys/${encodeURIComponent(key)}`;
    const counted = async () => {
      const body = (await (await admin("/stats")).json()) as { families: Record<string, Record<string, number>> };
      const counters = body.families["auth:is_admin:{sub}"];
      return { writes: counters?.writes ?? 0, skippedWrites: counters?.skippedWrites ?? 0 };
    };
    const before = await counted();
    expect((await admin(path, { method: "PUT", body: "1" })).status).toBe(204);
    expect((await admin(path, { method: "PUT", body: "1" })).status).toBe(204);
    const after = await counted();
    // The first PUT wrote KV; the second found the same bytes there and skipped the write.
    expect({ writes: after.writes - before.writes, skippedWrites: after.skippedWrites - before.skippedWrites }).toEqual({ writes: 1, skippedWrites: 1 });
  });

  it("GET /stats?family= adds the family's shield counters; an unknown family is a 400", async () => {
    const key = adminKey("stats");
    await testIsolate().start(key, NOW);
    const response = await admin(`/stats?family=${encodeURIComponent("auth:is_admin:{sub}")}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { shield: Record<string, Record<string, number>> };
    expect(Object.keys(body.shield["auth:is_admin:{sub}"] ?? {}).sort()).toEqual(
      ["coalesced", "droppedLateWrites", "fills", "lateAdminWrites", "refreshFailures", "refreshes", "shieldHits"],
    );
    expect(body.shield["auth:is_admin:{sub}"]?.fills).toBeGreaterThanOrEqual(1);
    const unknown = await admin(`/stats?family=${encodeURIComponent("nope:{x}")}`);
    expect(unknown.status).toBe(400);
  });

  it("a shield that cannot be reached: the miss is still answered, and nothing is stored", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    // Wraps the real namespace; only its objects' calls fail, as an overloaded object's would.
    const down = new Proxy(binding, {
      get(target, prop, receiver) {
        if (prop !== "get") {
          const real = Reflect.get(target, prop, receiver) as unknown;
          return typeof real === "function" ? (real as (...args: unknown[]) => unknown).bind(target) : real;
        }
        return () => ({ fill: () => Promise.reject(new Error("Durable Object is overloaded")) });
      },
    });
    const unreachable = createShieldClient(down, { shards: config.shieldShards });
    const key = adminKey("down");
    const outcome = await testIsolate({ filler: (store, fills) => createShieldFiller(unreachable, store, fetchFill, fills) }).start(key, NOW);
    expect(outcome).toMatchObject({ kind: "value", state: "miss", stored: false });
    expect(text(outcome)).toBe("0");
    expect(await KV.get(key)).toBeNull();
    expect(error).toHaveBeenCalledWith(expect.stringMatching(/^\{"msg":"shield unavailable; filling without storing","family":"auth:is_admin:\{sub\}",.*"message":"Durable Object is overloaded"\}$/));
  });
});

describe("forced refresh reaches the origin", () => {
  it("sends Cache-Control: no-cache on a refresh fill, and nothing on a plain one", async () => {
    const seen: (string | null)[] = [];
    // Wraps the real fetch to the dev origin; only records the header.
    const recording = createOriginClient({ tokens: createTokenMemory(),
      config: { originUrl: config.originUrl, originTimeoutMs: 10_000, edgeOriginSecret: config.secrets.edgeOrigin },
      fetch: (input, init) => {
        seen.push(new Headers(init?.headers).get("Cache-Control"));
        return fetch(input, init);
      },
    });
    const key = adminKey("no-cache");
    const local = (store: TieredStore, fills: Map<string, Promise<unknown>>) => createIsolateFiller(store, createOriginFill({ origin: recording, collabMaxSeconds: config.collabMaxSeconds }), fills);
    await testIsolate({ filler: local }).start(key, NOW);
    await testIsolate({ filler: local }).start(key, NOW, { refresh: true });
    expect(seen).toEqual([null, "no-cache"]);
  });

  it("forgets a key's forced refresh once the interval has passed, so one instance's memory of them stays bounded", async () => {
    // One instance takes forced refreshes of many keys (any client can send `Pragma: no-cache`);
    // past REFRESH_MIN_INTERVAL_SECONDS a remembered one changes nothing (refreshAllowed).
    const stub = binding.get(binding.idFromName(freshId("refresh-memory")));
    const keys = [1, 2, 3, 4, 5].map((n) => adminKey(`refresh-memory-${n}`));
    for (const key of keys) await stub.fill({ key, now: NOW, refresh: true });
    const later = adminKey("refresh-memory-later");
    await stub.fill({ key: later, now: NOW + REFRESH_MIN_INTERVAL_SECONDS, refresh: true });
    const remembered = await runInDurableObject(stub, (instance: FamilyShield) => [...(instance as unknown as { lastRefreshAt: Map<string, number> }).lastRefreshAt.keys()]);
    expect(remembered).toEqual([later]);
  });
});
