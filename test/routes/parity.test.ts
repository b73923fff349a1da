/**
 * Parity with the backend's own code, through the Worker's own fetch (`createWorker().fetch`
 * with real KV, Cache API and the dev origin): route order, presign scope, response encoding,
 * and the edge's side of the deliberate differences in docs/routes.md.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { GZIPPED_TEXT } from "../../dev/origin/routes/plain";
import { frameU64 } from "../../dev/origin/encode/u64";
import { EDGE_ROUTES, matchEdgeRoute } from "../../src/routes";
import { laMidnightStartOf, laUnixDate, isoToUnixDate, nextLaMidnight } from "../../src/keys/la-time";
import { idToken } from "../helpers/tokens";
import { AUTH_BODY, gzip, resourceToken } from "./helpers";
import { edgeFetch, seed, wallNow } from "./edge";

const BASE = "https://edge.test";
const CF = "oseh_cf_parityAAAAAAAAAAAAAAAA";

function get(path: string, headers: Record<string, string> = {}): Request {
  return new Request(`${BASE}${path}`, { headers });
}

describe("route order: the backend's registration order (main.py, content_files/router.py)", () => {
  it("exports/ios.m3u8 and exports/android.m3u8 are the VOD route (uid ios/android), not a mobile playlist", async () => {
    const now = wallNow();
    for (const name of ["ios", "android"]) {
      // `w=0` is the mobile route's own 422; the VOD route ignores it and wants a credential.
      const r = await edgeFetch(get(`/api/1/content_files/exports/${name}.m3u8?w=0`), now);
      expect([r.response.status, r.text]).toEqual([401, AUTH_BODY.not_set]);
      expect(matchEdgeRoute("GET", `/api/1/content_files/exports/${name}.m3u8`)?.route.path).toBe("/api/1/content_files/exports/{uid}.m3u8");
    }
  });

  it("exports/ios.m3u8 with a valid content JWT: export uid `ios` is not one the edge stores, so the origin answers", async () => {
    const now = wallNow();
    const token = await resourceToken("content", CF, now);
    const r = await edgeFetch(get(`/api/1/content_files/exports/ios.m3u8`, { authorization: `bearer ${token}` }), now);
    expect(r.response.headers.get("cache-status")).toBe("oseh-edge; fwd=bypass");
  });

  it("content_files/dev_show/{uid} comes before {uid}/web.json and {uid}/*.m3u8: those paths go to the origin", async () => {
    const now = wallNow();
    for (const leaf of ["web.json", "ios.m3u8", "android.m3u8"]) {
      expect(matchEdgeRoute("GET", `/api/1/content_files/dev_show/${leaf}`)).toBeUndefined();
      const r = await edgeFetch(get(`/api/1/content_files/dev_show/${leaf}`), now);
      expect(r.response.headers.get("cache-status")).toBe("oseh-edge; fwd=bypass");
      expect(r.response.status).toBe(404); // the dev origin has no dev_show route
    }
  });

  it("exports/web.json is still the web playlist of a content file `exports` (no earlier route matches)", () => {
    expect(matchEdgeRoute("GET", "/api/1/content_files/exports/web.json")?.params).toEqual({ uid: "exports" });
  });

  it("a param is Starlette's [^/]+ (greedy before a suffix); the edge answers only url-safe ones", () => {
    expect(matchEdgeRoute("GET", "/api/1/content_files/exports/a.m3u8.m3u8")).toBeUndefined(); // uid `a.m3u8`
    expect(matchEdgeRoute("GET", "/api/1/content_files/exports/.m3u8")).toBeUndefined(); // empty uid: no route
    expect(matchEdgeRoute("GET", "/api/1/transcripts/")).toBeUndefined();
    expect(matchEdgeRoute("GET", `/api/1/content_files/${CF}/ios.m3u8`)?.params).toEqual({ uid: CF });
    expect(matchEdgeRoute("HEAD", `/api/1/content_files/${CF}/ios.m3u8`)).toBeUndefined();
  });

  it("lists the groups in main.py's order", () => {
    const groups = EDGE_ROUTES.map((r) => r.path.split("/")[3]).filter((g, i, all) => all.indexOf(g) === i);
    expect(groups).toEqual(["image_files", "content_files", "admin", "interactive_prompts", "emotions", "transcripts"]);
  });
});

describe("web.json presigns only exports[].url (content_files/routes/show_web_playlist.py)", () => {
  it("a url inside format_parameters or quality_parameters comes back as stored", async () => {
    const uid = `oseh_cf_web${Date.now().toString(36)}`;
    const now = wallNow();
    const stored =
      '{"exports":[{"url":"https://oseh.io/api/1/content_files/exports/parts/oseh_cfep_a.mp4","format":"mp4","bandwidth":1,"codecs":["aac"],"file_size":2,' +
      '"quality_parameters":{"url":"q","list":[{"url":"q2"}]},"format_parameters":{"list":[{"url":"x"}]}}],"duration_seconds":60.0}';
    await seed({ [`content_files:playlists:web:${uid}`]: stored }, now);
    const token = await resourceToken("content", uid, now);
    const r = await edgeFetch(get(`/api/1/content_files/${uid}/web.json?jwt=${token}`), now);
    expect(r.response.status).toBe(200);
    expect(r.text).toBe(stored.replace('oseh_cfep_a.mp4"', `oseh_cfep_a.mp4?jwt=${token}"`));
  });
});

/**
 * Cloudflare's proxy (and Miniflare's entry worker, which imitates it in `wrangler dev` and in
 * front of the dev origin) hands the Worker `Accept-Encoding: br, gzip` whatever the client sent,
 * and the client's own value in `request.cf.clientAcceptEncoding`. The Worker's output must be
 * the backend's encoding either way, so each case runs with the request as the proxy delivers it
 * and with the client's value in the header itself (as a harness without the proxy sends it).
 */
const CLIENTS = ["br", "identity", "gzip", "gzip, br", "br;q=1, gzip;q=0", ""] as const;

function clientRequests(path: string, headers: Record<string, string>): Array<{ label: string; request: Request }> {
  return CLIENTS.flatMap((client) => [
    {
      label: `proxied, client ${JSON.stringify(client)}`,
      request: new Request(`${BASE}${path}`, { headers: { ...headers, "Accept-Encoding": "br, gzip" }, cf: { clientAcceptEncoding: client } }),
    },
    {
      label: `header ${JSON.stringify(client)}`,
      request: new Request(`${BASE}${path}`, { headers: client === "" ? headers : { ...headers, "Accept-Encoding": client } }),
    },
  ]);
}

describe("response encoding at the Worker's output: the backend's, whatever the client accepts", () => {
  it("stored gzip goes out as stored: Content-Encoding gzip, the stored bytes, their Content-Length", async () => {
    const uid = `oseh_if_enc${Date.now().toString(36)}`;
    const now = wallNow();
    const stored = await gzip('{"items":{"jpeg":[]}}');
    await seed({ [`image_files:playlist:${uid}`]: stored }, now);
    const auth = { authorization: `bearer ${await resourceToken("image", uid, now)}` };
    for (const { label, request } of clientRequests(`/api/1/image_files/playlist/${uid}`, auth)) {
      const r = await edgeFetch(request, now);
      expect([label, r.response.status, r.response.headers.get("content-encoding")]).toEqual([label, 200, "gzip"]);
      expect(r.bytes).toEqual(stored);
      expect(r.response.headers.get("content-length")).toBe(String(stored.length));
    }
  });

  it("stored gzip is encoded once: through the runtime's HTTP layer (exports.default.fetch decodes once) it is the JSON", async () => {
    // The default export runs on the wall clock; the seeded value is fresh for it.
    const uid = `oseh_if_once${Date.now().toString(36)}`;
    const now = wallNow();
    const json = '{"items":{"webp":[]}}';
    await seed({ [`image_files:playlist:${uid}`]: await gzip(json) }, now);
    const token = await resourceToken("image", uid, now);
    const request = new Request(`${BASE}/api/1/image_files/playlist/${uid}`, { headers: { authorization: `bearer ${token}`, "Accept-Encoding": "br, gzip" } });
    const response = await exports.default.fetch(request);
    expect(response.headers.get("content-encoding")).toBe("gzip");
    expect(await response.text()).toBe(json); // automatic encoding would gzip the gzip: one decode would leave gzip bytes
  });

  it("transcripts, web.json and 403 bodies: identity with Content-Length", async () => {
    const now = wallNow();
    const transcript = `oseh_t_enc${Date.now().toString(36)}`;
    const json = '{"uid":"' + transcript + '","phrases":[{"starts_at":0.0,"ends_at":1.5,"phrase":"caf\u00e9"}]}';
    const web = `oseh_cf_enc${Date.now().toString(36)}`;
    const webJson = '{"exports":[],"duration_seconds":1.0}';
    await seed({ [`transcripts:${transcript}`]: frameU64(new TextEncoder().encode(json)), [`content_files:playlists:web:${web}`]: webJson }, now);
    const cases = [
      { path: `/api/1/transcripts/${transcript}`, auth: await resourceToken("transcript", transcript, now), status: 200, body: json },
      { path: `/api/1/content_files/${web}/web.json`, auth: await resourceToken("content", web, now), status: 200, body: webJson },
      { path: `/api/1/transcripts/${transcript}`, auth: "not.a.token", status: 403, body: AUTH_BODY.invalid },
      { path: `/api/1/transcripts/${transcript}`, auth: null, status: 401, body: AUTH_BODY.not_set },
    ];
    for (const c of cases) {
      for (const { label, request } of clientRequests(c.path, c.auth === null ? {} : { authorization: `bearer ${c.auth}` })) {
        const r = await edgeFetch(request, now);
        expect([label, c.path, r.response.status, r.response.headers.get("content-encoding")]).toEqual([label, c.path, c.status, null]);
        expect(r.text).toBe(c.body);
        expect(r.response.headers.get("content-length")).toBe(String(new TextEncoder().encode(c.body).length));
      }
    }
  });

  it("the mobile filters' 422 has its Content-Length too", async () => {
    const r = await edgeFetch(get(`/api/1/content_files/${CF}/ios.m3u8?w=0&h=10`), wallNow());
    expect(r.response.status).toBe(422);
    expect(r.response.headers.get("content-length")).toBe(String(r.bytes.length));
  });

  it("a passthrough keeps the origin's Content-Encoding whatever Accept-Encoding the Worker sees", async () => {
    const now = wallNow();
    for (const { label, request } of clientRequests("/api/1/dev/gzip", {})) {
      const r = await edgeFetch(request, now);
      expect([label, r.response.status, r.response.headers.get("x-dev-gzip"), r.response.headers.get("content-encoding")]).toEqual([label, 200, "1", "gzip"]);
      // In the Worker the runtime has decoded the fetched body; it encodes it again on the way out.
      expect(r.text).toBe(GZIPPED_TEXT);
    }
  });
});

describe("deliberate differences (docs/routes.md): the edge's side", () => {
  it("a transcript of 32 KiB or more is served (the backend answers 500 for it)", async () => {
    const now = wallNow();
    const uid = `oseh_t_big${Date.now().toString(36)}`;
    const phrase = '{"starts_at":0.0,"ends_at":1.0,"phrase":"' + "x".repeat(200) + '"}';
    const json = `{"uid":"${uid}","phrases":[${Array.from({ length: 200 }, () => phrase).join(",")}]}`;
    expect(json.length + 8).toBeGreaterThanOrEqual(32 * 1024); // diskcache's file threshold, prefix included
    await seed({ [`transcripts:${uid}`]: frameU64(new TextEncoder().encode(json)) }, now);
    const r = await edgeFetch(get(`/api/1/transcripts/${uid}`, { authorization: `bearer ${await resourceToken("transcript", uid, now)}` }), now);
    expect(r.response.status).toBe(200);
    expect(r.text).toBe(json);
    expect(r.response.headers.get("content-length")).toBe(String(json.length));
  });

  it("an empty Authorization header that reaches the Worker is bad_format, as in the backend", async () => {
    // On the wire the runtime drops an empty header before the Worker runs (then: not_set).
    const r = await edgeFetch(get(`/api/1/transcripts/oseh_t_emptyAuth000000000`, { authorization: "" }), wallNow());
    expect([r.response.status, r.text]).toEqual([401, AUTH_BODY.bad_format]);
  });

  it("two Authorization headers arrive joined: the edge passes them to the origin as one header", async () => {
    const now = wallNow();
    const uid = `oseh_t_two${Date.now().toString(36)}`;
    const token = await resourceToken("transcript", uid, now);
    const headers = new Headers();
    headers.append("authorization", `bearer ${token}`);
    headers.append("authorization", "bearer other");
    const r = await edgeFetch(new Request(`${BASE}/api/1/transcripts/${uid}`, { headers }), now);
    expect(r.response.headers.get("cache-status")).toBe("oseh-edge; fwd=bypass");
    const echo = await edgeFetch(new Request(`${BASE}/api/1/dev/echo`, { headers }), now);
    expect((JSON.parse(echo.text) as { headers: Record<string, string> }).headers["authorization"]).toBe(`bearer ${token}, bearer other`);
  });

  it("daily_active_users: the value filled that morning is served all day, after 08:00 PST / 10:00 PDT too", async () => {
    const sub = "oseh_u_parityAdmin0000000000";
    const day = isoToUnixDate("2024-07-15") as number; // PDT
    const morning = laMidnightStartOf(day) + 7 * 3600; // 07:00 PDT: the backend's entry dies at 10:00
    const body = '{"labels":["2024-07-14"],"values":[7]}';
    await seed({ [`daily_active_users:${day}`]: body }, morning, nextLaMidnight(morning));
    await seed({ [`auth:is_admin:${sub}`]: "1" }, morning, nextLaMidnight(morning));
    for (const at of [laMidnightStartOf(day) + 11 * 3600, nextLaMidnight(morning) - 1]) {
      expect(laUnixDate(at)).toBe(day);
      const r = await edgeFetch(get(`/api/1/admin/daily_active_users`, { authorization: `bearer ${await idToken(sub, at)}` }), at);
      expect([r.response.status, r.text]).toEqual([200, body]);
      expect(r.response.headers.get("cache-status")).toMatch(/^oseh-edge; hit/);
    }
  });
});
