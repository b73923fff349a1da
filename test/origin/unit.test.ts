/** Pure pieces of src/origin: token reuse, header stripping, expiry header, delegation parsing, Cache-Status. */
import { describe, expect, it } from "vitest";
import {
  EDGE_TOKEN_LIFETIME_SECONDS,
  createOriginClient,
  cacheStatusBypass,
  cacheStatusError,
  cacheStatusHit,
  cacheStatusMiss,
  cacheStatusStale,
  edgeTokenClaims,
  forwardedRequestHeaders,
  getEdgeToken,
  mediaTypeOf,
  parseDelegation,
  parseExpiresAtHeader,
} from "../../src/origin";

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe("edge token", () => {
  it("has the DESIGN §4 claims and a 5-minute lifetime", () => {
    expect(edgeTokenClaims(1_800_000_000.7)).toEqual({ sub: "oseh-edge", iss: "oseh", aud: "oseh-origin", iat: 1_799_999_999, exp: 1_800_000_300 });
    expect(EDGE_TOKEN_LIFETIME_SECONDS).toBe(300);
  });

  it("is reused until a minute before expiry, then re-minted; per secret", async () => {
    const secret = `s-${Math.random()}`;
    const a = await getEdgeToken(secret, 1_800_000_000);
    expect(await getEdgeToken(secret, 1_800_000_100)).toBe(a);
    expect(await getEdgeToken(secret, 1_800_000_239)).toBe(a);
    const b = await getEdgeToken(secret, 1_800_000_240);
    expect(b).not.toBe(a);
    expect(await getEdgeToken(`${secret}-other`, 1_800_000_240)).not.toBe(b);
    // A clock that moved back before the token's iat gets a new one.
    expect(await getEdgeToken(secret, 1_700_000_000)).not.toBe(b);
  });
});

describe("forwarded headers", () => {
  it("drops X-Oseh-Edge*, X-Edge-*, Host and hop-by-hop headers, case-insensitively", () => {
    const out = forwardedRequestHeaders(
      new Headers({ "x-oseh-edge": "a", "X-OSEH-EDGE-TRACE": "b", "x-edge-family": "c", host: "edge.test", connection: "keep-alive", "x-edgeless": "kept", accept: "*/*" }),
    );
    expect([...out]).toEqual([
      ["accept", "*/*"],
      ["x-edgeless", "kept"],
    ]);
  });
});

describe("X-Edge-Expires-At", () => {
  it("accepts unix seconds only", () => {
    expect(parseExpiresAtHeader(null)).toEqual({ ok: true });
    expect(parseExpiresAtHeader("1800000000")).toEqual({ ok: true, expiresAt: 1_800_000_000 });
    for (const bad of ["", "1.5", "-1", "soon", "1e9"]) expect(parseExpiresAtHeader(bad)).toEqual({ ok: false });
  });
});

describe("delegation documents", () => {
  const journey = "journeys:external:oseh_j_devFull0000000000000001";
  const prompt = "interactive_prompts:external:oseh_ip_devWord00000000000001";

  it("parses the journey and prompt forms, wrappers optional, unknown fields ignored", () => {
    const j = parseDelegation(json({ key: journey, jwt: "a.b.c", prefix: "{", suffix: "}", extra: 1 }));
    expect(j).toMatchObject({ ok: true, delegation: { kind: "journey", key: journey, journeyJwt: "a.b.c", prefix: "{", suffix: "}" } });
    const p = parseDelegation(json({ key: prompt, session_uid: "oseh_ips_abc", jwt: "a.b.c" }));
    expect(p).toMatchObject({ ok: true, delegation: { kind: "prompt", sessionUid: "oseh_ips_abc", promptJwt: "a.b.c" } });
  });

  it.each([
    ["not_json", new TextEncoder().encode("{")],
    ["not_an_object", json("x")],
    ["bad_key", json({ key: "journeys:external:bad uid", jwt: "a.b.c" })],
    ["wrong_family", json({ key: "auth:is_admin:oseh_u_x", jwt: "a.b.c" })],
    ["missing_jwt", json({ key: journey, jwt: "" })],
    ["missing_session_uid", json({ key: prompt, jwt: "a.b.c", session_uid: "oseh_ips_" })],
    ["bad_wrapper", json({ key: journey, jwt: "a.b.c", suffix: null })],
    ["too_large", json({ key: journey, jwt: "a.b.c", prefix: "x".repeat(70_000) })],
  ] as const)("refuses %s", (reason, body) => {
    const result = parseDelegation(body);
    expect(result.ok ? "ok" : result.problem.reason).toBe(reason);
  });

  it("reads the media type without parameters or case", () => {
    expect(mediaTypeOf("Application/VND.oseh.edge-render+json; charset=utf-8")).toBe("application/vnd.oseh.edge-render+json");
    expect(mediaTypeOf(null)).toBe("");
  });
});

describe("Cache-Status", () => {
  it("spells every outcome per RFC 9211", () => {
    expect(cacheStatusHit("l1")).toBe("oseh-edge; hit; detail=l1");
    expect(cacheStatusHit("l2")).toBe("oseh-edge; hit; detail=l2");
    expect(cacheStatusMiss(true)).toBe("oseh-edge; fwd=miss; stored");
    expect(cacheStatusMiss(false)).toBe("oseh-edge; fwd=miss");
    expect(cacheStatusMiss(true, true)).toBe("oseh-edge; fwd=request; stored");
    expect(cacheStatusStale(504)).toBe("oseh-edge; hit; detail=stale-if-error; fwd-status=504");
    expect(cacheStatusBypass()).toBe("oseh-edge; fwd=bypass");
    expect(cacheStatusError(502)).toBe("oseh-edge; fwd=miss; fwd-status=502; detail=origin-error");
  });
});

describe("values endpoint body cap", () => {
  it("an answer over 25 MiB is a 502 origin error, read no further than the cap", async () => {
    const CHUNK = 1024 * 1024;
    let produced = 0;
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (produced >= 64 * CHUNK) return controller.close();
        produced += CHUNK;
        controller.enqueue(new Uint8Array(CHUNK));
      },
      cancel() {
        cancelled = true;
      },
    });
    const client = createOriginClient({
      config: { originUrl: "http://origin.test", originTimeoutMs: 5000, edgeOriginSecret: "s" },
      fetch: async () => new Response(body, { status: 200 }),
    });
    const result = await client.fetchValue("s3_files:oseh_s3f_x");
    expect(result).toMatchObject({ kind: "error", status: 502 });
    expect(produced).toBeLessThanOrEqual(26_214_400 + 2 * CHUNK);
    expect(cancelled).toBe(true);
  });
});
