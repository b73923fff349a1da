/**
 * Storage faults (docs/reliability.md, "KV and Cache API"): wrappers around the REAL miniflare KV
 * namespace and Cache API (test/helpers/faults.ts) throw the way the platform does; requests are
 * still answered (another tier or the origin) and every failure is counted in /_edge/v1/stats.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import { buildStoredValue, createTieredStore } from "../../src/storage";
import { breakDefaultCache, faultyKv, type KvFaultPlan } from "../helpers/faults";
import { wrapShieldStorage } from "../helpers/shield-seams";
import { adminToken } from "../helpers/tokens";
import { fileIsolate, uniqueId } from "../helpers/worker";
import { createHarness, familyOf } from "../cache/helpers";
import { seed } from "../routes/edge";
import { gzip, resourceToken } from "../routes/helpers";
import { captureLogs, counter, edge, edgeStats, envWith, envWithoutShield, wallNow, type EdgeStats } from "./helpers";
import { createIsolate, type Isolate } from "../../src/isolate";

const PLAYLIST = "image_files:playlist:{uid}";
const ADMIN_BIT = "auth:is_admin:{sub}";

function growth(before: EdgeStats, after: EdgeStats, family: string, name: string): number {
  return counter(after, "storage", family, name) - counter(before, "storage", family, name);
}

async function playlist(uid: string, options: { env?: Record<string, unknown> } = {}): Promise<Response> {
  const now = wallNow();
  return edge(`/api/1/image_files/playlist/${uid}`, { headers: { authorization: `bearer ${await resourceToken("image", uid, now)}` } }, { now, ...options });
}

async function admin(path: string, init: RequestInit = {}, kv?: KVNamespace, isolate?: Isolate, topology: typeof envWith = envWith): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `bearer ${await adminToken(wallNow())}`);
  return edge(`/_edge/v1${path}`, { ...init, headers }, { ...(kv === undefined ? {} : { env: topology({ CACHE: kv }) }), ...(isolate === undefined ? {} : { isolate }) });
}

/** Runs `run` with every shield's KV faulty by `plan` too, as one broken namespace is in production. */
async function withShieldKv<T>(plan: KvFaultPlan, run: () => Promise<T>): Promise<T> {
  const restore = wrapShieldStorage({ kv: (real) => faultyKv(real, plan).kv });
  try {
    return await run();
  } finally {
    restore();
  }
}

const json = { "content-type": "application/json" };
const keyPath = (key: string) => `/keys/${encodeURIComponent(key)}`;
const adminKey = (label: string) => `auth:is_admin:${uniqueId(`oseh_u_${label}`)}`;

describe("KV throwing", () => {
  it("get throws (values and generations): the origin answers, readFailures counted", async () => {
    const uid = uniqueId("oseh_if_kvget");
    const { kv } = faultyKv(env.CACHE, { get: "all" });
    const before = await edgeStats();
    const { result: response } = await captureLogs(() => playlist(uid, { env: envWith({ CACHE: kv }) }));
    const after = await edgeStats();
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-status")).toBe("oseh-edge; fwd=miss; stored");
    expect(growth(before, after, PLAYLIST, "readFailures")).toBeGreaterThanOrEqual(1);
    // The fill was stored through the same KV (only its reads failed).
    expect(await env.CACHE.get(`image_files:playlist:${uid}`, "arrayBuffer")).not.toBeNull();
  });

  it("put throws at the Worker and its shield: the fill still answers, nothing half-stored", async () => {
    const uid = uniqueId("oseh_if_kvput");
    const { kv } = faultyKv(env.CACHE, { put: "error" });
    const { result: response } = await captureLogs(() => withShieldKv({ put: "error" }, () => playlist(uid, { env: envWith({ CACHE: kv }) })));
    expect(response.status).toBe(200);
    expect(await env.CACHE.get(`image_files:playlist:${uid}`)).toBeNull();
  });

  it("put throws without a shield: the fill still answers, nothing half-stored, writeFailures counted and logged", async () => {
    const uid = uniqueId("oseh_if_kvput");
    const { kv } = faultyKv(env.CACHE, { put: "error" });
    const before = await edgeStats();
    const { result: response, lines } = await captureLogs(() => playlist(uid, { env: envWithoutShield({ CACHE: kv }) }));
    const after = await edgeStats();
    expect(response.status).toBe(200);
    expect(growth(before, after, PLAYLIST, "writeFailures")).toBe(1);
    expect(lines.some((line) => line.startsWith('{"msg":"origin fill not stored"'))).toBe(true);
    expect(await env.CACHE.get(`image_files:playlist:${uid}`)).toBeNull();
  });

  it("put answering 429 past the retries: the fill still answers; retries429 and writeFailures counted", async () => {
    const key = `image_files:playlist:${uniqueId("oseh_if_kv429")}`;
    const { kv } = faultyKv(env.CACHE, { put: { rateLimited: 100 } });
    const config = parseConfig(env);
    // The real store over the wrapped KV, in the isolate whose /stats the test reads; only the
    // backoff's sleep is skipped.
    const h = createHarness({
      store: () =>
        createTieredStore({
          memory: fileIsolate.storage,
          kv,
          l1MaxAgeSeconds: config.l1MaxAgeSeconds,
          staleIfErrorSeconds: config.staleIfErrorSeconds,
          baseUrl: "https://edge.test",
          sleep: async () => undefined,
        }),
    });
    const before = await edgeStats();
    const { result, lines } = await captureLogs(async () => {
      const loaded = await h.read(key, familyOf(key), wallNow());
      await h.settle();
      return loaded;
    });
    const after = await edgeStats();
    expect(result).toMatchObject({ kind: "value", state: "miss" });
    expect(growth(before, after, PLAYLIST, "retries429")).toBe(3);
    expect(growth(before, after, PLAYLIST, "writeFailures")).toBe(1);
    expect(lines.some((line) => line.includes("rate_limited"))).toBe(true);
    expect(await env.CACHE.get(key)).toBeNull();
  });

  // With the shield (production) its KV is the one that throws; without, the Worker's store's,
  // which counts the failure in this isolate's /stats.
  it.each([
    { topology: "at the shield", env: envWith, shieldKv: true, counted: false },
    { topology: "without a shield", env: envWithoutShield, shieldKv: false, counted: true },
  ])("delete throws $topology: DELETE answers 503 storage_error and keeps the value for a retry (deleteFailures counted: $counted)", async ({ env: topology, shieldKv, counted }) => {
    const key = adminKey("kvdel");
    expect((await admin(keyPath(key), { method: "PUT", body: "1" })).status).toBe(204);
    const { kv } = faultyKv(env.CACHE, { delete: "error" });
    const before = await edgeStats();
    const remove = () => admin(keyPath(key), { method: "DELETE" }, kv, undefined, topology);
    const refused = await (shieldKv ? withShieldKv({ delete: "error" }, remove) : remove());
    const after = await edgeStats();
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { type: string }).type).toBe("storage_error");
    if (counted) expect(growth(before, after, ADMIN_BIT, "deleteFailures")).toBe(1);
    expect(await env.CACHE.get(key)).toBe("1");
    expect((await admin(keyPath(key), { method: "DELETE" })).status).toBe(204);
    expect(await env.CACHE.get(key)).toBeNull();
  });

  it("get throws on the admin API: L0 or L1 answers if it can, else 503 storage_error (not a 404 that says the value is gone)", async () => {
    const key = adminKey("kvget");
    expect((await admin(keyPath(key), { method: "PUT", body: "1" })).status).toBe(204);
    const { kv } = faultyKv(env.CACHE, { get: "values" });
    expect((await admin(keyPath(key), {}, kv)).status).toBe(200);
    // Another isolate (its L0 never held the value), with the colo's L1 broken too.
    const broken = breakDefaultCache({ match: true });
    let response: Response;
    try {
      response = await admin(keyPath(key), {}, kv, createIsolate());
    } finally {
      broken.restore();
    }
    expect(response.status).toBe(503);
    expect(((await response.json()) as { type: string }).type).toBe("storage_error");
  });

  it("list throws: list and purge answer 503 storage_error (list was an unhandled 500); listFailures counted", async () => {
    const { kv } = faultyKv(env.CACHE, { list: "error" });
    const before = await edgeStats();
    const listed = await admin("/keys?prefix=auth:is_admin:", {}, kv);
    const purged = await admin("/purge", { method: "POST", headers: json, body: JSON.stringify({ prefix: "auth:is_admin:oseh_u_none" }) }, kv);
    const after = await edgeStats();
    expect([listed.status, purged.status]).toEqual([503, 503]);
    expect(((await listed.json()) as { type: string }).type).toBe("storage_error");
    expect(((await purged.json()) as { type: string }).type).toBe("storage_error");
    expect(growth(before, after, "(unknown)", "listFailures")).toBe(2);
  });
});

describe("KV list pages that come back empty before list_complete", () => {
  async function seedAdminBits(label: string, count: number): Promise<{ prefix: string; keys: string[] }> {
    const prefix = `auth:is_admin:${uniqueId(`oseh_u_${label}`)}`;
    const keys = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
    const now = wallNow();
    await seed(Object.fromEntries(keys.map((key) => [key, "1"])), now);
    return { prefix, keys };
  }

  it("a client paging the list follows the cursor through empty pages and sees every key", async () => {
    const { prefix, keys } = await seedAdminBits("empty", 5);
    const { kv } = faultyKv(env.CACHE, { list: { emptyPages: 3 } });
    const seen: string[] = [];
    let cursor: string | null = "";
    for (let page = 0; cursor !== null && page < 20; page++) {
      const response = await admin(`/keys?prefix=${encodeURIComponent(prefix)}&limit=2${cursor === "" ? "" : `&cursor=${encodeURIComponent(cursor)}`}`, {}, kv);
      const body = (await response.json()) as { keys: { name: string }[]; cursor: string | null };
      seen.push(...body.keys.map((k) => k.name));
      cursor = body.cursor;
    }
    expect(cursor).toBeNull();
    expect(seen.sort()).toEqual([...keys].sort());
  });

  it("a paged purge keeps going through empty pages (purged 0, cursor set) and loses nothing", async () => {
    const { prefix, keys } = await seedAdminBits("emptyp", 5);
    const { kv } = faultyKv(env.CACHE, { list: { emptyPages: 2 } });
    const counts: number[] = [];
    let cursor: string | null = null;
    for (let call = 0; call < 20; call++) {
      const response = await admin("/purge", { method: "POST", headers: json, body: JSON.stringify({ prefix, ...(cursor === null ? {} : { cursor }) }) }, kv);
      const body = (await response.json()) as { purged: number; cursor: string | null };
      counts.push(body.purged);
      cursor = body.cursor;
      if (cursor === null) break;
    }
    expect(counts.slice(0, 2)).toEqual([0, 0]);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(keys.length);
    for (const key of keys) expect(await env.CACHE.get(key)).toBeNull();
  });
});

describe("a paged purge interrupted half-way", () => {
  it("resumes with its cursor: every key of the prefix is gone, nothing else is touched", async () => {
    const prefix = `auth:is_admin:${uniqueId("oseh_u_pp")}`;
    const keys = Array.from({ length: 7 }, (_, i) => `${prefix}${i}`);
    const neighbour = `auth:is_admin:${uniqueId("oseh_u_np")}`;
    const now = wallNow();
    await seed(Object.fromEntries([...keys, neighbour].map((key) => [key, "1"])), now);
    const config = parseConfig(env);
    const storeOver = (kv: KVNamespace) =>
      createTieredStore({
        memory: createIsolate().storage, kv,
        l1MaxAgeSeconds: config.l1MaxAgeSeconds,
        staleIfErrorSeconds: config.staleIfErrorSeconds,
        baseUrl: "https://edge.test",
        sleep: async () => undefined,
        purgePageSize: 3,
      });

    const first = await storeOver(env.CACHE).purge({ prefix }, now);
    expect(first.purged).toBe(3);
    expect(first.cursor).not.toBeNull();
    // The second page dies after one delete (the invocation ends, KV fails …).
    const interrupted = storeOver(faultyKv(env.CACHE, { delete: { afterCalls: 1 } }).kv);
    await expect(interrupted.purge({ prefix, cursor: first.cursor ?? "" }, now)).rejects.toThrow(/KV DELETE failed/);
    // The caller repeats the same call, then follows the cursor to the end.
    let cursor: string | null = first.cursor;
    let purged = first.purged;
    while (cursor !== null) {
      const page = await storeOver(env.CACHE).purge({ prefix, cursor }, now);
      purged += page.purged;
      cursor = page.cursor;
    }
    for (const key of keys) expect(await env.CACHE.get(key)).toBeNull();
    expect(await env.CACHE.get(neighbour)).toBe("1");
    // The interrupted page's keys are purged (again) on the retry: counted once per delete made.
    expect(purged).toBe(keys.length);
  });

  it("through the admin API: a purge refused half-way (503) is repeated with the same body and finishes", async () => {
    const prefix = `auth:is_admin:${uniqueId("oseh_u_pa")}`;
    const keys = Array.from({ length: 4 }, (_, i) => `${prefix}${i}`);
    await seed(Object.fromEntries(keys.map((key) => [key, "1"])), wallNow());
    const body = JSON.stringify({ prefix });
    const refused = await admin("/purge", { method: "POST", headers: json, body }, faultyKv(env.CACHE, { delete: { afterCalls: 2 } }).kv);
    expect(refused.status).toBe(503);
    const remaining = (await Promise.all(keys.map((key) => env.CACHE.get(key)))).filter((v) => v !== null).length;
    expect(remaining).toBeGreaterThan(0);
    const done = await admin("/purge", { method: "POST", headers: json, body });
    expect(done.status).toBe(200);
    expect(((await done.json()) as { cursor: string | null }).cursor).toBeNull();
    for (const key of keys) expect(await env.CACHE.get(key)).toBeNull();
  });
});

describe("Cache API throwing", () => {
  it("match, put and delete all throw: answered from KV, l1Failures counted", async () => {
    const uid = uniqueId("oseh_if_l1");
    const key = `image_files:playlist:${uid}`;
    const now = wallNow();
    const bytes = await gzip('{"items":{}}');
    await env.CACHE.put(key, bytes, { metadata: (await buildStoredValue(bytes, { family: PLAYLIST, codec: "gzip-json", expiresAt: now + 600 }, now)).envelope });
    const broken = breakDefaultCache({ match: true, put: true, delete: true });
    const before = await edgeStats();
    let response: Response;
    try {
      response = await playlist(uid);
    } finally {
      broken.restore();
    }
    const after = await edgeStats();
    expect(response.status).toBe(200);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes);
    expect(response.headers.get("cache-status")).toBe("oseh-edge; hit; detail=l2");
    // The failed L1 read, and the failed back-fill.
    expect(growth(before, after, PLAYLIST, "l1Failures")).toBe(2);
    expect(broken.calls.get("match")).toBeGreaterThanOrEqual(1);
  });
});
