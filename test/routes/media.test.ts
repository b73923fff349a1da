/**
 * The media routes end to end through the Worker's own fetch: real KV, Cache API and R2
 * (miniflare), the dev origin over HTTP as the origin. Each answer is compared with what the dev
 * origin — which plays the backend's three routes — answers to the same request.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { devObjectSize, devObjectSlice } from "../../dev/origin/fixtures/media";
import { MULTIPART_BOUNDARY } from "../../src/media";
import { clearFault, setFault } from "../dev-origin/helpers";
import { adminToken } from "../helpers/tokens";
import { AUTH_BODY, resourceToken } from "./helpers";
import { edgeFetch, fillCount, originUrl, seed, wallNow } from "./edge";

const BASE = "https://edge.test";
const CONTENT_FILE = "oseh_cf_devAudio00000000000001";
const IMAGE_FILE = "oseh_if_devBg00000000000000001";
let counter = 0;
const fresh = (label: string) => `${label}${Date.now().toString(36)}${(counter += 1)}${Math.floor(Math.random() * 1e6).toString(36)}`;

const get = (path: string, headers: Record<string, string> = {}) => new Request(`${BASE}${path}`, { headers });

/** A fresh part of `size` (a dev-origin marker like `64KiB`): its route path and object uid. */
function freshPart(size = "64KiB") {
  const tail = fresh(`p${size}x`);
  return { path: `/api/1/content_files/exports/parts/oseh_cfep_${tail}.mp4`, objectUid: `oseh_s3f_${tail}`, size: devObjectSize(`oseh_s3f_${tail}`) };
}

async function partAuth(now = wallNow()): Promise<Record<string, string>> {
  return { authorization: `bearer ${await resourceToken("content", CONTENT_FILE, now)}` };
}

/** What the backend (the dev origin) answers to the same request, straight. */
async function backend(path: string, headers: Record<string, string>): Promise<{ status: number; headers: Headers; bytes: Uint8Array }> {
  const response = await fetch(originUrl(path), { headers });
  return { status: response.status, headers: response.headers, bytes: new Uint8Array(await response.arrayBuffer()) };
}

const latin1 = (bytes: Uint8Array) => Array.from(bytes, (b) => String.fromCharCode(b)).join("");

/** The client-visible parts of an answer, minus the edge's own Cache-Status and Server-Timing. */
function visible(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) if (!["cache-status", "server-timing"].includes(name)) out[name] = value;
  return out;
}

describe("content export parts", () => {
  it("miss → fill → hit from R2 → hit from L1, the backend's status, headers and bytes each time", async () => {
    const part = freshPart();
    const auth = await partAuth();
    const direct = await backend(part.path, auth);
    expect(direct.status).toBe(200);
    const statuses: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await edgeFetch(get(part.path, auth), wallNow());
      expect(r.response.status).toBe(200);
      expect(visible(r.response.headers)).toEqual(visible(direct.headers));
      expect(r.response.headers.get("content-length")).toBe(String(part.size));
      expect(r.response.headers.get("accept-ranges")).toBe("bytes");
      expect(r.response.headers.get("content-type")).toBe("audio/mp4");
      // The first request fills the part's metadata: its phases follow (src/cache/phases.ts).
      expect(r.response.headers.get("server-timing")).toMatch(i === 0 ? /^edge;dur=\d+(, (tier|shield|origin|store);dur=\d+)+$/ : /^edge;dur=\d+$/);
      expect(r.bytes).toEqual(direct.bytes);
      statuses.push(r.response.headers.get("cache-status") ?? "");
    }
    expect(statuses).toEqual(["oseh-edge; fwd=miss; stored", "oseh-edge; hit; detail=r2", "oseh-edge; hit; detail=l1"]);
    expect(await fillCount(`s3_files:${part.objectUid}`)).toBe(1);
    expect(await env.CACHE.get(`s3_files:${part.objectUid}`)).toBeNull(); // bytes live in R2, not KV
    const pointer = await (env as { MEDIA: R2Bucket }).MEDIA.head(`pointers/s3_files:${part.objectUid}`);
    expect(pointer?.customMetadata).toMatchObject({ family: "s3_files:{uid}", codec: "bytes", size: String(part.size) });
  });

  // Each range is asked of a fresh object (fill path), then again (R2), then again (L1).
  const SIZE = 64 * 1024;
  const RANGES: Array<[string, number, Array<[number, number]> | null]> = [
    ["bytes=0-99", 206, [[0, 99]]],
    ["bytes=0-0", 206, [[0, 0]]],
    ["bytes=-100", 206, [[SIZE - 100, SIZE - 1]]],
    ["bytes=60000-", 206, [[60000, SIZE - 1]]],
    ["bytes=10-19,30000-30009", 206, [[10, 19], [30000, 30009]]],
    ["bytes=10-19,15-29,100-", 206, [[10, 29], [100, SIZE - 1]]],
    ["bytes=0-", 200, null], // the backend raises on this one (500); Chrome and players send it
    ["bytes=70000-80000", 200, null], // unsatisfiable: ignored, as the backend would
    ["bytes=5-1", 200, null], // invalid: ignored
    ["bytes=abc", 200, null],
    ["bytes=0-1,2-3,4-5,6-7,8-9,10-11,12-13,14-15,16-17,18-19", 200, null], // ten ranges: ignored
  ];

  it.each(RANGES)("Range %s → %i from every tier", async (range, status, expected) => {
    const part = freshPart();
    const auth = await partAuth();
    const tiers: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await edgeFetch(get(part.path, { ...auth, range }), wallNow());
      tiers.push(r.response.headers.get("cache-status") ?? "");
      expect(r.response.status).toBe(status);
      expect(r.response.headers.get("accept-ranges")).toBe("bytes");
      expect(r.response.headers.get("content-length")).toBe(String(r.bytes.length));
      if (expected === null) {
        expect(r.bytes).toEqual(devObjectSlice(part.objectUid, 0, SIZE));
        expect(r.response.headers.get("content-range")).toBeNull();
        continue;
      }
      if (expected.length === 1) {
        const [[start, end]] = expected as [[number, number]];
        expect(r.response.headers.get("content-type")).toBe("audio/mp4");
        expect(r.response.headers.get("content-range")).toBe(`bytes ${start}-${end}/${SIZE}`);
        expect(r.bytes).toEqual(devObjectSlice(part.objectUid, start, end - start + 1));
        continue;
      }
      expect(r.response.headers.get("content-type")).toBe(`multipart/byteranges; boundary=${MULTIPART_BOUNDARY}`);
      const parts = expected.map(
        ([start, end], j) =>
          `${j === 0 ? "" : "\r\n"}--${MULTIPART_BOUNDARY}\r\nContent-Type: audio/mp4\r\nContent-Range: bytes ${start}-${end}/${SIZE}\r\n\r\n` +
          latin1(devObjectSlice(part.objectUid, start, end - start + 1)),
      );
      expect(latin1(r.bytes)).toBe(`${parts.join("")}\r\n--${MULTIPART_BOUNDARY}--\r\n`);
    }
    expect(tiers).toEqual(["oseh-edge; fwd=miss; stored", "oseh-edge; hit; detail=r2", "oseh-edge; hit; detail=l1"]);
  });

  it("If-Range: the whole part (no validator can match)", async () => {
    const part = freshPart();
    const r = await edgeFetch(get(part.path, { ...(await partAuth()), range: "bytes=0-9", "if-range": '"x"' }), wallNow());
    expect(r.response.status).toBe(200);
    expect(r.bytes.length).toBe(part.size);
  });

  it("auth table: the backend's 401/403/404 bodies, checked in its order", async () => {
    const now = wallNow();
    const part = freshPart();
    const missing = `/api/1/content_files/exports/parts/oseh_cfep_missing${fresh("m")}.mp4`;
    const other = `/api/1/content_files/exports/parts/oseh_cfep_Other${fresh("o")}.mp4`;
    const content = await resourceToken("content", CONTENT_FILE, now);
    const image = await resourceToken("image", CONTENT_FILE, now);
    const expired = await resourceToken("content", CONTENT_FILE, now, { exp: now - 1 });
    const cases: Array<[string, string, Record<string, string>, number, string | null]> = [
      ["no credential", part.path, {}, 401, AUTH_BODY.not_set],
      ["no bearer prefix", part.path, { authorization: content }, 401, AUTH_BODY.bad_format],
      ["Bearer (capital)", part.path, { authorization: `Bearer ${content}` }, 401, AUTH_BODY.bad_format],
      ["garbage token", part.path, { authorization: "bearer a.b.c" }, 403, AUTH_BODY.invalid],
      ["image token", part.path, { authorization: `bearer ${image}` }, 403, AUTH_BODY.invalid],
      ["expired", part.path, { authorization: `bearer ${expired}` }, 403, AUTH_BODY.invalid],
      ["another content file's part", other, { authorization: `bearer ${content}` }, 403, AUTH_BODY.invalid],
      ["?jwt= when no header", `${part.path}?jwt=${content}`, {}, 200, null],
      ["the header wins over ?jwt=", `${part.path}?jwt=${content}`, { authorization: "bearer nope" }, 403, AUTH_BODY.invalid],
      ["a bad header is not rescued by ?jwt=", `${part.path}?jwt=${content}`, { authorization: content }, 401, AUTH_BODY.bad_format],
      ["no such part", missing, { authorization: `bearer ${content}` }, 404, null],
      ["no such part, bad token: auth first", missing, { authorization: "bearer x" }, 403, AUTH_BODY.invalid],
    ];
    for (const [name, path, headers, status, body] of cases) {
      const r = await edgeFetch(get(path, headers), now);
      const direct = await backend(path, headers);
      expect([name, r.response.status]).toEqual([name, status]);
      expect([name, r.response.status]).toEqual([name, direct.status]);
      expect([name, r.text]).toEqual([name, new TextDecoder().decode(direct.bytes)]);
      if (body !== null) expect([name, r.text]).toEqual([name, body]);
      if (status !== 200) expect(r.response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    }
  });

  it("an origin that does not serve s3_files: passthrough, the backend's own answer", async () => {
    const part = freshPart();
    await setFault(`s3_files:${part.objectUid}`, { kind: "unsupported" });
    try {
      const r = await edgeFetch(get(part.path, { ...(await partAuth()), range: "bytes=0-9" }), wallNow());
      expect(r.response.status).toBe(200); // the backend ignores Range
      expect(r.bytes).toEqual(devObjectSlice(part.objectUid, 0, part.size));
      expect(r.response.headers.get("cache-status")).toMatch(/fwd=bypass/);
    } finally {
      await clearFault(`s3_files:${part.objectUid}`);
    }
  });

  it("the origin failing the fill with a stale copy in R2: served stale; without one: passthrough", async () => {
    const part = freshPart();
    const auth = await partAuth();
    const now = wallNow();
    await edgeFetch(get(part.path, auth), now);
    const key = `s3_files:${part.objectUid}`;
    await setFault(key, { kind: "status", status: 500 });
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      const later = now + 900 + 10; // past the 900 s expiry, within stale-if-error
      const stale = await edgeFetch(get(part.path, { ...auth, range: "bytes=0-3" }), later);
      expect(stale.response.headers.get("cache-status")).toBe("oseh-edge; hit; detail=stale-if-error; fwd-status=502");
      expect(stale.bytes).toEqual(devObjectSlice(part.objectUid, 0, 4));
      const fresh2 = freshPart();
      const through = await edgeFetch(get(fresh2.path, auth), now);
      expect(through.response.status).toBe(200);
    } finally {
      errors.mockRestore();
      await clearFault(key);
    }
  });
});

describe("image exports", () => {
  const path = (tail: string) => `/api/1/image_files/image/oseh_ife_${tail}.jpeg`;

  it("whole image from every tier; Range is ignored, as the backend does", async () => {
    const p = path(fresh("i"));
    const auth = { authorization: `bearer ${await resourceToken("image", IMAGE_FILE, wallNow())}` };
    const direct = await backend(p, auth);
    for (const range of [undefined, "bytes=0-9", "bytes=0-", "bytes=-5"]) {
      const r = await edgeFetch(get(p, range === undefined ? auth : { ...auth, range }), wallNow());
      expect(r.response.status).toBe(200);
      expect(visible(r.response.headers)).toEqual(visible(direct.headers));
      expect(r.bytes).toEqual(direct.bytes);
    }
  });

  it("auth and 404 as the backend", async () => {
    const now = wallNow();
    const token = await resourceToken("image", IMAGE_FILE, now);
    const cases: Array<[string, Record<string, string>]> = [
      [path(fresh("a")), {}],
      [path(fresh("a")), { authorization: token }],
      [`${path(fresh("a"))}?jwt=${token}`, {}],
      [path(`missing${fresh("a")}`), { authorization: `bearer ${token}` }],
      [path(`Other${fresh("a")}`), { authorization: `bearer ${token}` }],
      [path(fresh("a")), { authorization: `bearer ${await resourceToken("content", IMAGE_FILE, now)}` }],
    ];
    for (const [p, headers] of cases) {
      const r = await edgeFetch(get(p, headers), now);
      const direct = await backend(p, headers);
      expect([p, r.response.status, r.text]).toEqual([p, direct.status, new TextDecoder().decode(direct.bytes)]);
      expect(r.response.headers.get("content-type")).toBe(direct.headers.get("content-type"));
    }
  });
});

describe("email images", () => {
  const path = (uid: string, ext = "png") => `/api/1/image_files/image/email/${uid}.${ext}`;

  it("no auth; found → the export's bytes; bad ext, unknown uid, vanished export → empty 404", async () => {
    for (const [p, status] of [
      [path(`oseh_eim_${fresh("e")}`), 200],
      [path(`oseh_eim_${fresh("e")}`, "gif"), 404],
      [path(`oseh_eim_missing${fresh("e")}`), 404],
      [path(`oseh_eim_Gone${fresh("e")}`), 404],
    ] as const) {
      const r = await edgeFetch(get(p), wallNow());
      const direct = await backend(p, {});
      expect([p, r.response.status]).toEqual([p, status]);
      expect(r.response.status).toBe(direct.status);
      expect(r.bytes).toEqual(direct.bytes);
      expect(r.response.headers.get("content-type")).toBe(direct.headers.get("content-type"));
    }
  });

  it("a stored `unknown` purge marker is a miss: the lookup is filled again", async () => {
    const uid = `oseh_eim_${fresh("u")}`;
    const now = wallNow();
    await seed({ [`email_images:${uid}:png`]: JSON.stringify({ type: "unknown", email_image_uid: uid, ext: "png" }) }, now);
    const r = await edgeFetch(get(path(uid)), now);
    expect(r.response.status).toBe(200);
    // Asked from the isolate (a made-up uid must cost the shield nothing), then filled and stored
    // through the shield, since the answer is a real one (docs/routes.md "Negatives").
    expect(await fillCount(`email_images:${uid}:png`)).toBe(2);
  });
});

describe("bad input", () => {
  it("paths the edge cannot judge go to the origin unchanged", async () => {
    const auth = await partAuth();
    for (const p of [
      "/api/1/content_files/exports/parts/oseh_cfep_a.b.mp4", // a dot in the uid
      "/api/1/content_files/exports/parts/oseh_cfep_abc", // no extension
      "/api/1/content_files/exports/parts/not_a_uid.mp4", // not an export part uid
      "/api/1/image_files/image/email/nope.png",
    ]) {
      const r = await edgeFetch(get(p, auth), wallNow());
      const direct = await backend(p, auth);
      expect([p, r.response.status, r.text]).toEqual([p, direct.status, new TextDecoder().decode(direct.bytes)]);
    }
  });
});

describe("purge", () => {
  it("an admin DELETE of an s3_files key, or a purge of the family, makes the next read a fill", async () => {
    const MEDIA = (env as { MEDIA: R2Bucket }).MEDIA;
    const admin = { authorization: `bearer ${await adminToken(wallNow())}` };
    const auth = await partAuth();
    for (const how of ["delete", "family", "prefix"] as const) {
      const part = freshPart("16KiB");
      const key = `s3_files:${part.objectUid}`;
      await edgeFetch(get(part.path, auth), wallNow());
      expect(await MEDIA.head(`pointers/${key}`)).not.toBeNull();
      const request =
        how === "delete"
          ? new Request(`${BASE}/_edge/v1/keys/${encodeURIComponent(key)}`, { method: "DELETE", headers: admin })
          : new Request(`${BASE}/_edge/v1/purge`, {
              method: "POST",
              headers: { ...admin, "content-type": "application/json" },
              body: JSON.stringify(how === "family" ? { family: "s3_files:{uid}" } : { prefix: key }),
            });
      let answer = await edgeFetch(request, wallNow());
      while (how !== "delete" && (JSON.parse(answer.text) as { cursor: string | null }).cursor !== null) {
        const cursor = (JSON.parse(answer.text) as { cursor: string }).cursor;
        answer = await edgeFetch(
          new Request(`${BASE}/_edge/v1/purge`, {
            method: "POST",
            headers: { ...admin, "content-type": "application/json" },
            body: JSON.stringify(how === "family" ? { family: "s3_files:{uid}", cursor } : { prefix: key, cursor }),
          }),
          wallNow(),
        );
      }
      expect([how, answer.response.status, answer.text]).toEqual([how, how === "delete" ? 204 : 200, answer.text]);
      expect([how, await MEDIA.head(`pointers/${key}`)]).toEqual([how, null]);
      const again = await edgeFetch(get(part.path, auth), wallNow());
      expect([how, again.response.headers.get("cache-status")]).toEqual([how, "oseh-edge; fwd=miss; stored"]);
    }
  });
});
