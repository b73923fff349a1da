/**
 * handleProxied against the dev origin over real HTTP (docs/design.md §4.1, §4.3): passthrough byte for
 * byte, client edge headers stripped, delegated render equal to the origin's own rendering apart
 * from token times, corrupt templates, broken delegation documents.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { handleProxied, stamp } from "../../src/routes";
import { buildStoredValue } from "../../src/storage";
import { TEST_SECRETS } from "../helpers/tokens";
import { decodeJwtPayload, fillCount, freshId, originUrl, seenRequests, setFault, userIdToken } from "../dev-origin/helpers";
import { devControlHeaders } from "../helpers/dev-origin";
import { createHarness, family, normaliseJwts, wallNow } from "../cache/helpers";
import { jwtVerify } from "jose";
import { captureConsoleErrors, eventRecords } from "../helpers/console";

const CONTROL = devControlHeaders();

const EDGE = "http://edge.test";
const JOURNEY = family("journeys:external:{uid}");

async function viaEdge(path: string, init: RequestInit = {}, harness = createHarness(), now = wallNow()): Promise<Response> {
  const response = stamp(await handleProxied(new Request(`${EDGE}${path}`, init), harness.proxyDeps(() => now)), Date.now());
  const body = await response.arrayBuffer();
  await harness.settle();
  return new Response(response.status === 204 ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

const bytesOf = async (r: Response) => new Uint8Array(await r.arrayBuffer());

/** Headers as sorted [name, value] pairs, without the ones a hop legitimately sets. */
function headerList(r: Response, drop: readonly string[] = []): [string, string][] {
  const skip = new Set(["date", "cache-status", "server-timing", ...drop]);
  return [...r.headers].filter(([name]) => !skip.has(name)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

describe("passthrough", () => {
  const logged = captureConsoleErrors(/^\{"msg":"(origin fill failed|store read failed|passthrough failed)"/);
  it("forwards method, path, query, headers and body; strips client edge headers", async () => {
    const init = {
      method: "PUT",
      headers: { "Accept-Encoding": "gzip", "Content-Type": "text/plain", "X-Custom": "a, b", "X-Oseh-Edge": "spoofed", "X-Oseh-Edge-Extra": "no", "X-Edge-Expires-At": "1", Authorization: "bearer t" },
      body: "hello ☕ body",
    };
    const probe = freshId("f");
    const target = `/api/1/dev/echo?b=2&a=1&a=%20x&probe=${probe}`;
    const response = await viaEdge(target, init);
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Status")).toBe("oseh-edge; fwd=bypass");
    const echo = (await response.json()) as { method: string; path: string; query: string; headers: Record<string, string>; body: string };
    expect(echo).toMatchObject({ method: "PUT", path: "/api/1/dev/echo", query: `?b=2&a=1&a=%20x&probe=${probe}`, body: "hello ☕ body" });
    expect(echo.headers["x-custom"]).toBe("a, b");
    expect(echo.headers["authorization"]).toBe("bearer t");
    expect(echo.headers["content-type"]).toBe("text/plain");
    expect(echo.headers["x-oseh-edge-extra"]).toBeUndefined();
    expect(echo.headers["x-edge-expires-at"]).toBeUndefined();
    expect(echo.headers["x-oseh-edge"]).toBeUndefined(); // the echo never reflects the credential
    // The origin received the edge's own proxy token, not the client's, bound to this request.
    const [seen] = await seenRequests(target);
    const token = seen?.edgeToken ?? "";
    expect(token).not.toBe("spoofed");
    const { payload } = await jwtVerify(token, new TextEncoder().encode(TEST_SECRETS.edgeOrigin), { audience: "oseh-edge-proxy", issuer: "oseh" });
    expect(payload).toMatchObject({ htm: "PUT", htu: "/api/1/dev/echo" });
    expect(Number(payload.exp) - Number(payload.iat)).toBe(60);

    // The same request sent straight to the origin echoes the same thing.
    const direct = (await (await fetch(originUrl(target), init)).json()) as typeof echo;
    const strip = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => !k.startsWith("x-oseh-edge") && !k.startsWith("x-edge-") && k !== "host" && k !== "content-length"));
    expect(strip(echo.headers)).toEqual(strip(direct.headers));
  });

  it("mints a proxy token per forwarded request, bound to its method and raw path", async () => {
    const a = `/api/1/dev/echo?probe=${freshId("r")}`;
    const b = `/api/1/dev/%65cho?probe=${freshId("r")}`;
    await viaEdge(a);
    await viaEdge(b, { method: "POST", body: "x" });
    const [seenA] = await seenRequests(a);
    const [seenB] = await seenRequests(b);
    expect(seenA?.edgeToken).not.toBe(seenB?.edgeToken);
    expect(decodeJwtPayload(seenA?.edgeToken ?? "")).toMatchObject({ htm: "GET", htu: "/api/1/dev/echo" });
    expect(decodeJwtPayload(seenB?.edgeToken ?? "")).toMatchObject({ htm: "POST", htu: "/api/1/dev/%65cho" });
  });

  it("returns non-2xx status, headers (both Set-Cookies) and body unchanged", async () => {
    const edge = await viaEdge("/api/1/dev/teapot");
    const direct = await fetch(originUrl("/api/1/dev/teapot"));
    expect(edge.status).toBe(418);
    expect(headerList(edge)).toEqual(headerList(direct));
    expect(edge.headers.getSetCookie()).toEqual(["dev_a=1; Path=/", "dev_b=2; Path=/"]);
    expect(await edge.text()).toBe(await direct.text());
  });

  it("is byte-equal for binary and streamed bodies", async () => {
    const edge = await viaEdge("/api/1/dev/bytes?n=300000");
    const direct = await fetch(originUrl("/api/1/dev/bytes?n=300000"));
    expect(await bytesOf(edge)).toEqual(await bytesOf(direct));
    const streamed = await viaEdge("/api/1/dev/stream");
    expect(await streamed.text()).toBe("chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n");
  });

  it("answers the backend's own 404 and errors unchanged", async () => {
    const edge = await viaEdge("/api/1/no/such/route");
    expect(edge.status).toBe(404);
    expect(await edge.text()).toBe('{"detail":"Not Found"}');
  });

  it("origin down → 502 JSON, slow → 504 JSON", async () => {
    const down = await viaEdge("/api/1/dev/echo", {}, createHarness({ originUrl: "http://127.0.0.1:9" }));
    expect(down.status).toBe(502);
    expect(await down.json()).toEqual({ type: "origin_unavailable", message: "the origin is unavailable" });
    // The delegate control with a delayed head doubles as a slow route.
    const slow = await viaEdge("/api/1/dev/delegate?delay=1500", { method: "POST", headers: CONTROL, body: "{}" }, createHarness({ originTimeoutMs: 150 }));
    expect(slow.status).toBe(504);
    expect(((await slow.json()) as { type: string }).type).toBe("origin_timeout");
    // One JSON line each, without the path (it may carry ids).
    expect(eventRecords(logged.lines(), ["/api/1/dev"])).toEqual([
      { msg: "passthrough failed", method: "GET", status: 502, message: expect.stringMatching(/^origin unreachable: /) },
      { msg: "passthrough failed", method: "POST", status: 504, message: "origin did not answer within 150 ms" },
    ]);
  });
});

describe("delegated render", () => {
  async function compare(path: string, body: unknown, headers: Record<string, string>): Promise<{ edge: Response; direct: Response; edgeText: string }> {
    const init = { method: "POST", headers, body: JSON.stringify(body) };
    const edge = await viaEdge(path, init);
    const direct = await fetch(originUrl(path), init);
    const edgeText = await edge.clone().text();
    expect(edge.status).toBe(direct.status);
    expect(normaliseJwts(edgeText)).toBe(normaliseJwts(await direct.clone().text()));
    expect(headerList(edge, ["content-length", "transfer-encoding"])).toEqual(headerList(direct, ["content-length", "transfer-encoding"]));
    expect(edge.headers.has("Content-Length")).toBe(false);
    return { edge, direct, edgeText };
  }

  it("journeys: body equal to the origin's own rendering apart from token times; no-store kept", async () => {
    const auth = { authorization: `bearer ${await userIdToken()}` };
    for (const uid of ["oseh_j_devFull0000000000000001", "oseh_j_devUnicode00000000000001", "oseh_j_devPlain000000000000001", "oseh_j_devSample0000000000001"]) {
      const { edge, edgeText } = await compare("/api/1/users/me/start_journey_from_history", { journey_uid: uid }, auth);
      expect(edge.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
      expect(edge.headers.get("Cache-Control")).toBe("no-store");
      expect(edge.headers.get("Cache-Status")).toMatch(/^oseh-edge; (fwd=miss; stored|hit; detail=l[012])$/);
      expect((JSON.parse(edgeText) as { uid: string }).uid).toBe(uid);
    }
  });

  it("the edge's minted tokens verify with the resource secrets", async () => {
    const response = await viaEdge("/api/1/users/me/start_ai_journey", { method: "POST", headers: { authorization: `bearer ${await userIdToken()}` } });
    const body = (await response.json()) as { background_image: { uid: string; jwt: string }; audio_content: { uid: string; jwt: string }; transcript: { uid: string; jwt: string } };
    const check = async (token: string, secret: string, aud: string, sub: string) => {
      const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), { audience: aud, issuer: "oseh" });
      expect(payload.sub).toBe(sub);
      expect(Number(payload.exp) - Number(payload.iat)).toBe(1801);
    };
    await check(body.background_image.jwt, TEST_SECRETS.image, "oseh-image", body.background_image.uid);
    await check(body.audio_content.jwt, TEST_SECRETS.content, "oseh-content", body.audio_content.uid);
    await check(body.transcript.jwt, TEST_SECRETS.transcript, "oseh-transcript", body.transcript.uid);
  });

  it("the public link wrapper: prefix + value + suffix, Content-Type only", async () => {
    const { edge, edgeText } = await compare("/api/1/journeys/public_links/start", { code: "devcode2", source: "android" }, { visitor: "oseh_v_devVisitor2" });
    expect(edge.headers.has("Cache-Control")).toBe(false);
    const parsed = JSON.parse(edgeText) as { journey: { uid: string }; visitor_uid: string };
    expect(parsed.visitor_uid).toBe("oseh_v_devVisitor2");
    expect(edgeText.startsWith('{"journey":{"uid":"oseh_j_devUnicode00000000000001"')).toBe(true);
  });

  it("prompts: start_interactive_prompt and start_public equal to the origin's rendering", async () => {
    const auth = { authorization: `bearer ${await userIdToken("oseh_u_devPrompter000000001")}` };
    const now = wallNow();
    const journeyUid = "oseh_j_devFull0000000000000001";
    const { SignJWT } = await import("jose");
    const journeyJwt = await new SignJWT({ sub: journeyUid, iss: "oseh", aud: "oseh-journey", iat: now - 1, exp: now + 1800 })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(new TextEncoder().encode(TEST_SECRETS.journey));
    const { edgeText } = await compare("/api/1/journeys/start_interactive_prompt", { journey_uid: journeyUid, journey_jwt: journeyJwt }, auth);
    expect((JSON.parse(edgeText) as { session_uid: string }).session_uid).toMatch(/^oseh_ips_/);
    for (const identifier of ["onboarding-prompt-feeling", "onboarding-prompt-feeling-result", "notification-time"]) {
      await compare("/api/1/interactive_prompts/start_public", { identifier }, auth);
    }
  });

  it("origin errors on the start route itself pass through unchanged", async () => {
    const response = await viaEdge("/api/1/users/me/start_journey_from_history", { method: "POST", body: JSON.stringify({ journey_uid: "oseh_j_x" }) });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { type: string }).type).toBe("not_set");
  });
});

describe("corrupt templates", () => {
  /** A journey value whose framing is broken: claims 64 bytes, has 3. */
  const CORRUPT = Uint8Array.of(0, 0, 0, 64, 1, 0x7b, 0x22, 0x75);

  async function storeCorrupt(harness: ReturnType<typeof createHarness>, key: string, now: number): Promise<void> {
    const value = await buildStoredValue(CORRUPT, { family: JOURNEY.name, codec: JOURNEY.codec.name, expiresAt: now + 3600 }, now);
    expect(await harness.store.write(key, value, now)).toMatchObject({ ok: true });
  }

  async function delegateTo(key: string, harness: ReturnType<typeof createHarness>, now: number): Promise<Response> {
    return viaEdge("/api/1/dev/delegate", { method: "POST", headers: CONTROL, body: JSON.stringify({ key, jwt: "a.b.c" }) }, harness, now);
  }

  it("a corrupt stored template is dropped from both tiers and refetched once", async () => {
    const h = createHarness();
    const now = wallNow();
    const key = `journeys:external:oseh_j_gen${freshId("k")}`;
    await storeCorrupt(h, key, now);
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const response = await delegateTo(key, h, now);
    const logged = eventRecords(errors.mock.calls.map((c) => c.join(" ")), [key]);
    errors.mockRestore();
    expect(logged).toContainEqual(expect.objectContaining({ msg: "corrupt template dropped", family: JOURNEY.name }));
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Status")).toBe("oseh-edge; fwd=request; stored");
    expect(response.headers.get("Cache-Control")).toBe("private, max-age=3"); // the origin's headers kept
    expect(response.headers.get("ETag")).toBeNull(); // …except those describing the document's bytes
    expect(response.headers.get("Content-Digest")).toBeNull();
    expect((JSON.parse(await response.text()) as { jwt: string }).jwt).toBe("a.b.c");
    expect(await fillCount(key)).toBe(1);
    const reread = await h.read(key, JOURNEY, now + 1);
    expect(reread).toMatchObject({ state: "hit" });
    if (reread.kind === "value") expect(reread.value.bytes).not.toEqual(CORRUPT);
  });

  it("still bad after the refetch → 502 JSON, nothing corrupt left behind", async () => {
    const h = createHarness();
    const now = wallNow();
    const key = `journeys:external:oseh_j_gen${freshId("q")}`;
    await storeCorrupt(h, key, now);
    await setFault(key, { kind: "garbage" });
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const response = await delegateTo(key, h, now);
    errors.mockRestore();
    expect(response.status).toBe(502);
    expect(response.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
    expect(((await response.json()) as { type: string }).type).toMatch(/^(bad_origin_response|origin_unavailable)$/);
    expect(await fillCount(key)).toBe(1);
    expect(await h.store.read(key, now, h.waitUntil)).toEqual({ state: "miss" });
  });
});

describe("templates that pass the codec but do not render", () => {
  // A journey marker of type 3 whose value has only uid bytes but is not an `oseh_` uid: the
  // `blocks` codec accepts it, the renderer refuses it.
  const UNRENDERABLE = Uint8Array.of(0, 0, 0, 1, 1, 0x7b, 0, 0, 0, 3, 3, 0x61, 0x62, 0x63);

  it("a fill that would not render is refused before it is stored (502, nothing left behind)", async () => {
    const served: string[] = [];
    const real = createHarness({
      origin: (client) => ({
        ...client,
        fetchValue: async (key: string) => {
          served.push(key);
          return { kind: "value" as const, bytes: UNRENDERABLE };
        },
      }),
    });
    expect(JOURNEY.codec.validate(UNRENDERABLE)).toEqual({ ok: true });
    const now = wallNow();
    const key = `journeys:external:oseh_j_gen${freshId("u")}`;
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { response } = await handleProxied(
      new Request(`${EDGE}/api/1/dev/delegate`, { method: "POST", headers: CONTROL, body: JSON.stringify({ key, jwt: "a.b.c" }) }),
      real.proxyDeps(() => now),
    );
    const logged = errors.mock.calls.map((c) => c.join(" "));
    errors.mockRestore();
    await response.arrayBuffer();
    await real.settle();
    expect(response.status).toBe(502);
    expect(await real.store.read(key, now, real.waitUntil)).toEqual({ state: "miss" });
    expect(await env.CACHE.get(key)).toBeNull();
    expect(served).toEqual([key]);
    expect(logged.some((line) => line.includes("does not render"))).toBe(true);
  });
});

describe("bad delegation documents", () => {
  const cases: [string, string][] = [
    ["non-JSON", "not json"],
    ["an array", "[]"],
    ["an unknown key", JSON.stringify({ key: "nope:x", jwt: "a.b.c" })],
    ["a family that is not renderable", JSON.stringify({ key: "transcripts:oseh_t_devTranscript00000000001", jwt: "a.b.c" })],
    ["a missing jwt", JSON.stringify({ key: "journeys:external:oseh_j_devFull0000000000000001" })],
    ["a jwt that would break the JSON", JSON.stringify({ key: "journeys:external:oseh_j_devFull0000000000000001", jwt: 'a"b.c.d' })],
    ["a prompt without a session uid", JSON.stringify({ key: "interactive_prompts:external:oseh_ip_devWord00000000000001", jwt: "a.b.c" })],
    ["a non-string prefix", JSON.stringify({ key: "journeys:external:oseh_j_devFull0000000000000001", jwt: "a.b.c", prefix: 1 })],
    ["a value the origin does not have", JSON.stringify({ key: "journeys:external:oseh_j_nothere", jwt: "a.b.c" })],
  ];

  it.each(cases)("%s → 502 {type, message}, problem named in the logs only", async (_name, doc) => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const response = await viaEdge("/api/1/dev/delegate", { method: "POST", headers: CONTROL, body: doc });
    const logged = errors.mock.calls.map((c) => c.join(" "));
    errors.mockRestore();
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ type: "bad_origin_response", message: "the origin's response could not be rendered" });
    expect(logged.length).toBeGreaterThan(0);
    // JSON lines naming the problem, never the document's jwt or key ids.
    eventRecords(logged, ["a.b.c", 'a"b.c.d', "oseh_j_", "oseh_ip_", "oseh_t_", "not json"]);
  });

  it("the origin refuses to delegate to a request without a valid edge token", async () => {
    const response = await fetch(originUrl("/api/1/dev/delegate"), { method: "POST", body: "{}", headers: { ...CONTROL, "X-Oseh-Edge": "forged" } });
    expect(response.status).toBe(403);
  });
});
