/**
 * The admin API (docs/design.md §8) through the Worker's own fetch, on miniflare's real KV and Cache API.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { FAMILIES, getFamily } from "../../src/keys";
import type { CodecName, FamilyEntry } from "../../src/keys/types";
import { callWorker, uniqueId } from "../helpers/worker";
import { adminToken, signToken, TEST_SECRETS, unsignedToken } from "../helpers/tokens";
import { base64ToBytes, loadBlocksVectors } from "../helpers/vectors";
import { rateLimitedKv } from "../storage/helpers";

const NOW = 1_700_000_000;
const EDGE = "http://edge.test";
let ADMIN = "";

beforeAll(async () => {
  ADMIN = await adminToken(NOW);
});

function api(path: string, init: RequestInit = {}, now = NOW): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization")) headers.set("authorization", `bearer ${ADMIN}`);
  return callWorker(`${EDGE}/_edge/v1${path}`, { ...init, headers }, { now });
}

function keyPath(key: string): string {
  return `/keys/${encodeURIComponent(key)}`;
}

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function u64Prefixed(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(body.byteLength));
  out.set(body, 8);
  return out;
}

/** A key of `family` whose params are unique to this test run. */
function exampleKey(family: FamilyEntry): string {
  const id = uniqueId("k");
  let key = family.name;
  for (const param of family.params) {
    let value: string;
    switch (param.kind) {
      case "uid":
        value = `oseh_${param.uidPrefix ?? "x"}_${id}`;
        break;
      case "unix-date":
        value = String(19_000 + (Math.floor(Math.random() * 900) | 0));
        break;
      case "int":
        value = String(2 * (1 + Math.floor(Math.random() * 1000)));
        break;
      case "filters":
        value = "w=,h=,pr=,bmin=90000,bmax=";
        break;
      case "iso-date":
        value = "2024-01-01";
        break;
      case "enum":
      case "bool-py":
        value = param.values?.[0] ?? "x";
        break;
      default:
        value = id;
    }
    key = key.replace(`{${param.name}}`, value);
  }
  return key;
}

/** `bad: null`: the codec accepts every byte string (raw S3 objects). */
type Sample = { good: () => Promise<Uint8Array>; bad: (() => Promise<Uint8Array>) | null };
const text = (s: string) => new TextEncoder().encode(s);

const SAMPLES: Record<CodecName, Sample> = {
  json: { good: async () => text('{"a":1}'), bad: async () => text("{not json") },
  "gzip-json": { good: () => gzip('{"labels":[],"values":[]}'), bad: async () => text('{"labels":[]}') },
  blocks: {
    good: async () => base64ToBytes(loadBlocksVectors().vectors.find((v) => v.id === "journey-full").cached_bytes_b64),
    bad: async () => new Uint8Array([0, 0, 0, 9, 1, 65]),
  },
  "u64-json": {
    good: async () => u64Prefixed(text('{"uid":"oseh_t_x","phrases":[]}')),
    bad: async () => {
      const v = u64Prefixed(text("{}"));
      v[7] = 9; // length prefix no longer matches
      return v;
    },
  },
  "u64-gzip-json": {
    good: async () => u64Prefixed(await gzip('{"top_sharers":[],"checked_at":1.0}')),
    bad: async () => text("plain"),
  },
  flag: { good: async () => text("1"), bad: async () => text("2") },
  text: { good: async () => text("#EXTM3U\n"), bad: async () => new Uint8Array([0xff, 0xfe, 0xfd]) },
  float: { good: async () => text("1700000000.5"), bad: async () => text("soon") },
  bytes32: { good: async () => crypto.getRandomValues(new Uint8Array(32)), bad: async () => new Uint8Array(31) },
  bytes: { good: async () => crypto.getRandomValues(new Uint8Array(300)), bad: null },
};

/** One family per codec, preferring plainly keyed ones. */
function familyFor(codec: CodecName): FamilyEntry | undefined {
  const candidates = FAMILIES.filter((f) => f.codec.name === codec && f.expiry.kind !== "la-midnight");
  return candidates[0] ?? FAMILIES.find((f) => f.codec.name === codec);
}

describe("health and routing", () => {
  it("answers health without auth", async () => {
    const res = await callWorker(`${EDGE}/_edge/v1/health`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"ok":true}');
  });

  it("answers 405 with Allow for a wrong method, 404 for an unknown admin route", async () => {
    const wrong = await api("/families", { method: "POST" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET");
    expect(await wrong.json()).toMatchObject({ type: "method_not_allowed" });
    const missing = await api("/nope");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: "not_found" });
  });

  it("never forwards the rest of /_edge/ to the origin", async () => {
    const res = await callWorker(`${EDGE}/_edge/l1/anything`);
    expect(res.status).toBe(404);
  });
});

describe("admin auth", () => {
  const cases: [string, () => Promise<string | null>, number, string, RegExp][] = [
    ["missing header", async () => null, 401, "not_set", /^authorization header not set$/],
    ["another scheme", async () => `Basic ${ADMIN}`, 401, "bad_format", /Bearer <token>/],
    ["no scheme", async () => ADMIN, 401, "bad_format", /Bearer <token>/],
    ["wrong aud", async () => `bearer ${await adminToken(NOW, { aud: "oseh-origin" })}`, 403, "invalid", /wrong audience/],
    ["wrong iss", async () => `bearer ${await adminToken(NOW, { iss: "someone" })}`, 403, "invalid", /wrong issuer/],
    ["expired (exp == now)", async () => `bearer ${await adminToken(NOW, { exp: NOW })}`, 403, "invalid", /expired/],
    ["expired long ago", async () => `bearer ${await adminToken(NOW, { exp: NOW - 3600 })}`, 403, "invalid", /expired/],
    ["exp missing", async () => `bearer ${await adminToken(NOW, { exp: undefined })}`, 403, "invalid", /exp missing/],
    ["exp 1e20 (lifetime too long)", async () => `bearer ${await adminToken(NOW, { exp: 1e20 })}`, 403, "invalid", /lifetime too long/],
    ["exp one second past ADMIN_TOKEN_MAX_SECONDS", async () => `bearer ${await adminToken(NOW, { exp: NOW + 3601 })}`, 403, "invalid", /lifetime too long \(exp more than 3600 s ahead\)/],
    ["alg none", async () => `bearer ${unsignedToken({ iss: "oseh", aud: "oseh-edge-admin", exp: NOW + 600 })}`, 403, "invalid", /algorithm not allowed|malformed/],
    [
      "HS512",
      async () => `bearer ${await signToken({ secret: TEST_SECRETS.edgeAdmin, alg: "HS512", claims: { iss: "oseh", aud: "oseh-edge-admin", exp: NOW + 600 } })}`,
      403,
      "invalid",
      /algorithm not allowed/,
    ],
    [
      "wrong secret",
      async () => `bearer ${await signToken({ secret: TEST_SECRETS.edgeOrigin, claims: { iss: "oseh", aud: "oseh-edge-admin", exp: NOW + 600 } })}`,
      403,
      "invalid",
      /bad signature/,
    ],
    ["garbage", async () => "bearer not.a.jwt", 403, "invalid", /malformed/],
  ];

  it.each(cases)("%s → %d %s, the message says why", async (_name, header, status, type, message) => {
    const value = await header();
    const headers = new Headers();
    if (value !== null) headers.set("authorization", value);
    const res = await callWorker(`${EDGE}/_edge/v1/families`, { headers }, { now: NOW });
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const body = (await res.json()) as { type: string; message: string };
    expect(body.type).toBe(type);
    expect(body.message).toMatch(message);
    expect(Object.keys(body).sort()).toEqual(["message", "type"]);
  });

  it.each(["Bearer", "BEARER", "bearer", "bEaReR"])("accepts the %s scheme (any case, RFC 9110 §11.1)", async (scheme) => {
    const res = await callWorker(`${EDGE}/_edge/v1/families`, { headers: { authorization: `${scheme} ${ADMIN}` } }, { now: NOW });
    expect(res.status).toBe(200);
  });

  it("accepts exp exactly ADMIN_TOKEN_MAX_SECONDS ahead, and honours a configured maximum", async () => {
    const token = await adminToken(NOW, { exp: NOW + 3600 });
    expect((await callWorker(`${EDGE}/_edge/v1/families`, { headers: { authorization: `Bearer ${token}` } }, { now: NOW })).status).toBe(200);
    const strict = { ...(env as unknown as Record<string, unknown>), ADMIN_TOKEN_MAX_SECONDS: "60" };
    const refused = await callWorker(`${EDGE}/_edge/v1/families`, { headers: { authorization: `Bearer ${token}` } }, { now: NOW, env: strict });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toMatch(/more than 60 s ahead/);
  });

  it("during a rotation accepts tokens signed with EDGE_ADMIN_JWT_SECRET_PREVIOUS, and only then", async () => {
    const old = await signToken({ secret: "old-admin-secret", claims: { sub: "ops", iss: "oseh", aud: "oseh-edge-admin", iat: NOW - 1, exp: NOW + 600 } });
    const rotating = { ...(env as unknown as Record<string, unknown>), EDGE_ADMIN_JWT_SECRET_PREVIOUS: "old-admin-secret" };
    expect((await callWorker(`${EDGE}/_edge/v1/families`, { headers: { authorization: `bearer ${old}` } }, { now: NOW, env: rotating })).status).toBe(200);
    expect((await callWorker(`${EDGE}/_edge/v1/families`, { headers: { authorization: `bearer ${ADMIN}` } }, { now: NOW, env: rotating })).status).toBe(200);
    const after = await callWorker(`${EDGE}/_edge/v1/families`, { headers: { authorization: `bearer ${old}` } }, { now: NOW });
    expect(after.status).toBe(403);
    // A previous secret never widens anything else: a long-lived token signed with it is still refused.
    const longOld = await signToken({ secret: "old-admin-secret", claims: { iss: "oseh", aud: "oseh-edge-admin", exp: 1e20 } });
    expect((await callWorker(`${EDGE}/_edge/v1/families`, { headers: { authorization: `bearer ${longOld}` } }, { now: NOW, env: rotating })).status).toBe(403);
  });

  it("refuses a PUT with a bad token and stores nothing", async () => {
    const key = exampleKey(getFamily("auth:is_admin:{sub}")!);
    const res = await api(keyPath(key), { method: "PUT", body: "1", headers: { authorization: "bearer nope" } });
    expect(res.status).toBe(403);
    expect(await env.CACHE.get(key)).toBeNull();
  });
});

describe("families", () => {
  it("lists all 63 families with name, codec, expiry, sensitivity, route", async () => {
    const res = await api("/families");
    expect(res.status).toBe(200);
    const list = (await res.json()) as Record<string, unknown>[];
    expect(list).toHaveLength(63);
    for (const entry of list) {
      expect(Object.keys(entry).sort()).toEqual(["codec", "expiry", "name", "route", "sensitivity"]);
    }
    expect(new Set(list.map((e) => e.name)).size).toBe(63);
  });
});

describe("PUT / GET / DELETE round trip for every codec", () => {
  const codecs = Object.keys(SAMPLES) as CodecName[];

  it.each(codecs)("%s", async (codec) => {
    const family = familyFor(codec);
    if (family === undefined) return; // the registry does not use this codec
    const key = exampleKey(family);
    const value = await SAMPLES[codec].good();

    const put = await api(keyPath(key), { method: "PUT", body: value });
    expect(put.status, await put.clone().text()).toBe(204);

    const got = await api(keyPath(key));
    if (family.sensitivity === "secret") {
      expect(got.status).toBe(403);
      expect(await got.json()).toMatchObject({ type: "forbidden" });
    } else {
      expect(got.status).toBe(200);
      expect(new Uint8Array(await got.arrayBuffer())).toEqual(value);
      expect(got.headers.get("x-edge-family")).toBe(family.name);
      expect(Number(got.headers.get("x-edge-stored-at"))).toBe(NOW);
      expect(Number(got.headers.get("x-edge-expires-at"))).toBeGreaterThan(NOW);
    }

    expect((await api(keyPath(key), { method: "DELETE" })).status).toBe(204);
    expect((await api(keyPath(key), { method: "DELETE" })).status).toBe(204); // idempotent
    expect((await api(keyPath(key))).status).toBe(family.sensitivity === "secret" ? 403 : 404);
    expect(await env.CACHE.get(key)).toBeNull();
  });

  it.each(codecs)("%s: a value failing its codec is 422 and nothing is stored", async (codec) => {
    const family = familyFor(codec);
    const bad = SAMPLES[codec].bad;
    if (family === undefined || bad === null) return;
    const key = exampleKey(family);
    const res = await api(keyPath(key), { method: "PUT", body: await bad() });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ type: "invalid_value" });
    expect(await env.CACHE.get(key)).toBeNull();
  });
});

describe("templates", () => {
  it.each([
    // type 3 marker whose value is uid bytes but not an `oseh_` uid: passes the blocks codec
    ["journeys:external:{uid}", Uint8Array.of(0, 0, 0, 1, 1, 0x7b, 0, 0, 0, 3, 3, 0x61, 0x62, 0x63)],
    // a journey marker (type 4) in a prompt template
    ["interactive_prompts:external:{uid}", Uint8Array.of(0, 0, 0, 1, 1, 0x7b, 0, 0, 0, 6, 4, 0x6f, 0x73, 0x65, 0x68, 0x5f, 0x61)],
  ])("%s: a value that passes the codec but does not render is 422, nothing stored", async (name, bytes) => {
    const family = getFamily(name)!;
    expect(family.codec.validate(bytes)).toEqual({ ok: true });
    const key = exampleKey(family);
    const res = await api(keyPath(key), { method: "PUT", body: bytes });
    expect(res.status, await res.clone().text()).toBe(422);
    expect(await res.json()).toMatchObject({ type: "invalid_value" });
    expect(await env.CACHE.get(key)).toBeNull();
  });
});

describe("bad keys", () => {
  it.each([
    ["unknown family", "no_such_family:1", 400, "unknown_family"],
    ["reserved prefix", "_edge:gen:x", 400, "unknown_family"],
    ["malformed params", "auth:is_admin:", 400, "bad_key"],
    ["extra segment", "journeys:external:oseh_j_abc:extra", 400, "bad_key"],
    ["over 512 bytes", `auth:is_admin:${"a".repeat(600)}`, 400, "bad_key"],
  ])("%s → %d %s, nothing stored", async (_name, key, status, type) => {
    const res = await api(keyPath(key), { method: "PUT", body: "1" });
    expect(res.status, await res.clone().text()).toBe(status);
    expect(await res.json()).toMatchObject({ type });
    // KV itself refuses to look up keys over 512 bytes, which is the point.
    if (new TextEncoder().encode(key).byteLength <= 512) expect(await env.CACHE.get(key)).toBeNull();
  });

  it("refuses malformed percent-encoding", async () => {
    const res = await api("/keys/auth%3Ais_admin%3A%E0%A4%A", { method: "PUT", body: "1" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: "bad_key" });
  });
});

describe("limits and headers", () => {
  it("refuses a value over 25 MiB with 413 and stores nothing", async () => {
    const family = familyFor("bytes") ?? familyFor("text")!;
    const key = exampleKey(family);
    const res = await api(keyPath(key), { method: "PUT", body: new Uint8Array(26_214_401) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ type: "too_large" });
    expect(await env.CACHE.get(key)).toBeNull();
  });

  it("refuses a malformed X-Edge-Expires-At", async () => {
    const key = exampleKey(getFamily("auth:is_admin:{sub}")!);
    const res = await api(keyPath(key), { method: "PUT", body: "1", headers: { "x-edge-expires-at": "tomorrow" } });
    expect(res.status).toBe(400);
    expect(await env.CACHE.get(key)).toBeNull();
  });

  it("stores under a fractional clock (the platform's) with whole-second envelopes", async () => {
    const key = exampleKey(getFamily("auth:is_admin:{sub}")!);
    const put = await api(keyPath(key), { method: "PUT", body: "1" }, NOW + 0.75);
    expect(put.status, await put.clone().text()).toBe(204);
    const got = await api(keyPath(key), {}, NOW + 0.75);
    expect(got.status).toBe(200);
    expect(got.headers.get("x-edge-stored-at")).toBe(String(NOW));
  });

  it("takes a fractional X-Edge-Expires-At rounded down to whole seconds (was a 503)", async () => {
    for (const [key, body] of [
      [exampleKey(getFamily("auth:is_admin:{sub}")!), "1"],
      ["interactive_prompts:special:notification-time:info", '{"uid":"oseh_ip_x","version":1}'],
    ] as const) {
      const put = await api(keyPath(key), { method: "PUT", body, headers: { "x-edge-expires-at": `${NOW + 100}.75` } });
      expect(put.status, await put.clone().text()).toBe(204);
      const got = await api(keyPath(key));
      expect(got.headers.get("x-edge-expires-at")).toBe(String(NOW + 100));
    }
    // Rounded down to now: not after now, so refused, and nothing stored.
    const key = exampleKey(getFamily("auth:is_admin:{sub}")!);
    const late = await api(keyPath(key), { method: "PUT", body: "1", headers: { "x-edge-expires-at": `${NOW}.5` } });
    expect(late.status).toBe(400);
    expect(await env.CACHE.get(key)).toBeNull();
  });

  it("expires values by the injected clock", async () => {
    const family = getFamily("auth:is_admin:{sub}")!;
    const key = exampleKey(family);
    expect((await api(keyPath(key), { method: "PUT", body: "0" })).status).toBe(204);
    const later = (at: number) =>
      adminToken(at).then((token) => api(keyPath(key), { headers: { authorization: `bearer ${token}` } }, at));
    expect((await later(NOW + 899)).status).toBe(200);
    expect((await later(NOW + 901)).status).toBe(404);
  });
});

describe("list and purge", () => {
  async function seed(count: number, prefixSub: string): Promise<string[]> {
    const keys: string[] = [];
    for (let i = 0; i < count; i++) {
      const key = `auth:is_admin:oseh_u_${prefixSub}${i.toString().padStart(3, "0")}`;
      expect((await api(keyPath(key), { method: "PUT", body: "1" })).status).toBe(204);
      keys.push(key);
    }
    return keys;
  }

  it("lists by prefix with a cursor", async () => {
    const sub = uniqueId("l");
    const keys = await seed(5, sub);
    const first = (await (await api(`/keys?prefix=${encodeURIComponent(`auth:is_admin:oseh_u_${sub}`)}&limit=3`)).json()) as {
      keys: { name: string; expiresAt: number }[];
      cursor: string | null;
    };
    expect(first.keys.map((k) => k.name)).toEqual(keys.slice(0, 3));
    expect(first.cursor).not.toBeNull();
    const second = (await (
      await api(`/keys?prefix=${encodeURIComponent(`auth:is_admin:oseh_u_${sub}`)}&limit=3&cursor=${encodeURIComponent(first.cursor!)}`)
    ).json()) as { keys: { name: string }[]; cursor: string | null };
    expect(second.keys.map((k) => k.name)).toEqual(keys.slice(3));
    expect(second.cursor).toBeNull();
  });

  it("refuses a bad limit", async () => {
    expect((await api("/keys?limit=0")).status).toBe(400);
    expect((await api("/keys?limit=5000")).status).toBe(400);
  });

  it("purges by keys and reports the propagation bound", async () => {
    const keys = await seed(3, uniqueId("p"));
    const res = await api("/purge", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ keys: keys.slice(0, 2) }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { purged: number; cursor: string | null; visibleWithinSeconds: number };
    expect(body.purged).toBe(2);
    expect(body.cursor).toBeNull();
    expect(body.visibleWithinSeconds).toBeGreaterThanOrEqual(30);
    expect((await api(keyPath(keys[0]!))).status).toBe(404);
    expect((await api(keyPath(keys[2]!))).status).toBe(200);
  });

  it("purges by prefix", async () => {
    const sub = uniqueId("q");
    const keys = await seed(4, sub);
    const res = await api("/purge", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prefix: `auth:is_admin:oseh_u_${sub}` }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { purged: number }).purged).toBe(4);
    for (const key of keys) expect(await env.CACHE.get(key)).toBeNull();
  });

  it("purges a family without touching a family that shares its literal prefix", async () => {
    const plain = "daily_journey_share_links:19700:19790";
    const unique = "daily_journey_share_links:unique_views:19700:19790";
    const value = await gzip('{"labels":[]}');
    expect((await api(keyPath(plain), { method: "PUT", body: value })).status).toBe(204);
    expect((await api(keyPath(unique), { method: "PUT", body: value })).status).toBe(204);
    let cursor: string | null = null;
    do {
      const res: Response = await api("/purge", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ family: "daily_journey_share_links:{start}:{end}", ...(cursor ? { cursor } : {}) }),
      });
      expect(res.status).toBe(200);
      cursor = ((await res.json()) as { cursor: string | null }).cursor;
    } while (cursor !== null);
    expect(await env.CACHE.get(plain)).toBeNull();
    expect(await env.CACHE.get(unique)).not.toBeNull();
  });

  it.each([
    ["not JSON", "application/json", "{", 400],
    ["wrong content type", "text/plain", '{"keys":["auth:is_admin:oseh_u_x"]}', 415],
    ["two selectors", "application/json", '{"keys":["auth:is_admin:oseh_u_x"],"prefix":"a"}', 400],
    ["no selector", "application/json", "{}", 400],
    ["empty keys", "application/json", '{"keys":[]}', 400],
    ["unknown family", "application/json", '{"family":"nope:{x}"}', 400],
    ["empty prefix", "application/json", '{"prefix":""}', 400],
    ["reserved prefix", "application/json", '{"prefix":"_edge:gen"}', 400],
    ["array body", "application/json", "[]", 400],
  ])("refuses %s", async (_name, type, body, status) => {
    const res = await api("/purge", { method: "POST", headers: { "content-type": type }, body });
    expect(res.status).toBe(status);
    const json = (await res.json()) as { type: string; message: string };
    expect(typeof json.type).toBe("string");
    expect(typeof json.message).toBe("string");
  });

  it("purges nothing when one of the keys is bad", async () => {
    const [key] = await seed(1, uniqueId("b"));
    const res = await api("/purge", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ keys: [key, "not a key"] }),
    });
    expect(res.status).toBe(400);
    expect(await env.CACHE.get(key!)).not.toBeNull();
  });
});

describe("stats", () => {
  it("counts writes per family (per isolate)", async () => {
    const family = getFamily("auth:is_admin:{sub}")!;
    const key = exampleKey(family);
    expect((await api(keyPath(key), { method: "PUT", body: "1" })).status).toBe(204);
    const res = await api("/stats");
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      families: Record<string, { writes: number }>;
    };
    expect(body.families[family.name]?.writes).toBeGreaterThanOrEqual(1);
    // The KV write itself is the family's shield's (its own isolate, its own counters).
  });
});

describe("storage refusing deletes", () => {
  /** The admin API over a KV that answers every delete with KV's 429 (retries do not wait). */
  async function apiOverRefusingKv(): Promise<(path: string, init?: RequestInit) => Promise<Response>> {
    const { createAdminApi } = await import("../../src/admin/api");
    const { parseConfig } = await import("../../src/config");
    const { createStats } = await import("../../src/stats");
    const { createTieredStore } = await import("../../src/storage");
    const { createIsolate } = await import("../../src/isolate");
    const { kv } = rateLimitedKv(env.CACHE, Number.POSITIVE_INFINITY);
    const config = parseConfig(env);
    const isolate = createIsolate();
    const store = createTieredStore({
      memory: isolate.storage, kv,
      l1MaxAgeSeconds: config.l1MaxAgeSeconds,
      staleIfErrorSeconds: config.staleIfErrorSeconds,
      baseUrl: EDGE,
      sleep: async () => undefined,
    });
    const { createDirectWriter } = await import("../../src/cache/writer");
    const admin = createAdminApi({ config });
    const edge = { store, writer: createDirectWriter(store), media: undefined, guard: isolate.fillGuard, shield: undefined };
    return (path, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set("authorization", `bearer ${ADMIN}`);
      return admin(new Request(`${EDGE}/_edge/v1${path}`, { ...init, headers }), { edge, stats: createStats(NOW, isolate.id), now: () => NOW, waitUntil: () => undefined });
    };
  }

  it("DELETE and purge answer 503 storage_error (was an unhandled 500)", async () => {
    const call = await apiOverRefusingKv();
    const key = exampleKey(getFamily("auth:is_admin:{sub}")!);
    expect((await api(keyPath(key), { method: "PUT", body: "1" })).status).toBe(204);

    const deleted = await call(keyPath(key), { method: "DELETE" });
    expect(deleted.status).toBe(503);
    expect(await deleted.json()).toMatchObject({ type: "storage_error" });

    const purged = await call("/purge", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ keys: [key] }) });
    expect(purged.status).toBe(503);
    expect(await purged.json()).toMatchObject({ type: "storage_error" });
    // Nothing was lost: the value is still there for a retry to delete.
    expect(await env.CACHE.get(key)).toBe("1");
  });
});
