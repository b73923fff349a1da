/**
 * The attacks of docs/security.md, through the Worker's own fetch against the dev origin: a client
 * with no credentials must not read cached values through the passthrough (any spelling of the
 * origin's edge-only path), must never see an edge credential, and a token captured from any
 * forwarded request must not be usable for anything but that request.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { decodeJwtPayload, freshId, userIdToken } from "../dev-origin/helpers";
import { devControlHeaders, originUrl, seenRequests } from "../helpers/dev-origin";
import { callWorker } from "../helpers/worker";

const EDGE = "http://edge.test";
const wallNow = () => Math.floor(Date.now() / 1000);
const viaEdge = (path: string, init?: RequestInit) => callWorker(`${EDGE}${path}`, init, { now: wallNow() });

/** The value keys of the probes: a secret family, an admin bit, a transcript. */
const PROBED_KEYS = ["sticky_random_group_number:onboarding", "auth:is_admin:oseh_u_devAdmin0000000000001", "transcripts:oseh_t_devTranscript00000000001"];

describe("the origin's values endpoint is not reachable through the edge", () => {
  it.each(PROBED_KEYS)("GET /api/1/edge/values/%s → 404 from the edge; the origin never sees it", async (key) => {
    const path = `/api/1/edge/values/${encodeURIComponent(key)}?probe=${freshId("v")}`;
    const response = await viaEdge(path);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ type: "not_found", message: "no such route" });
    expect(await seenRequests(path)).toEqual([]);
  });

  const key = encodeURIComponent("auth:is_admin:oseh_u_devAdmin0000000000001");
  it.each([
    `/api/1/edge%2Fvalues/${key}`,
    `/api/1/edge%2fvalues/${key}`,
    `/api/1/%65dge/values/${key}`,
    `/api/1/edge%2Fvalues%2f${key}`,
    `/api/1/%65%64%67%65/values/${key}`,
    `/api/1/./edge/values/${key}`,
    `/api/1/x/../edge/values/${key}`,
    `/api/1/x/%2e%2E/edge/values/${key}`,
    `/api/1/x/%2E%2e%2Fedge/values/${key}`,
    `/api%2f1%2Fedge%2fvalues/${key}`,
    `/api/1/edge%252Fvalues/${key}`,
    `//api/1/edge/values/${key}`,
  ])("%s → 404 from the edge, nothing forwarded", async (path) => {
    const marker = `?probe=${freshId("b")}`;
    const response = await viaEdge(`${path}${marker}`);
    expect(response.status).toBe(404);
    expect(await response.text()).not.toBe("1");
    // Whatever the URL parser made of the spelling, no request with this marker reached the origin.
    const sent = new URL(`${EDGE}${path}${marker}`);
    expect(await seenRequests(`${sent.pathname}${sent.search}`)).toEqual([]);
  });
});

describe("edge credentials never reach a client, and a captured one is good for nothing else", () => {
  it("the echo route shows no X-Oseh-Edge; the origin received a proxy token bound to the request", async () => {
    const target = `/api/1/dev/echo?probe=${freshId("e")}`;
    const response = await viaEdge(target, { headers: { "X-Oseh-Edge": "spoofed" } });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text.toLowerCase()).not.toContain("x-oseh-edge");
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]+\./);
    const [seen] = await seenRequests(target);
    expect(seen?.edgeToken).toBeTruthy();
    const claims = decodeJwtPayload(seen?.edgeToken ?? "");
    expect(claims).toMatchObject({ iss: "oseh", aud: "oseh-edge-proxy", htm: "GET", htu: "/api/1/dev/echo" });
    expect(Number(claims.exp) - Number(claims.iat)).toBeLessThanOrEqual(60);
  });

  it("a route that reflects the token in its response headers: the edge lets none of them out", async () => {
    const target = `/api/1/dev/reflect?probe=${freshId("r")}`;
    const response = await viaEdge(target);
    expect(response.status).toBe(200);
    const [seen] = await seenRequests(target);
    const token = seen?.edgeToken ?? "";
    expect(token).toMatch(/^eyJ/);
    for (const [name, value] of response.headers) {
      expect([name, value]).not.toEqual([name, expect.stringContaining(token)]);
      expect(name.toLowerCase().startsWith("x-oseh-edge")).toBe(false);
    }
    // Only the headers carrying it are dropped; the route's other cookie and headers stay.
    expect(response.headers.getSetCookie()).toEqual(["kept=1; Path=/"]);
    expect(response.headers.get("Content-Type")).toBe("text/plain");
    expect(await response.text()).toBe("reflected");
  });

  it("a token captured from any forwarded request is refused by the values endpoint and by delegation elsewhere", async () => {
    const startPath = "/api/1/users/me/start_journey_from_history";
    const otherStart = "/api/1/users/me/start_ai_journey";
    const delegatePath = "/api/1/dev/delegate";
    const user = { authorization: `bearer ${await userIdToken()}`, "content-type": "application/json" };
    const journey = JSON.stringify({ journey_uid: "oseh_j_devFull0000000000000001" });
    const doc = JSON.stringify({ key: "journeys:external:oseh_j_devFull0000000000000001", jwt: "a.b.c" });
    const forwarded: { method: string; path: string; init: RequestInit }[] = [
      { method: "GET", path: `/api/1/dev/echo?probe=${freshId("c")}`, init: {} },
      { method: "POST", path: `/api/1/dev/echo?probe=${freshId("c")}`, init: { method: "POST", body: "x" } },
      { method: "GET", path: `/api/1/no/such/route?probe=${freshId("c")}`, init: {} },
      { method: "POST", path: `${startPath}?probe=${freshId("c")}`, init: { method: "POST", headers: user, body: journey } },
      { method: "POST", path: `${delegatePath}?probe=${freshId("c")}`, init: { method: "POST", headers: devControlHeaders(), body: doc } },
    ];
    for (const request of forwarded) {
      const response = await viaEdge(request.path, request.init);
      await response.arrayBuffer();
      const [seen] = await seenRequests(request.path);
      const token = seen?.edgeToken ?? "";
      const htu = request.path.split("?")[0] ?? "";
      expect(decodeJwtPayload(token)).toMatchObject({ aud: "oseh-edge-proxy", htm: request.method, htu });

      // 1. The values endpoint, straight at the origin: refused.
      for (const key of PROBED_KEYS) {
        const values = await fetch(originUrl(`/api/1/edge/values/${encodeURIComponent(key)}`), { headers: { "X-Oseh-Edge": token } });
        expect([request.path, key, values.status]).toEqual([request.path, key, 403]);
      }
      // 2. A delegating route on another path: the start route renders itself instead of
      //    delegating; the delegate control refuses.
      const start = await fetch(originUrl(htu === startPath ? otherStart : startPath), { method: "POST", headers: { ...user, "X-Oseh-Edge": token }, body: journey });
      expect([request.path, start.status, start.headers.get("Content-Type")]).toEqual([request.path, 200, "application/json; charset=utf-8"]);
      await start.arrayBuffer();
      // 3. The same path with another method, or the delegate control on its own path.
      const sameMethod = htu === delegatePath ? "PUT" : "POST";
      const delegated = await fetch(originUrl(delegatePath), { method: sameMethod, headers: { ...devControlHeaders(), "X-Oseh-Edge": token }, body: doc });
      expect([request.path, delegated.status]).toEqual([request.path, 403]);
      await delegated.arrayBuffer();
    }
  });

  it("a document a client uploads with the render media type is served as it came, never rendered", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const doc = JSON.stringify({ key: "journeys:external:oseh_j_devFull0000000000000001", jwt: "a.b.c" });
    const response = await viaEdge(`/api/1/dev/upload?type=${encodeURIComponent("application/vnd.oseh.edge-render+json")}`, { method: "POST", body: doc });
    const logged = errors.mock.calls.map((c) => JSON.parse(String(c[0])) as unknown);
    errors.mockRestore();
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(doc);
    expect(response.headers.get("Cache-Status")).toBe("oseh-edge; fwd=bypass");
    expect(logged).toEqual([{ msg: "delegation not acknowledged", method: "POST", status: 200 }]);
  });

  it("a delegation acknowledged with another jti is not rendered either", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const doc = JSON.stringify({ key: "journeys:external:oseh_j_devFull0000000000000001", jwt: "a.b.c" });
    const response = await viaEdge("/api/1/dev/delegate?ack=wrong", { method: "POST", headers: devControlHeaders(), body: doc });
    errors.mockRestore();
    expect(await response.text()).toBe(doc);
    expect(response.headers.get("X-Oseh-Edge-Delegation")).toBeNull();
  });

  it("a delegation document the client asks for is refused without the control secret", async () => {
    const response = await viaEdge("/api/1/dev/delegate", { method: "POST", body: JSON.stringify({ key: "journeys:external:oseh_j_devFull0000000000000001", jwt: "a.b.c" }) });
    expect(response.status).toBe(403);
    const text = await response.text();
    expect(text).not.toContain("oseh-image");
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]+\./);
  });

  it("the dev origin's controls are not reachable through the edge, which does not hold their secret", async () => {
    const bindings = env as unknown as Record<string, unknown>;
    expect(bindings.EDGE_ORIGIN_JWT_SECRET).toBeTruthy();
    expect(bindings.DEV_CONTROL_SECRET).toBeUndefined();
    for (const path of ["/__dev/health", `/__dev/seen?target=${encodeURIComponent("/api/1/dev/echo")}`]) {
      expect((await viaEdge(path)).status).toBe(403);
    }
  });
});
