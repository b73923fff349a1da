/**
 * Origin faults through the Worker's own fetch (docs/reliability.md, "Origin"): the dev origin
 * misbehaves on demand (test/helpers/dev-origin.ts), a bare TCP origin resets mid-body, a closed
 * port refuses. With a good value inside STALE_IF_ERROR_SECONDS the edge serves it and says so in
 * `Cache-Status`; without one the route passes through or answers a 502/504 JSON. Nothing bad is
 * ever stored. The Worker runs as in production, the shield bound: the shield's fills meet the
 * same origin (test/helpers/shield-seams.ts `withShieldSettings`).
 */
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { clearFault, devControlHeaders, setFault, type DevFault } from "../helpers/dev-origin";
import { getValue } from "../dev-origin/helpers";
import { gzip, resourceToken } from "../routes/helpers";
import { seed } from "../routes/edge";
import { withShieldSettings } from "../helpers/shield-seams";
import { uniqueId } from "../helpers/worker";
import { captureLogs, counter, edge, edgeStats, envWith, wallNow } from "./helpers";

const FAMILY = "image_files:playlist:{uid}";
const SHORT_TIMEOUT = { ORIGIN_TIMEOUT_MS: "250" };

interface FaultCase {
  name: string;
  /** What the dev origin does for the key (none: the fault is the origin URL itself). */
  fault?: DevFault;
  env?: Record<string, unknown>;
  /** The status the edge records for the failed fill. */
  fwdStatus: 502 | 504;
  /** Without a stored value: "passthrough" (the dev origin's own 404), a JSON error, or a broken body. */
  bare: "passthrough" | "json" | "reset";
}

const CASES: FaultCase[] = [
  { name: "refused connection", env: { ORIGIN_URL: "http://127.0.0.1:9" }, fwdStatus: 502, bare: "json" },
  { name: "timeout before the head", fault: { kind: "slow", ms: 2000 }, env: SHORT_TIMEOUT, fwdStatus: 504, bare: "passthrough" },
  { name: "reset mid-body", env: { ORIGIN_URL: inject("resetOriginUrl") }, fwdStatus: 502, bare: "reset" },
  { name: "stall mid-body", fault: { kind: "stall", ms: 2000 }, env: SHORT_TIMEOUT, fwdStatus: 504, bare: "passthrough" },
  { name: "5xx", fault: { kind: "status", status: 503 }, fwdStatus: 502, bare: "passthrough" },
  { name: "200 with garbage", fault: { kind: "garbage" }, fwdStatus: 502, bare: "passthrough" },
  { name: "200 with a truncated value", fault: { kind: "truncated" }, fwdStatus: 502, bare: "passthrough" },
  { name: "200 with a value over 25 MiB", fault: { kind: "oversized" }, fwdStatus: 502, bare: "passthrough" },
];

async function playlistRequest(uid: string, fault: FaultCase): Promise<Response> {
  const now = wallNow();
  const headers = { authorization: `bearer ${await resourceToken("image", uid, now)}` };
  const overrides = fault.env ?? {};
  return withShieldSettings(overrides, () => edge(`/api/1/image_files/playlist/${uid}`, { headers }, { now, env: envWith(overrides) }));
}

async function stored(key: string): Promise<{ bytes: Uint8Array; expiresAt: unknown } | null> {
  const { value, metadata } = await env.CACHE.getWithMetadata<{ expiresAt: number }>(key, "arrayBuffer");
  return value === null ? null : { bytes: new Uint8Array(value), expiresAt: metadata?.expiresAt };
}

describe.each(CASES)("origin fault: $name", (fault) => {
  it("a good value inside STALE_IF_ERROR_SECONDS is served stale and kept; Cache-Status names the failure", async () => {
    const uid = uniqueId("oseh_if_rel");
    const key = `image_files:playlist:${uid}`;
    const now = wallNow();
    const good = await gzip(`{"items":{"uid":"${uid}"}}`);
    await seed({ [key]: good }, now - 100, now - 10);
    if (fault.fault !== undefined) await setFault(key, fault.fault);
    const before = await edgeStats();
    const { result: response, lines } = await captureLogs(() => playlistRequest(uid, fault));
    const after = await edgeStats();
    await clearFault(key);

    expect(response.status).toBe(200);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(good);
    expect(response.headers.get("cache-status")).toBe(`oseh-edge; hit; detail=stale-if-error; fwd-status=${fault.fwdStatus}`);
    expect(await stored(key)).toEqual({ bytes: good, expiresAt: now - 10 });
    expect(counter(after, "families", FAMILY, "originErrors") - counter(before, "families", FAMILY, "originErrors")).toBe(1);
    expect(counter(after, "families", FAMILY, "staleServes") - counter(before, "families", FAMILY, "staleServes")).toBe(1);
    expect(lines.some((line) => line.startsWith('{"msg":"origin fill failed"'))).toBe(true);
  });

  it("with nothing stored: passthrough or a 502/504 JSON, and nothing stored", async () => {
    const uid = uniqueId("oseh_if_rel");
    const key = `image_files:playlist:${uid}`;
    if (fault.fault !== undefined) await setFault(key, fault.fault);
    const { result, lines } = await captureLogs(async () => {
      try {
        return await playlistRequest(uid, fault);
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error));
      }
    });
    await clearFault(key);

    switch (fault.bare) {
      case "passthrough":
        // The dev origin has no playlist route: its FastAPI 404, passed through untouched.
        expect(result).toBeInstanceOf(Response);
        if (result instanceof Response) {
          expect([result.status, await result.text(), result.headers.get("cache-status")]).toEqual([404, '{"detail":"Not Found"}', "oseh-edge; fwd=bypass"]);
        }
        break;
      case "json":
        expect(result).toBeInstanceOf(Response);
        if (result instanceof Response) {
          expect(result.status).toBe(fault.fwdStatus);
          expect(((await result.json()) as { type: string }).type).toBe(fault.fwdStatus === 504 ? "origin_timeout" : "origin_unavailable");
          expect(result.headers.get("cache-status")).toBe(`oseh-edge; fwd=miss; fwd-status=${fault.fwdStatus}; detail=origin-error`);
        }
        break;
      case "reset":
        // The passthrough streams the origin's own broken body: the client sees the reset too,
        // never a body the edge made up.
        expect(result).toBeInstanceOf(Error);
        break;
    }
    expect(await stored(key)).toBeNull();
    expect(lines.some((line) => line.startsWith('{"msg":"origin fill failed"'))).toBe(true);
  });
});

describe("origin fault: delegated renders", () => {
  const journeyDoc = (uid: string) => JSON.stringify({ key: `journeys:external:${uid}`, jwt: "a.b.c" });

  async function delegate(body: string, query = "", overrides: Record<string, unknown> = {}): Promise<{ response: Response; lines: string[] }> {
    // The delegating test route is a dev-origin control: it needs the control bearer.
    const { result, lines } = await captureLogs(() =>
      withShieldSettings(overrides, () => edge(`/api/1/dev/delegate${query}`, { method: "POST", body, headers: devControlHeaders() }, { env: envWith(overrides) })),
    );
    return { response: result, lines };
  }

  it("a delegation document that does not validate → 502 JSON, Cache-Status origin-error", async () => {
    const { response, lines } = await delegate('{"key": 1}');
    expect(response.status).toBe(502);
    expect(((await response.json()) as { type: string }).type).toBe("bad_origin_response");
    expect(response.headers.get("cache-status")).toBe("oseh-edge; fwd=miss; fwd-status=502; detail=origin-error");
    expect(lines.some((line) => line.startsWith('{"msg":"delegation document refused"'))).toBe(true);
  });

  it("a delegation document that never ends → 504 JSON within ORIGIN_TIMEOUT_MS", async () => {
    const { response, lines } = await delegate(journeyDoc("oseh_j_devFull0000000000000001"), "?stall=1", SHORT_TIMEOUT);
    expect(response.status).toBe(504);
    expect(((await response.json()) as { type: string }).type).toBe("origin_timeout");
    expect(response.headers.get("cache-status")).toBe("oseh-edge; fwd=miss; fwd-status=504; detail=origin-error");
    expect(lines.some((line) => line.startsWith('{"msg":"delegation document did not arrive whole"'))).toBe(true);
  });

  it("the template fill timing out with nothing stored → 504 JSON, nothing stored", async () => {
    const uid = uniqueId("oseh_j_genrel");
    const key = `journeys:external:${uid}`;
    await setFault(key, { kind: "slow", ms: 2000 });
    const { response } = await delegate(journeyDoc(uid), "", SHORT_TIMEOUT);
    await clearFault(key);
    expect(response.status).toBe(504);
    expect(((await response.json()) as { type: string }).type).toBe("origin_timeout");
    expect(response.headers.get("cache-status")).toBe("oseh-edge; fwd=miss; fwd-status=504; detail=origin-error");
    expect(await stored(key)).toBeNull();
  });

  it("the template fill answering garbage with a good template stored → rendered from the stale template", async () => {
    const uid = uniqueId("oseh_j_genrel");
    const key = `journeys:external:${uid}`;
    const good = new Uint8Array(await (await getValue(key)).arrayBuffer());
    const now = wallNow();
    await seed({ [key]: good }, now - 100, now - 10);
    await setFault(key, { kind: "garbage" });
    const { result: response } = await captureLogs(() => edge("/api/1/dev/delegate", { method: "POST", body: journeyDoc(uid), headers: devControlHeaders() }, { now }));
    await clearFault(key);
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-status")).toBe("oseh-edge; hit; detail=stale-if-error; fwd-status=502");
    expect((await stored(key))?.bytes).toEqual(good);
  });
});
