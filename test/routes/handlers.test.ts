/**
 * Every edge route, matched and answered as the Worker does, with an in-memory RouteIo: hits, auth failures with
 * the backend's exact bodies, presign variants, stored gzip bytes sent as stored, passthroughs.
 */
import { describe, expect, it } from "vitest";
import { createTokenMemory, createTokenService } from "../../src/auth/jwt";
import { answerEdgeRoute, matchEdgeRoute, stamp, type RouteIo } from "../../src/routes";
import { laUnixDate } from "../../src/keys/la-time";
import { base64ToBytes, loadBlocksVectors } from "../helpers/vectors";
import { idToken } from "../helpers/tokens";
import { AUTH_BODY, createTestIo, gzip, PASSTHROUGH_BODY, resourceToken, SECRETS, type Stored } from "./helpers";

const NOW = 1_700_000_000; // 2023-11-14 14:13:20 PST, the vectors' frozen clock
const BASE = "https://edge.test";
const IMG = "oseh_if_imgAAAAAAAAAAAAAAAAAAAA";
const CF = "oseh_cf_cfAAAAAAAAAAAAAAAAAAAAA";
const CFE = "oseh_cfe_exportAAAAAAAAAAAAAAAA";
const ADMIN_SUB = "oseh_u_adminAAAAAAAAAAAAAAAAAA";

async function call(path: string, values: Record<string, Stored>, init: RequestInit = {}) {
  const t = createTestIo(NOW, values);
  const response = await serve(new Request(`${BASE}${path}`, init), t.io);
  if (response === undefined) throw new Error(`${path} is not an edge route`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { response, bytes, text: new TextDecoder().decode(bytes), ...t };
}

/** As the Worker answers a matched route: the outcome's wire form with the edge's headers. */
async function serve(request: Request, io: RouteIo): Promise<Response | undefined> {
  const url = new URL(request.url);
  const matched = matchEdgeRoute(request.method, url.pathname);
  return matched === undefined ? undefined : stamp(await answerEdgeRoute(matched, request, url, io), Date.now());
}

function bearer(token: string): RequestInit {
  return { headers: { authorization: `bearer ${token}` } };
}

const IMAGE_JSON =
  `{"items":{"jpeg":[{"url":"https://oseh.io/api/1/image_files/image/oseh_ife_a.jpeg","uid":"oseh_ife_a","format":"jpeg","width":10,"height":10,"size_bytes":100,"thumbhash":"abc"}],` +
  `"webp":[{"url":"https://oseh.io/api/1/image_files/image/oseh_ife_b.webp","uid":"oseh_ife_b","format":"webp","width":20,"height":20,"size_bytes":50,"thumbhash":"def"}]}}`;

describe("GET /api/1/image_files/playlist/{uid}", () => {
  const values = async (): Promise<Record<string, Stored>> => ({ [`image_files:playlist:${IMG}`]: await gzip(IMAGE_JSON) });

  it("header auth: the stored gzip bytes, as stored, with Content-Encoding: gzip", async () => {
    const stored = await values();
    const r = await call(`/api/1/image_files/playlist/${IMG}`, stored, bearer(await resourceToken("image", IMG, NOW)));
    expect(r.response.status).toBe(200);
    expect(r.bytes).toEqual(stored[`image_files:playlist:${IMG}`]);
    expect(r.response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(r.response.headers.get("content-encoding")).toBe("gzip");
    expect(r.response.headers.get("x-image-file-jwt")).toBeNull();
    expect(r.response.headers.get("cache-status")).toBe("oseh-edge; hit; detail=l1");
    expect(r.response.headers.get("server-timing")).toMatch(/^edge;dur=\d+$/);
  });

  it("?jwt= presigns by default: uncompressed JSON, ?jwt= on each item url", async () => {
    const token = await resourceToken("image", IMG, NOW);
    const r = await call(`/api/1/image_files/playlist/${IMG}?jwt=${token}`, await values());
    expect(r.response.status).toBe(200);
    expect(r.response.headers.get("content-encoding")).toBeNull();
    expect(r.text).toBe(IMAGE_JSON.replace(".jpeg\"", `.jpeg?jwt=${token}"`).replace(".webp\"", `.webp?jwt=${token}"`));
  });

  it("?jwt=&presign=false serves the gzip; header + presign=true presigns with the header token", async () => {
    const token = await resourceToken("image", IMG, NOW);
    const gz = await call(`/api/1/image_files/playlist/${IMG}?jwt=${token}&presign=false`, await values());
    expect(gz.response.headers.get("content-encoding")).toBe("gzip");
    const signed = await call(`/api/1/image_files/playlist/${IMG}?presign=true`, await values(), bearer(token));
    expect(signed.text).toContain(`.jpeg?jwt=${token}"`);
  });

  it("public=true: is-public bit, then gzip plus a fresh x-image-file-jwt", async () => {
    const stored = { ...(await values()), [`image_files:public:${IMG}`]: "1" };
    const r = await call(`/api/1/image_files/playlist/${IMG}?public=true`, stored);
    expect(r.response.status).toBe(200);
    expect(r.response.headers.get("content-encoding")).toBe("gzip");
    expect(r.response.headers.get("x-image-file-jwt")).toBe(await createTokenService(SECRETS, {}, createTokenMemory()).mint("image", IMG, NOW));
    expect(r.loads.map((l) => l.key)).toEqual([`image_files:public:${IMG}`, `image_files:playlist:${IMG}`]);
  });

  it("public=true&presign=true: uncompressed, nothing appended, no x-image-file-jwt", async () => {
    const stored = { ...(await values()), [`image_files:public:${IMG}`]: "1" };
    const r = await call(`/api/1/image_files/playlist/${IMG}?public=true&presign=true`, stored);
    expect(r.text).toBe(IMAGE_JSON);
    expect(r.response.headers.get("x-image-file-jwt")).toBeNull();
    expect(r.response.headers.get("content-encoding")).toBeNull();
  });

  it("auth failures with the backend's bodies", async () => {
    const stored = { ...(await values()), [`image_files:public:${IMG}`]: "0" };
    const cases: Array<[string, RequestInit, number, string]> = [
      [`?public=true`, {}, 403, AUTH_BODY.invalid],
      [``, {}, 403, AUTH_BODY.invalid], // "bearer None"
      [`?jwt=${await resourceToken("image", IMG, NOW)}`, { headers: { authorization: "Bearer x" } }, 401, AUTH_BODY.bad_format],
      [``, bearer(await resourceToken("image", "oseh_if_other", NOW)), 403, AUTH_BODY.invalid],
      [``, bearer(await resourceToken("image", IMG, NOW, { exp: NOW })), 403, AUTH_BODY.invalid],
      [``, bearer(await resourceToken("content", IMG, NOW)), 403, AUTH_BODY.invalid],
    ];
    for (const [query, init, status, body] of cases) {
      const r = await call(`/api/1/image_files/playlist/${IMG}${query}`, stored, init);
      expect([query, r.response.status, r.text]).toEqual([query, status, body]);
      expect(r.response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    }
  });

  it("public=true with an is-public bit served stale (origin failing) goes to the origin", async () => {
    const stored = { ...(await values()), [`image_files:public:${IMG}`]: { stale: "1" } };
    const r = await call(`/api/1/image_files/playlist/${IMG}?public=true`, stored);
    expect([r.response.status, r.text, r.passthroughs.length]).toEqual([299, PASSTHROUGH_BODY, 1]);
    expect(r.loads.map((l) => l.key)).toEqual([`image_files:public:${IMG}`]); // the playlist is not read
  });

  it("an image the origin does not know goes to the origin (its 404)", async () => {
    const r = await call(`/api/1/image_files/playlist/${IMG}`, {}, bearer(await resourceToken("image", IMG, NOW)));
    expect([r.response.status, r.text, r.passthroughs.length]).toEqual([299, PASSTHROUGH_BODY, 1]);
  });
});

const WEB_JSON =
  '{"exports":[{"url":"https://oseh.io/api/1/content_files/exports/parts/oseh_cfep_a.mp4","format":"mp4","bandwidth":100000,"codecs":["mp4a.40.2"],"file_size":1234,' +
  '"format_parameters":{"url":"keep","ratio":1.0},"quality_parameters":{"bitrate":1e16}}],"duration_seconds":60.0}';

describe("GET /api/1/content_files/{uid}/web.json", () => {
  const stored = { [`content_files:playlists:web:${CF}`]: WEB_JSON };
  it("header: as stored; ?jwt=: presigned in place (floats untouched)", async () => {
    const token = await resourceToken("content", CF, NOW);
    const plain = await call(`/api/1/content_files/${CF}/web.json`, stored, bearer(token));
    expect([plain.response.status, plain.text]).toEqual([200, WEB_JSON]);
    expect(plain.response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const signed = await call(`/api/1/content_files/${CF}/web.json?jwt=${token}`, stored);
    expect(signed.text).toBe(WEB_JSON.replace('.mp4"', `.mp4?jwt=${token}"`));
    const headerSigned = await call(`/api/1/content_files/${CF}/web.json?presign=true`, stored, bearer(token));
    expect(headerSigned.text).toBe(signed.text);
  });
  it("auth failures", async () => {
    expect((await call(`/api/1/content_files/${CF}/web.json`, stored)).text).toBe(AUTH_BODY.not_set);
    const wrong = await call(`/api/1/content_files/${CF}/web.json`, stored, bearer(await resourceToken("content", "oseh_cf_x", NOW)));
    expect([wrong.response.status, wrong.text]).toEqual([403, AUTH_BODY.invalid]);
  });
});

const MASTER =
  "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH=100000,CODECS=\"mp4a.40.2\"\nhttps://oseh.io/api/1/content_files/exports/oseh_cfe_a.m3u8\n";

describe("GET /api/1/content_files/{uid}/{ios,android}.m3u8", () => {
  it("keys by the stable identifier, presigns ?jwt= requests line by line", async () => {
    const token = await resourceToken("content", CF, NOW);
    const key = `content_files:playlists:mobile:${CF}:w=100,h=200,pr=1E+1,bmin=90000,bmax=`;
    const r = await call(`/api/1/content_files/${CF}/ios.m3u8?w=99.5&h=200&pr=10&jwt=${token}`, { [key]: MASTER });
    expect(r.loads.map((l) => l.key)).toEqual([key]);
    expect(r.response.status).toBe(200);
    expect(r.response.headers.get("content-type")).toBe("application/x-mpegURL");
    expect(r.text).toBe(MASTER.replace(".m3u8\n", `.m3u8?jwt=${token}\n`));
    const android = await call(`/api/1/content_files/${CF}/android.m3u8`, { [`content_files:playlists:mobile:${CF}:w=,h=,pr=,bmin=90000,bmax=`]: MASTER }, bearer(token));
    expect(android.text).toBe(MASTER);
  });
  it("invalid filters: the route's 422, before auth", async () => {
    const r = await call(`/api/1/content_files/${CF}/ios.m3u8?w=0&h=10`, {});
    expect(r.response.status).toBe(422);
    expect(r.text).toBe('{"detail": [{"loc": ["query", "width"], "msg": "Input should be greater than or equal to 1", "type": "greater_than_equal"}]}');
    expect(r.response.headers.get("content-type")).toBe("application/json; charset=utf-8");
  });
  it("no credential → 401; filter spellings FastAPI owns → origin", async () => {
    expect((await call(`/api/1/content_files/${CF}/ios.m3u8`, {})).text).toBe(AUTH_BODY.not_set);
    expect((await call(`/api/1/content_files/${CF}/ios.m3u8?w=abc&h=1`, {})).passthroughs.length).toBe(1);
  });
});

const VOD = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nhttps://oseh.io/api/1/content_files/exports/parts/oseh_cfep_1.ts\n#EXT-X-ENDLIST\n";

describe("GET /api/1/content_files/exports/{uid}.m3u8", () => {
  const stored = {
    [`content_files:vods:${CFE}:meta`]: `{"content_file_uid": "${CF}"}`,
    [`content_files:vods:${CFE}:m3u`]: VOD,
  };
  it("meta then m3u; ?jwt= presigns, the header does not", async () => {
    const token = await resourceToken("content", CF, NOW);
    const signed = await call(`/api/1/content_files/exports/${CFE}.m3u8?jwt=${token}`, stored);
    expect(signed.text).toBe(VOD.replace(".ts\n", `.ts?jwt=${token}\n`));
    expect(signed.loads.map((l) => l.key)).toEqual([`content_files:vods:${CFE}:meta`, `content_files:vods:${CFE}:m3u`]);
    const plain = await call(`/api/1/content_files/exports/${CFE}.m3u8`, stored, bearer(token));
    expect(plain.text).toBe(VOD);
  });
  it("a missing export looks like a wrong token (403); a token for another content file is 403", async () => {
    const token = await resourceToken("content", CF, NOW);
    const missing = await call(`/api/1/content_files/exports/${CFE}.m3u8`, {}, bearer(token));
    expect([missing.response.status, missing.text]).toEqual([403, AUTH_BODY.invalid]);
    const other = await call(`/api/1/content_files/exports/${CFE}.m3u8`, stored, bearer(await resourceToken("content", "oseh_cf_other", NOW)));
    expect([other.response.status, other.text]).toEqual([403, AUTH_BODY.invalid]);
  });
  it("no parts → the origin's 404", async () => {
    const token = await resourceToken("content", CF, NOW);
    const r = await call(`/api/1/content_files/exports/${CFE}.m3u8`, { [`content_files:vods:${CFE}:meta`]: `{"content_file_uid": "${CF}"}` }, bearer(token));
    expect(r.passthroughs.length).toBe(1);
  });
});

describe("GET /api/1/transcripts/{uid} (docs/block-format.md §5, http_examples)", () => {
  const vectors = loadBlocksVectors();
  const vector = vectors.vectors.find((v: { id: string }) => v.id === "transcript-basic");
  const examples: Array<{ name: string; request: { path: string; headers: Record<string, string> | null }; status: number; headers: Array<[string, string]>; body: string }> =
    vectors.http_examples.examples;

  it("serves the blob with Content-Length from the prefix", async () => {
    const r = await call(`/api/1/transcripts/oseh_t_tr6Fd9KsA3z0PhU4jY8nVc`, { [vector.cache_key]: base64ToBytes(vector.cached_bytes_b64) }, bearer(vector.jwts[0].token));
    expect(r.response.status).toBe(200);
    expect(r.text).toBe(vector.blob_json);
    expect(r.response.headers.get("content-length")).toBe(String(new TextEncoder().encode(vector.blob_json).length));
    expect(r.response.headers.get("content-type")).toBe("application/json; charset=utf-8");
  });

  for (const example of examples.filter((e) => e.request.path.startsWith("/api/1/transcripts/"))) {
    it(`http example: ${example.name}`, async () => {
      const uid = example.request.path.split("/").pop() as string;
      const stored: Record<string, Stored> =
        uid === "oseh_t_tr6Fd9KsA3z0PhU4jY8nVc"
          ? { [`transcripts:${uid}`]: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 101, ...new TextEncoder().encode(example.status === 200 ? example.body : "")]) }
          : {};
      const r = await call(example.request.path, stored, { headers: example.request.headers ?? {} });
      expect(r.response.status).toBe(example.status);
      expect(r.text).toBe(example.body);
      // Content-Length of the error bodies is set by the runtime on the wire (fixed-length body).
      for (const [name, value] of example.headers) {
        if (name !== "content-length" || example.status === 200) expect(r.response.headers.get(name)).toBe(value);
      }
    });
  }

  it("missing header, wrong prefix, wrong sub", async () => {
    expect((await call(`/api/1/transcripts/oseh_t_a`, {})).text).toBe(AUTH_BODY.not_set);
    expect((await call(`/api/1/transcripts/oseh_t_a`, {}, { headers: { authorization: "Bearer x" } })).text).toBe(AUTH_BODY.bad_format);
    const wrong = await call(`/api/1/transcripts/oseh_t_a`, {}, bearer(await resourceToken("transcript", "oseh_t_b", NOW)));
    expect([wrong.response.status, wrong.text]).toEqual([403, AUTH_BODY.invalid]);
  });
});

describe("admin routes (id token + auth:is_admin)", () => {
  const today = laUnixDate(NOW);
  const adminFlag = { [`auth:is_admin:${ADMIN_SUB}`]: "1" };

  it("a gzip stats family: stored bytes as stored, std admin stats headers", async () => {
    const body = await gzip('{"labels":[],"queued":[]}');
    const key = `daily_email_send:${today - 91}:${today - 1}`;
    const r = await call(`/api/1/admin/email/daily_email_send`, { ...adminFlag, [key]: body }, bearer(await idToken(ADMIN_SUB, NOW)));
    expect(r.response.status).toBe(200);
    expect(r.bytes).toEqual(body);
    expect(r.response.headers.get("content-encoding")).toBe("gzip");
    expect(r.response.headers.get("cache-control")).toMatch(/^private, max-age=\d+, stale-if-error=600$/);
    expect(r.loads.map((l) => l.key)).toEqual([`auth:is_admin:${ADMIN_SUB}`, key]);
  });

  it("a plain JSON chart", async () => {
    const r = await call(`/api/1/admin/monthly_active_users/month`, { ...adminFlag, [`monthly_active_users:${today}:month`]: '{"labelled_by":"month"}' }, bearer(await idToken(ADMIN_SUB, NOW)));
    expect([r.response.status, r.text]).toEqual([200, '{"labelled_by":"month"}']);
    expect(r.response.headers.get("content-encoding")).toBeNull();
    expect(r.response.headers.get("cache-control")).toBe("private, max-age=300, stale-while-revalidate=600, stale-if-error=86400");
  });

  it("auth failures, non-admins and user tokens", async () => {
    const path = `/api/1/admin/daily_active_users`;
    expect((await call(path, adminFlag)).text).toBe(AUTH_BODY.not_set);
    expect((await call(path, adminFlag, { headers: { authorization: "Bearer x" } })).text).toBe(AUTH_BODY.bad_format);
    expect((await call(path, adminFlag, bearer("garbage"))).text).toBe(AUTH_BODY.invalid);
    const notAdmin = await call(path, { [`auth:is_admin:${ADMIN_SUB}`]: "0" }, bearer(await idToken(ADMIN_SUB, NOW)));
    expect([notAdmin.response.status, notAdmin.text]).toEqual([403, AUTH_BODY.invalid]);
    const oldIat = await call(path, adminFlag, bearer(await idToken(ADMIN_SUB, NOW, { iat: 1679589899 })));
    expect(oldIat.text).toBe(AUTH_BODY.invalid);
    const noJti = await call(path, adminFlag, bearer(await idToken(ADMIN_SUB, NOW, { jti: undefined })));
    expect(noJti.text).toBe(AUTH_BODY.invalid);
    const userToken = await call(path, adminFlag, bearer("oseh_ut_abcdef"));
    expect([userToken.response.status, userToken.passthroughs.length]).toEqual([299, 1]);
    const unknown = await call(path, {}, bearer(await idToken(ADMIN_SUB, NOW)));
    expect(unknown.passthroughs.length).toBe(1);
  });

  it("an is-admin bit served stale (origin failing) is not trusted: the origin decides", async () => {
    const key = `daily_active_users:${today}`;
    for (const bit of ["1", "0"]) {
      const r = await call(`/api/1/admin/daily_active_users`, { [`auth:is_admin:${ADMIN_SUB}`]: { stale: bit }, [key]: "{}" }, bearer(await idToken(ADMIN_SUB, NOW)));
      expect([bit, r.response.status, r.text, r.passthroughs.length]).toEqual([bit, 299, PASSTHROUGH_BODY, 1]);
      expect(r.loads.map((l) => l.key)).toEqual([`auth:is_admin:${ADMIN_SUB}`]); // the chart is never read
    }
  });

  it("uncached variants and unknown paths are not served", async () => {
    const token = bearer(await idToken(ADMIN_SUB, NOW));
    const t = createTestIo(NOW, adminFlag);
    expect(await serve(new Request(`${BASE}/api/1/admin/email/partial_email_send_stats`, token), t.io)).toBeUndefined();
    expect(await serve(new Request(`${BASE}/api/1/admin/monthly_active_users/week`, token), t.io)).toBeUndefined();
    expect(await serve(new Request(`${BASE}/api/1/admin/daily_active_users/`, token), t.io)).toBeUndefined();
    expect(await serve(new Request(`${BASE}/api/1/admin/daily_active_users`, { ...token, method: "POST" }), t.io)).toBeUndefined();
    const utmToday = await call(`/api/1/admin/utm_conversion_stats?year=2023&month=11&day=14`, adminFlag, token);
    expect(utmToday.passthroughs.length).toBe(1);
    expect(utmToday.loads).toEqual([]); // decided before auth
  });

  it("journey_feedback Pragma: no-cache asks for a refill", async () => {
    const key = `journey_feedback:${today - 1}`;
    const r = await call(`/api/1/admin/journey_feedback`, { ...adminFlag, [key]: "{}" }, { headers: { authorization: `bearer ${await idToken(ADMIN_SUB, NOW)}`, pragma: "no-cache" } });
    expect(r.response.headers.get("cache-control")).toBe("private, max-age=10");
    expect(r.loads[1]).toEqual({ key, family: "journey_feedback:{unix_date}", options: { refresh: true } });
  });
});

describe("POST /api/1/admin/journey_share_links/top_sharers (docs/block-format.md §6)", () => {
  const vector = loadBlocksVectors().vectors.find((v: { id: string }) => v.id === "top-sharers-all-time");
  it("serves the gzip member after the u64 prefix", async () => {
    const r = await call(
      `/api/1/admin/journey_share_links/top_sharers`,
      { [`auth:is_admin:${ADMIN_SUB}`]: "1", [vector.cache_key]: base64ToBytes(vector.cached_bytes_b64) },
      { method: "POST", body: "{}", headers: { authorization: `bearer ${await idToken(ADMIN_SUB, NOW)}`, "content-type": "application/json" } },
    );
    expect(r.response.status).toBe(200);
    expect(r.bytes).toEqual(base64ToBytes(vector.gzip_member_b64));
    expect(r.response.headers.get("content-encoding")).toBe("gzip");
    expect(r.response.headers.get("content-type")).toBe("application/json; charset=utf-8");
  });
  it("start ≥ end passes through with the body intact", async () => {
    const body = '{"start_date":"2023-11-13","end_date":"2023-11-01"}';
    const r = await call(`/api/1/admin/journey_share_links/top_sharers`, {}, { method: "POST", body, headers: { "content-type": "application/json" } });
    expect(r.passthroughs.length).toBe(1);
    expect(await r.passthroughs[0]?.text()).toBe(body);
  });
});

describe("validation order", () => {
  it("a presign spelling FastAPI refuses wins over invalid filters (origin answers)", async () => {
    const r = await call(`/api/1/content_files/${CF}/ios.m3u8?w=0&h=1&presign=maybe`, {});
    expect(r.passthroughs.length).toBe(1);
  });
});
