/** Pure pieces of src/origin: token reuse, header stripping, expiry header, delegation parsing; and the Cache-Status vocabulary (src/cache/wire.ts). */
import { createTokenMemory } from "../../src/auth/jwt";
import { describe, expect, it } from "vitest";
import { jwtVerify } from "jose";
import {
  PROXY_TOKEN_LIFETIME_SECONDS,
  VALUES_TOKEN_LIFETIME_SECONDS,
  createOriginClient,
  forwardedRequestHeaders,
  getValuesToken,
  isOriginOnlyPath,
  mintProxyToken,
  proxyTokenClaims,
  valuesTokenClaims,
  mediaTypeOf,
  parseDelegation,
} from "../../src/origin";
import { cacheStatusBypass, cacheStatusError, cacheStatusHit, cacheStatusMiss, cacheStatusStale } from "../../src/cache/wire";
import { parseExpiresAtHeader } from "../../src/keys";

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe("edge tokens", () => {
  it("values token: aud oseh-edge-values, 5 minutes", () => {
    expect(valuesTokenClaims(1_800_000_000.7)).toEqual({ sub: "oseh-edge", iss: "oseh", aud: "oseh-edge-values", iat: 1_799_999_999, exp: 1_800_000_299 });
    expect(VALUES_TOKEN_LIFETIME_SECONDS).toBe(300);
  });

  it("proxy token: aud oseh-edge-proxy, 60 s, htm + htu = the path as sent (base path, escapes kept, no query)", () => {
    expect(proxyTokenClaims("POST", "https://o.test/api/1/x?y=1", 1_800_000_000.2, "j")).toEqual({
      sub: "oseh-edge",
      iss: "oseh",
      aud: "oseh-edge-proxy",
      iat: 1_799_999_999,
      exp: 1_800_000_059,
      htm: "POST",
      htu: "/api/1/x",
      jti: "j",
    });
    expect(PROXY_TOKEN_LIFETIME_SECONDS).toBe(60);
    expect(proxyTokenClaims("GET", "https://o.test/base/api/1/a%2Fb%7e/%E2%98%95", 0, "j").htu).toBe("/base/api/1/a%2Fb%7e/%E2%98%95");
    expect(proxyTokenClaims("GET", "https://o.test/base/a/./b/../c", 0, "j").htu).toBe("/base/a/c");
  });

  it("proxy tokens are minted per request (never reused) and verify with the shared secret", async () => {
    const memory = createTokenMemory();
    const secret = `s-${Math.random()}`;
    const { token: a, jti } = await mintProxyToken(secret, "GET", "https://o.test/p", 1_800_000_000, memory);
    expect((await mintProxyToken(secret, "GET", "https://o.test/p", 1_800_000_000, memory)).token).not.toBe(a);
    const { payload, protectedHeader } = await jwtVerify(a, new TextEncoder().encode(secret), { audience: "oseh-edge-proxy", issuer: "oseh", currentDate: new Date(1_800_000_000_000) });
    expect(protectedHeader).toEqual({ alg: "HS256", typ: "JWT" });
    expect(payload).toMatchObject({ htm: "GET", htu: "/p", jti });
  });

  it("the values token is reused until a minute before expiry, then re-minted; per secret", async () => {
    const memory = createTokenMemory();
    const secret = `s-${Math.random()}`;
    const a = await getValuesToken(secret, 1_800_000_000, memory);
    expect(await getValuesToken(secret, 1_800_000_100, memory)).toBe(a);
    expect(await getValuesToken(secret, 1_800_000_238, memory)).toBe(a);
    const b = await getValuesToken(secret, 1_800_000_239, memory);
    expect(b).not.toBe(a);
    expect(await getValuesToken(`${secret}-other`, 1_800_000_239, memory)).not.toBe(b);
    // A clock that moved back before the token's iat gets a new one.
    expect(await getValuesToken(secret, 1_700_000_000, memory)).not.toBe(b);
  });
});

describe("origin-only paths (never forwarded)", () => {
  it.each([
    "/api/1/edge",
    "/api/1/edge/",
    "/api/1/edge/values/k",
    "/api/1/edge%2Fvalues/k",
    "/api/1/edge%2fvalues/k",
    "/api/1/%65dge/values/k",
    "/api/1/%45DGE/values/k",
    "/api%2F1%2Fedge%2Fvalues%2Fk",
    "/api/1/./edge/values/k",
    "/api/1/x/../edge/values/k",
    "/api/1/x/%2e%2E/edge/values/k",
    "/api/1/x/%2E%2e%2fedge/values/k",
    "//api/1/edge/values/k",
    "/api/1//edge/values/k",
    "/api/1\\edge/values/k",
    "/api/1/edge%252Fvalues/k",
    "/API/1/Edge/values/k",
  ])("%s", (path) => {
    expect(isOriginOnlyPath(path)).toBe(true);
  });

  it.each(["/api/1/edges", "/api/1/edgex/values", "/api/1/dev/echo", "/api/1/transcripts/oseh_t_x", "/api/1/x/edge/values", "/api/2/edge/values"])("%s is forwarded", (path) => {
    expect(isOriginOnlyPath(path)).toBe(false);
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
  it("accepts decimal unix seconds only, a fraction rounded down", () => {
    expect(parseExpiresAtHeader(null)).toEqual({ ok: true });
    expect(parseExpiresAtHeader("1800000000")).toEqual({ ok: true, expiresAt: 1_800_000_000 });
    expect(parseExpiresAtHeader(" 1800000000.9 ")).toEqual({ ok: true, expiresAt: 1_800_000_000 });
    for (const bad of ["", "1.", ".5", "-1", "soon", "1e9", "0x10", "1234567890123"]) expect(parseExpiresAtHeader(bad)).toEqual({ ok: false });
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
    const client = createOriginClient({ tokens: createTokenMemory(),
      config: { originUrl: "http://origin.test", originTimeoutMs: 5000, edgeOriginSecret: "s" },
      fetch: async () => new Response(body, { status: 200 }),
    });
    const result = await client.fetchValue("s3_files:oseh_s3f_x");
    expect(result).toMatchObject({ kind: "error", status: 502 });
    expect(produced).toBeLessThanOrEqual(26_214_400 + 2 * CHUNK);
    expect(cancelled).toBe(true);
  });
});
