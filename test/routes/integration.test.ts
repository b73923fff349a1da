/**
 * Edge routes end to end: real KV + Cache API, the dev origin behind the origin client.
 * Origin-backed tests run on the wall clock (the dev origin checks X-Oseh-Edge against it);
 * the LA-window tests seed their values and inject any clock.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { gunzip } from "../../src/render/u64";
import { ADMIN_ROUTES, cacheControlFor } from "../../src/routes/admin-table";
import { laMidnightStartOf, laUnixDate, isoToUnixDate } from "../../src/keys/la-time";
import { idToken } from "../helpers/tokens";
import { AUTH_BODY, gzip, resourceToken } from "./helpers";
import { armFaults, edgeFetch, fillCount, seed, wallNow } from "./edge";
import { captureConsoleErrors } from "../helpers/console";

const BASE = "https://edge.test";
const ADMIN = "oseh_u_devAdmin0000000000001"; // the dev origin's admin (auth:is_admin = 1)
const USER = "oseh_u_devUser00000000000001";
let counter = 0;
const fresh = (prefix: string) => `${prefix}${Date.now().toString(36)}${(counter += 1)}${Math.floor(Math.random() * 1e6).toString(36)}`;

function get(path: string, headers: Record<string, string> = {}): Request {
  return new Request(`${BASE}${path}`, { headers });
}

async function kvBytes(key: string): Promise<Uint8Array | null> {
  const value = await env.CACHE.get(key, "arrayBuffer");
  return value === null ? null : new Uint8Array(value);
}

describe("resource routes against the dev origin", () => {
  // The fault tests make fills fail on purpose; their logs are captured and checked.
  captureConsoleErrors(/^\{"msg":"origin fill failed".*"status":502,"message":"values endpoint answered 500 /);
  it("image playlist: miss → fill → hit, gzip bytes as stored", async () => {
    const uid = fresh("oseh_if_it");
    const now = wallNow();
    const auth = { authorization: `bearer ${await resourceToken("image", uid, now)}` };
    const first = await edgeFetch(get(`/api/1/image_files/playlist/${uid}`, auth), now);
    expect(first.response.status).toBe(200);
    expect(first.response.headers.get("cache-status")).toBe("oseh-edge; fwd=miss; stored");
    expect(first.response.headers.get("content-encoding")).toBe("gzip");
    const stored = await kvBytes(`image_files:playlist:${uid}`);
    expect(stored).toEqual(first.bytes);
    const second = await edgeFetch(get(`/api/1/image_files/playlist/${uid}`, auth), now);
    expect(second.response.headers.get("cache-status")).toMatch(/^oseh-edge; hit; detail=l[012]$/);
    expect(second.bytes).toEqual(first.bytes);
    expect(await fillCount(`image_files:playlist:${uid}`)).toBe(1);
    const json = JSON.parse(new TextDecoder().decode(await gunzip(second.bytes))) as { items: Record<string, unknown[]> };
    expect(Object.keys(json.items)).toEqual(["jpeg", "webp"]);
  });

  it("image playlist: presigned from the same cached value", async () => {
    const uid = fresh("oseh_if_ps");
    const now = wallNow();
    const token = await resourceToken("image", uid, now);
    const r = await edgeFetch(get(`/api/1/image_files/playlist/${uid}?jwt=${token}`), now);
    expect(r.response.status).toBe(200);
    expect(r.response.headers.get("content-encoding")).toBeNull();
    const plain = new TextDecoder().decode(await gunzip((await kvBytes(`image_files:playlist:${uid}`)) as Uint8Array));
    expect(r.text).toBe(plain.replace(/("url":"[^"]*)"/g, `$1?jwt=${token}"`));
  });

  it("image playlist: public images get a fresh x-image-file-jwt; others 403", async () => {
    const now = wallNow();
    const ok = await edgeFetch(get(`/api/1/image_files/playlist/oseh_if_devPublic000000000001?public=true`), now);
    expect(ok.response.status).toBe(200);
    expect(ok.response.headers.get("x-image-file-jwt")).toMatch(/^eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\./);
    const no = await edgeFetch(get(`/api/1/image_files/playlist/${fresh("oseh_if_np")}?public=true`), now);
    expect([no.response.status, no.text]).toEqual([403, AUTH_BODY.invalid]);
  });

  it("an image the origin does not have: its own 404 (passthrough)", async () => {
    const uid = fresh("oseh_if_missing");
    const now = wallNow();
    const r = await edgeFetch(get(`/api/1/image_files/playlist/${uid}`, { authorization: `bearer ${await resourceToken("image", uid, now)}` }), now);
    expect(r.response.status).toBe(404);
    expect(r.text).toBe('{"detail":"Not Found"}'); // the dev origin has no real playlist route
    expect(r.response.headers.get("cache-status")).toBe("oseh-edge; fwd=bypass");
  });

  it("a family the origin does not serve, or an origin error with nothing stale: passthrough", async () => {
    const now = wallNow();
    for (const uid of [fresh("oseh_if_fault-501x"), fresh("oseh_if_fault-500x")]) {
      await armFaults(uid);
      const r = await edgeFetch(get(`/api/1/image_files/playlist/${uid}`, { authorization: `bearer ${await resourceToken("image", uid, now)}` }), now);
      expect([uid, r.response.status, r.response.headers.get("cache-status")]).toEqual([uid, 404, "oseh-edge; fwd=bypass"]);
    }
  });

  it("stale-if-error: an expired value is served when the refill fails", async () => {
    const uid = fresh("oseh_if_fault-500s");
    await armFaults(uid);
    const now = wallNow();
    const body = await gzip('{"items":{}}');
    await seed({ [`image_files:playlist:${uid}`]: body }, now - 100, now - 10);
    const r = await edgeFetch(get(`/api/1/image_files/playlist/${uid}`, { authorization: `bearer ${await resourceToken("image", uid, now)}` }), now);
    expect(r.response.status).toBe(200);
    expect(r.bytes).toEqual(body);
    expect(r.response.headers.get("cache-status")).toMatch(/^oseh-edge; hit; detail=stale-if-error; fwd-status=5\d\d$/);
  });

  it("stale-if-error never stretches an authorization bit: a stale is-public bit goes to the origin", async () => {
    const uid = fresh("oseh_if_fault-500p");
    await armFaults(uid);
    const now = wallNow();
    await seed({ [`image_files:playlist:${uid}`]: await gzip('{"items":{}}') }, now);
    await seed({ [`image_files:public:${uid}`]: "1" }, now - 700, now - 10);
    const r = await edgeFetch(get(`/api/1/image_files/playlist/${uid}?public=true`), now);
    expect(r.response.headers.get("cache-status")).toBe("oseh-edge; fwd=bypass");
    expect(r.response.headers.get("x-image-file-jwt")).toBeNull();
  });

  it("web.json, mobile m3u8 and VOD m3u8 with presigning", async () => {
    const now = wallNow();
    const cf = fresh("oseh_cf_it");
    const token = await resourceToken("content", cf, now);
    const web = await edgeFetch(get(`/api/1/content_files/${cf}/web.json?jwt=${token}`), now);
    expect(web.response.status).toBe(200);
    expect(web.text).toContain(`.mp4?jwt=${token}"`);
    expect(web.text).toContain('"duration_seconds":300.512');

    const mobile = await edgeFetch(get(`/api/1/content_files/${cf}/ios.m3u8?jwt=${token}&bmin=100000`), now);
    expect(mobile.response.status).toBe(200);
    expect(mobile.response.headers.get("content-type")).toBe("application/x-mpegURL");
    expect(mobile.text.split("\n").filter((l) => l.startsWith("http")).every((l) => l.endsWith(`.m3u8?jwt=${token}`))).toBe(true);
    expect(await kvBytes(`content_files:playlists:mobile:${cf}:w=,h=,pr=,bmin=100000,bmax=`)).not.toBeNull();

    const vodToken = await resourceToken("content", "oseh_cf_devAudio00000000000001", now);
    const cfe = fresh("oseh_cfe_it");
    const vod = await edgeFetch(get(`/api/1/content_files/exports/${cfe}.m3u8`, { authorization: `bearer ${vodToken}` }), now);
    expect(vod.response.status).toBe(200);
    expect(vod.text).toContain("#EXT-X-ENDLIST");
    expect(vod.text).not.toContain("?jwt=");
    const wrong = await edgeFetch(get(`/api/1/content_files/exports/${cfe}.m3u8?jwt=${token}`), now);
    expect([wrong.response.status, wrong.text]).toEqual([403, AUTH_BODY.invalid]);
  });

  it("mobile filters 422 without touching the origin", async () => {
    const r = await edgeFetch(get(`/api/1/content_files/${fresh("oseh_cf_f")}/android.m3u8?w=10&h=10&pr=-1`), wallNow());
    expect(r.response.status).toBe(422);
    expect(r.text).toBe('{"detail": [{"loc": ["query", "pixel_ratio_str"], "msg": "Value error, must be a positive finite number", "type": "value_error"}]}');
  });

  it("transcripts: blob with Content-Length; unknown transcript 403", async () => {
    const now = wallNow();
    const uid = "oseh_t_devTranscript00000000001";
    const r = await edgeFetch(get(`/api/1/transcripts/${uid}`, { authorization: `bearer ${await resourceToken("transcript", uid, now)}` }), now);
    expect(r.response.status).toBe(200);
    expect(r.response.headers.get("content-length")).toBe(String(r.bytes.length));
    expect((JSON.parse(r.text) as { uid: string }).uid).toBe(uid);
    const missing = fresh("oseh_t_none");
    const no = await edgeFetch(get(`/api/1/transcripts/${missing}`, { authorization: `bearer ${await resourceToken("transcript", missing, now)}` }), now);
    expect([no.response.status, no.text]).toEqual([403, AUTH_BODY.invalid]);
  });
});

describe("admin routes against the dev origin", () => {
  captureConsoleErrors(/^\{"msg":"origin fill failed".*"status":502,"message":"values endpoint answered 500 /);
  it("a stale is-admin bit (the refill failed) is not trusted: the origin decides", async () => {
    const sub = fresh("oseh_u_fault-500a");
    await armFaults(sub);
    const now = wallNow();
    const key = `daily_active_users:${laUnixDate(now)}`;
    await seed({ [key]: '{"labels":[],"values":[]}' }, now);
    await seed({ [`auth:is_admin:${sub}`]: "1" }, now - 1000, now - 10);
    const r = await edgeFetch(get(`/api/1/admin/daily_active_users`, { authorization: `bearer ${await idToken(sub, now)}` }), now);
    expect(r.response.headers.get("cache-status")).toBe("oseh-edge; fwd=bypass");
    expect(r.text).not.toBe('{"labels":[],"values":[]}');
  });

  it("stats route: admin bit filled, gzip value filled, stored bytes served as stored", async () => {
    const now = wallNow();
    const today = laUnixDate(now);
    const r = await edgeFetch(get(`/api/1/admin/sms/daily_sms_events`, { authorization: `bearer ${await idToken(ADMIN, now)}` }), now);
    expect(r.response.status).toBe(200);
    expect(r.response.headers.get("content-encoding")).toBe("gzip");
    expect(r.bytes).toEqual(await kvBytes(`daily_sms_events:${today - 91}:${today - 1}`));
    const body = JSON.parse(new TextDecoder().decode(await gunzip(r.bytes))) as { labels: string[] };
    expect(body.labels.length).toBe(90);
    expect(await kvBytes(`auth:is_admin:${ADMIN}`)).toEqual(new TextEncoder().encode("1"));
  });

  it("non-admins get 403 (negative bit cached); user tokens pass through", async () => {
    const now = wallNow();
    const r = await edgeFetch(get(`/api/1/admin/new_users`, { authorization: `bearer ${await idToken(USER, now)}` }), now);
    expect([r.response.status, r.text]).toEqual([403, AUTH_BODY.invalid]);
    expect(await kvBytes(`auth:is_admin:${USER}`)).toEqual(new TextEncoder().encode("0"));
    const ut = await edgeFetch(get(`/api/1/admin/new_users`, { authorization: "bearer oseh_ut_whatever" }), now);
    expect([ut.response.status, ut.response.headers.get("cache-status")]).toEqual([404, "oseh-edge; fwd=bypass"]);
  });

  it("top sharers: default window", async () => {
    const now = wallNow();
    const r = await edgeFetch(
      new Request(`${BASE}/api/1/admin/journey_share_links/top_sharers`, {
        method: "POST",
        body: "{}",
        headers: { authorization: `bearer ${await idToken(ADMIN, now)}`, "content-type": "application/json" },
      }),
      now,
    );
    expect(r.response.status).toBe(200);
    expect(r.response.headers.get("content-encoding")).toBe("gzip");
    const body = JSON.parse(new TextDecoder().decode(await gunzip(r.bytes))) as { top_sharers: unknown[] };
    expect(body.top_sharers.length).toBe(3);
  });

  it("journey_feedback: Pragma: no-cache refills", async () => {
    const now = wallNow();
    const key = `journey_feedback:${laUnixDate(now) - 1}`;
    const auth = `bearer ${await idToken(ADMIN, now)}`;
    await edgeFetch(get(`/api/1/admin/journey_feedback`, { authorization: auth }), now);
    const before = await fillCount(key);
    const cached = await edgeFetch(get(`/api/1/admin/journey_feedback`, { authorization: auth }), now);
    expect(cached.response.headers.get("cache-status")).toMatch(/hit/);
    const forced = await edgeFetch(get(`/api/1/admin/journey_feedback`, { authorization: auth, pragma: "no-cache" }), now);
    expect(forced.response.headers.get("cache-status")).toBe("oseh-edge; fwd=request; stored");
    expect(forced.response.headers.get("cache-control")).toBe("private, max-age=10");
    expect(await fillCount(key)).toBe(before + 1);
  });
});

describe("LA windows with an injected clock (seeded values)", () => {
  const utc = (iso: string) => Date.parse(iso) / 1000;
  const SUB = "oseh_u_seededAdmin00000000001";

  async function stats(now: number) {
    return edgeFetch(get(`/api/1/admin/touch/daily_touch_send`, { authorization: `bearer ${await idToken(SUB, now)}` }), now);
  }

  it("spring-forward day: key and max-age from the 23-hour LA day", async () => {
    const now = utc("2024-03-10T08:00:00Z"); // 00:00 PST, 2024-03-10
    const d = isoToUnixDate("2024-03-10") as number;
    const body = await gzip('{"labels":["spring"]}');
    await seed({ [`auth:is_admin:${SUB}`]: "1", [`daily_touch_send:${d - 91}:${d - 1}`]: body }, now);
    const r = await stats(now);
    expect(r.response.status).toBe(200);
    expect(r.bytes).toEqual(body);
    expect(r.response.headers.get("cache-control")).toBe(`private, max-age=${23 * 3600}, stale-if-error=600`);
  });

  it("just before and just after LA midnight (fall-back day)", async () => {
    const midnight = laMidnightStartOf(isoToUnixDate("2024-11-04") as number); // 2024-11-04 00:00 PST
    expect(midnight).toBe(utc("2024-11-04T08:00:00Z"));
    const d = isoToUnixDate("2024-11-03") as number;
    const before = await gzip('{"labels":["before"]}');
    const after = await gzip('{"labels":["after"]}');
    await seed({ [`auth:is_admin:${SUB}`]: "1", [`daily_touch_send:${d - 91}:${d - 1}`]: before }, midnight - 1);
    await seed({ [`auth:is_admin:${SUB}`]: "1", [`daily_touch_send:${d - 90}:${d}`]: after }, midnight);
    const r1 = await stats(midnight - 1);
    expect(r1.bytes).toEqual(before);
    expect(r1.response.headers.get("cache-control")).toBe("private, max-age=1, stale-if-error=600");
    const r2 = await stats(midnight);
    expect(r2.bytes).toEqual(after);
    expect(r2.response.headers.get("cache-control")).toBe("private, max-age=86400, stale-if-error=600");
    // The fall-back day itself is 25 hours long.
    const dayStart = utc("2024-11-03T07:00:00Z");
    await seed({ [`auth:is_admin:${SUB}`]: "1", [`daily_touch_send:${d - 91}:${d - 1}`]: before }, dayStart);
    expect((await stats(dayStart)).response.headers.get("cache-control")).toBe(`private, max-age=${25 * 3600}, stale-if-error=600`);
  });
});

describe("every admin route of the table: miss → fill → hit with its headers", () => {
  // utm needs a past date; monthly/retention need their path enums.
  const QUERY: Record<string, string> = { "/api/1/admin/utm_conversion_stats": "?year=2024&month=1&day=15" };
  for (const route of ADMIN_ROUTES) {
    const path = route.pathEnum === undefined ? route.path : route.path.replace(`{${route.pathEnum.name}}`, route.pathEnum.values[0] ?? "");
    it(`${path}`, async () => {
      const now = wallNow();
      const auth = { authorization: `bearer ${await idToken(ADMIN, now)}` };
      const url = `${path}${QUERY[route.path] ?? ""}`;
      const first = await edgeFetch(get(url, auth), now);
      expect(first.response.status).toBe(200);
      expect(first.response.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(first.response.headers.get("content-encoding")).toBe(route.gzip ? "gzip" : null);
      expect(first.response.headers.get("cache-control")).toBe(cacheControlFor(route.cacheControl, now));
      const second = await edgeFetch(get(url, auth), now);
      expect(second.response.headers.get("cache-status")).toMatch(/^oseh-edge; hit; detail=l[012]$/);
      expect(second.bytes).toEqual(first.bytes);
    });
  }
});
