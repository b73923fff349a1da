import { beforeAll, describe, expect, it } from "vitest";
import { createCacheApiTier } from "../../src/storage/cache-api-tier";
import { generationKey } from "../../src/storage/generations";
import { createKvTier } from "../../src/storage/kv-tier";
import { createL0Memory } from "../../src/storage/l0-tier";
import { createCounters } from "../../src/stats";
import { createTieredStore, type StoreMemory, type TieredStore, type TieredStoreOptions } from "../../src/storage/tiered";
import { singleFlight, type InFlight } from "../../src/storage/single-flight";

const noWait = (): void => undefined;
import {
  BASE_URL,
  collectingWaitUntil,
  countingKv,
  KV,
  NOW,
  noSleep,
  rateLimitedKv,
  recordingSleep,
  uniquePrefix,
  valueOf,
} from "./helpers";
import { type ContractSubject, describeTierContract } from "./tier-contract";
import { KV_ERRORS, wrapBinding } from "../helpers/faults";

const L1_MAX_AGE = 30;
const STALE_IF_ERROR = 300;

/** Test keys are `<family>|<id>`; the real wiring resolves families through the key registry. */
const familyOf = (key: string): string | undefined => {
  const bar = key.lastIndexOf("|");
  return bar === -1 ? undefined : key.slice(0, bar);
};

let cache: Cache;
beforeAll(async () => {
  cache = await caches.open("oseh-edge-test");
});

/** One simulated isolate's store memory; parts given are used, the rest made fresh. */
function storeMemory(parts: Partial<StoreMemory> = {}): StoreMemory {
  return { l0: createL0Memory(), generations: new Map(), removedHere: { prefixes: new Map(), keys: new Map() }, counters: createCounters(), ...parts };
}

/** The store's reads lend it `waitUntil`, as a request's reads do (its L1 back-fills). */
type BoundStore = Omit<TieredStore, "read"> & { read(key: string, now: number): ReturnType<TieredStore["read"]> };

function bound(store: TieredStore, waitUntil: (promise: Promise<unknown>) => void): BoundStore {
  return { ...store, read: (key, now) => store.read(key, now, waitUntil) };
}

function makeStore(overrides: Partial<TieredStoreOptions> = {}) {
  const background = collectingWaitUntil();
  const counters = createCounters();
  const memory = overrides.memory ?? storeMemory({ counters });
  const store = createTieredStore({
    kv: KV,
    cache,
    l1MaxAgeSeconds: L1_MAX_AGE,
    staleIfErrorSeconds: STALE_IF_ERROR,
    baseUrl: BASE_URL,
    sleep: noSleep,
    familyOf,
    memory,
    ...overrides,
  });
  return { store: bound(store, background.waitUntil), background, counters };
}

function storeSubject(store: BoundStore): ContractSubject {
  return {
    afterExpiry: "stale",
    async put(key, value, now) {
      const result = await store.write(key, value, now);
      return result.ok ? { ok: true } : result;
    },
    async read(key, now) {
      const result = await store.read(key, now);
      return result.state === "miss" ? undefined : { state: result.state, value: result.value };
    },
    delete: (key) => store.delete(key),
  };
}

describeTierContract("tiered store (L1 + L2)", () => storeSubject(makeStore().store));
describeTierContract("tiered store (L2 only)", () => storeSubject(makeStore({ cache: undefined }).store));
describeTierContract("tiered store (L0 + L1 + L2)", () =>
  storeSubject(makeStore({ l0MaxBytes: 1 << 20, memory: storeMemory({ l0: createL0Memory() }) }).store),
);

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

describe("tiered store: reads", () => {
  it("back-fills L1 from an L2 hit in waitUntil", async () => {
    const key = `${uniquePrefix("backfill")}fam|1`;
    const kvOnly = createKvTier(KV, { graceSeconds: STALE_IF_ERROR, sleep: noSleep });
    await kvOnly.put(key, await valueOf("from kv", { family: "fam" }), NOW);

    // Awaiting the collected waitUntil promises, as the runtime would after the response
    // (importing cloudflare:test's ExecutionContext would also load src/index.ts, which this suite must not depend on).
    const background = collectingWaitUntil();
    const counters = createCounters();
    const memory = new Map();
    const store = bound(
      createTieredStore({
        kv: KV, cache, l1MaxAgeSeconds: L1_MAX_AGE, staleIfErrorSeconds: STALE_IF_ERROR, baseUrl: BASE_URL,
        sleep: noSleep, familyOf, memory: storeMemory({ counters, generations: memory }),
      }),
      background.waitUntil,
    );
    const first = await store.read(key, NOW);
    expect(first).toMatchObject({ state: "fresh", tier: "l2" });
    expect(background.count()).toBe(1);
    await background.settle();

    // The L1 tier alone, under the family's current generation, now has it.
    const generation = memory.get(familyOf(key) ?? "")?.token ?? "0";
    const l1 = createCacheApiTier(cache, { baseUrl: BASE_URL, maxAgeSeconds: L1_MAX_AGE });
    const local = await l1.getAt(key, generation, NOW);
    expect(text(local?.bytes)).toBe("from kv");
    expect(local?.envelope.family).toBe("fam");

    // …and the next read is served from L1 even after KV lost the value.
    await KV.delete(key);
    expect(await store.read(key, NOW + 1)).toMatchObject({ state: "fresh", tier: "l1" });
    expect(counters.snapshot().storage.fam).toMatchObject({ l2Hits: 1, l1Hits: 1, backFills: 1 });
  });

  it("a back-fill that lands after a delete of its key leaves no L1 copy behind (found by the consistency checker)", async () => {
    // The back-fill of an L2 hit runs in waitUntil; a delete (or purge, or PUT) of the key can
    // answer before its Cache API put lands. Without a check the put would bring the old value
    // back into the colo's L1 — for the deleting isolate too — for up to L1_MAX_AGE.
    const key = `${uniquePrefix("backfill-race")}fam|1`;
    const kvOnly = createKvTier(KV, { graceSeconds: STALE_IF_ERROR, sleep: noSleep });
    await kvOnly.put(key, await valueOf("old", { family: "fam" }), NOW);
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const slowPuts = new Proxy(cache, {
      get(target, prop) {
        if (prop === "put") return async (...args: Parameters<Cache["put"]>) => (await held, target.put(...args));
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const { store, background } = makeStore({ cache: slowPuts });
    expect(await store.read(key, NOW)).toMatchObject({ state: "fresh", tier: "l2" });
    await store.delete(key);
    release();
    await background.settle();
    expect(await store.read(key, NOW + 1)).toEqual({ state: "miss" });
  });

  it("keepLocal with the generation unreadable (KV get failing) does not throw and leaves none of the isolate's old copies (found by the consistency checker)", async () => {
    // The admin PUT through the shields keeps the applied value locally; a KV read failing there
    // made the PUT answer 500 although it was applied, and left the old local copies in place.
    const prefix = uniquePrefix("keep-local-gen-fails");
    const family = `${prefix}fam`;
    const key = `${family}|1`;
    let failGets = false;
    const kv = wrapBinding(KV, (method, _args, forward) =>
      failGets && (method === "get" || method === "getWithMetadata") ? Promise.reject(new Error(KV_ERRORS.get)) : forward(),
    );
    const { store } = makeStore({ kv, l0MaxBytes: 1 << 20, memory: storeMemory({ l0: createL0Memory() }) });
    await store.write(key, await valueOf("old", { family, expiresAt: NOW + 3600 }), NOW);
    // Written again while the generation is remembered: its L0 and L1 copies outlive that memory.
    await store.write(key, await valueOf("old2", { family, expiresAt: NOW + 3600 }, NOW + 20), NOW + 20);
    const later = NOW + L1_MAX_AGE + 5;
    const next = await valueOf("new", { family, expiresAt: NOW + 3600 }, later);
    await createKvTier(KV, { graceSeconds: STALE_IF_ERROR, sleep: noSleep }).put(key, next, later); // the shield's write
    failGets = true;
    await expect(store.keepLocal(key, next, later)).resolves.toBeUndefined();
    failGets = false;
    const read = await store.read(key, later);
    expect(read.state === "miss" ? undefined : text(read.value.bytes)).toBe("new");
  });

  it("keeps no colo-local copy of secret families (registry default)", async () => {
    const background = collectingWaitUntil();
    const memory = new Map();
    const store = bound(
      createTieredStore({
        kv: KV, cache, l1MaxAgeSeconds: L1_MAX_AGE, staleIfErrorSeconds: STALE_IF_ERROR, baseUrl: BASE_URL,
        sleep: noSleep, memory: storeMemory({ generations: memory }),
      }),
      background.waitUntil,
    );
    const l1 = createCacheApiTier(cache, { baseUrl: BASE_URL, maxAgeSeconds: L1_MAX_AGE });
    const generationOf = (family: string) => memory.get(family)?.token ?? "0";

    const secretKey = `sticky_random_group_number:${uniquePrefix("secret").replace(/[^A-Za-z0-9_-]/g, "")}`;
    const secret = await valueOf(new Uint8Array(32).fill(7), { family: "sticky_random_group_number:{name}", codec: "bytes32" });
    expect(await store.write(secretKey, secret, NOW)).toMatchObject({ ok: true });
    await store.read(secretKey, NOW); // an L2 hit would back-fill L1 for any other family
    await background.settle();
    expect(await l1.getAt(secretKey, generationOf("sticky_random_group_number:{name}"), NOW)).toBeUndefined();
    expect(await store.read(secretKey, NOW)).toMatchObject({ state: "fresh", tier: "l2" });

    const plainKey = `auth:is_admin:oseh_u_${uniquePrefix("plain").replace(/[^A-Za-z0-9_-]/g, "")}`;
    expect(await store.write(plainKey, await valueOf("1", { family: "auth:is_admin:{sub}", codec: "flag" }), NOW)).toMatchObject({ ok: true });
    expect(await l1.getAt(plainKey, generationOf("auth:is_admin:{sub}"), NOW)).toBeDefined();
  });

  it("serves stale from L2 within staleIfErrorSeconds, then misses", async () => {
    const { store, background, counters } = makeStore();
    const key = `${uniquePrefix("stale")}fam|1`;
    await store.write(key, await valueOf("old", { family: "fam", expiresAt: NOW + 100 }), NOW);
    expect(await store.read(key, NOW + 99)).toMatchObject({ state: "fresh", tier: "l1" });
    expect(await store.read(key, NOW + 100)).toMatchObject({ state: "stale", tier: "l2" });
    expect(await store.read(key, NOW + 100 + STALE_IF_ERROR - 1)).toMatchObject({ state: "stale", tier: "l2" });
    expect(await store.read(key, NOW + 100 + STALE_IF_ERROR)).toEqual({ state: "miss" });
    // A stale value is never back-filled into L1 (L1 holds only fresh values).
    expect(background.count()).toBe(0);
    expect(counters.snapshot().storage.fam).toMatchObject({ l1Hits: 1, stale: 2, l2Misses: 1 });
  });

  it("works with L1 off: every read goes to KV and nothing is back-filled", async () => {
    const { store, background } = makeStore({ cache: undefined });
    const key = `${uniquePrefix("no-l1")}fam|1`;
    await store.write(key, await valueOf("kv only", { family: "fam" }), NOW);
    expect(await store.read(key, NOW)).toMatchObject({ state: "fresh", tier: "l2" });
    expect(await store.read(key, NOW)).toMatchObject({ state: "fresh", tier: "l2" });
    expect(background.count()).toBe(0);
    await store.delete(key);
    expect(await store.read(key, NOW)).toEqual({ state: "miss" });
  });

  it("resolves families through the key registry by default", async () => {
    const memory = new Map();
    const counters = createCounters();
    const { store } = makeStore({ familyOf: undefined, memory: storeMemory({ generations: memory, counters }) });
    const key = `daily_active_users:${19000 + Math.floor(Math.random() * 1000)}`;
    expect(await store.read(key, NOW)).toEqual({ state: "miss" });
    expect(memory.has("daily_active_users:{unix_date}")).toBe(true);
    expect(counters.snapshot().storage["daily_active_users:{unix_date}"]).toMatchObject({ l2Misses: 1 });
  });

  it("never reads, writes or lists reserved _edge: keys as values", async () => {
    const { store } = makeStore();
    const key = `_edge:gen:${uniquePrefix("reserved")}`;
    await KV.put(key, "token");
    expect(await store.read(key, NOW)).toEqual({ state: "miss" });
    expect(await store.write(key, await valueOf("x"), NOW)).toMatchObject({ ok: false, failure: { reason: "invalid_key" } });
    expect(await store.list({ prefix: "_edge:" })).toEqual({ keys: [], cursor: null });
    expect(await store.purge({ prefix: "_edge:" }, NOW)).toMatchObject({ purged: 0 });
    expect(await KV.get(key)).toBe("token");
  });
});

describe("singleFlight (the fills' coalescing, src/storage/single-flight.ts)", () => {
  it("runs the loader once for concurrent callers and gives them all the same bytes", async () => {
    const background = collectingWaitUntil();
    const inFlight: InFlight = new Map();
    const key = `${uniquePrefix("flight")}fam|1`;
    let calls = 0;
    let release: (bytes: Uint8Array) => void = () => undefined;
    const load = () => {
      calls++;
      return new Promise<Uint8Array>((resolve) => (release = resolve));
    };
    const waiters = Array.from({ length: 10 }, () => singleFlight(inFlight, key, load, background.waitUntil));
    expect(calls).toBe(1);
    release(new TextEncoder().encode("filled once"));
    const results = await Promise.all(waiters);
    expect(calls).toBe(1);
    for (const bytes of results) expect(text(bytes)).toBe("filled once");
    // The load was handed to waitUntil so it outlives the request that started it.
    expect(background.count()).toBe(1);

    // Settled entries are removed: the next miss loads again.
    const again = await singleFlight(inFlight, key, async () => {
      calls++;
      return new TextEncoder().encode("second load");
    }, noWait);
    expect(calls).toBe(2);
    expect(text(again)).toBe("second load");
  });

  it("shares a failure with every waiter and then forgets it", async () => {
    const inFlight: InFlight = new Map();
    const key = `${uniquePrefix("flight-fail")}fam|1`;
    let calls = 0;
    const failing = async () => {
      calls++;
      await Promise.resolve();
      throw new Error("origin down");
    };
    const results = await Promise.allSettled([singleFlight(inFlight, key, failing, noWait), singleFlight(inFlight, key, failing, noWait)]);
    expect(calls).toBe(1);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(await singleFlight(inFlight, key, async () => "ok", noWait)).toBe("ok");
  });

  it("refuses to share a Response across requests", async () => {
    const inFlight: InFlight = new Map();
    await expect(singleFlight(inFlight, `${uniquePrefix("flight-io")}k`, async () => new Response("x"), noWait)).rejects.toThrow(
      /not a Response/,
    );
  });

  it("keeps keys apart", async () => {
    const inFlight: InFlight = new Map();
    const prefix = uniquePrefix("flight-keys");
    const [a, b] = await Promise.all([
      singleFlight(inFlight, `${prefix}a`, async () => "a", noWait),
      singleFlight(inFlight, `${prefix}b`, async () => "b", noWait),
    ]);
    expect([a, b]).toEqual(["a", "b"]);
  });
});

describe("tiered store: writes", () => {
  it("skips the KV write for unchanged bytes whose expiry is not meaningfully earlier", async () => {
    const { store, counters } = makeStore();
    const key = `${uniquePrefix("skip")}fam|1`;
    const storedAt = async () => ((await KV.getWithMetadata<{ storedAt: number }>(key)).metadata)?.storedAt;

    expect(await store.write(key, await valueOf("same", { family: "fam", expiresAt: NOW + 900 }), NOW)).toEqual({ ok: true, skipped: false });
    expect(await storedAt()).toBe(NOW);

    // Same bytes 5 s later: the new expiry is only 5 s later (slack = min(60, 90)) → skipped.
    expect(await store.write(key, await valueOf("same", { family: "fam", expiresAt: NOW + 905 }, NOW + 5), NOW + 5)).toEqual({ ok: true, skipped: true });
    expect(await storedAt()).toBe(NOW);

    // Same bytes, expiry 300 s later → written, so the value does not expire early.
    expect(await store.write(key, await valueOf("same", { family: "fam", expiresAt: NOW + 1200 }, NOW + 300), NOW + 300)).toEqual({ ok: true, skipped: false });
    expect(await storedAt()).toBe(NOW + 300);

    // Changed bytes → always written.
    expect(await store.write(key, await valueOf("different", { family: "fam", expiresAt: NOW + 1200 }, NOW + 301), NOW + 301)).toEqual({ ok: true, skipped: false });
    expect(await storedAt()).toBe(NOW + 301);
    expect(counters.snapshot().storage.fam).toMatchObject({ l2Writes: 3, l2SkippedWrites: 1 });
  });

  it("keeps L1 consistent with KV when a write is skipped", async () => {
    const { store } = makeStore();
    const key = `${uniquePrefix("skip-l1")}fam|1`;
    await store.write(key, await valueOf("same", { family: "fam", expiresAt: NOW + 900 }), NOW);
    await store.write(key, await valueOf("same", { family: "fam", expiresAt: NOW + 901 }, NOW + 1), NOW + 1);
    const read = await store.read(key, NOW + 2);
    expect(read).toMatchObject({ state: "fresh", tier: "l1", value: { envelope: { storedAt: NOW, expiresAt: NOW + 900 } } });
  });

  it("retries KV's 429 with backoff and counts the retries", async () => {
    const { sleep, delays } = recordingSleep();
    const limited = rateLimitedKv(KV, 2);
    const { store, counters } = makeStore({ kv: limited.kv, sleep });
    const key = `${uniquePrefix("429")}fam|1`;
    expect(await store.write(key, await valueOf("eventually", { family: "fam" }), NOW)).toEqual({ ok: true, skipped: false });
    expect(delays).toEqual([1000, 2000]);
    expect(counters.snapshot().storage.fam).toMatchObject({ retries429: 2, l2Writes: 1 });
    expect(await store.read(key, NOW)).toMatchObject({ state: "fresh" });
  });

  it("returns a typed failure when KV keeps refusing, and stores nothing in either tier", async () => {
    const { store, counters } = makeStore({ kv: rateLimitedKv(KV, 100).kv });
    const key = `${uniquePrefix("429-exhausted")}fam|1`;
    const result = await store.write(key, await valueOf("never", { family: "fam" }), NOW);
    expect(result).toMatchObject({ ok: false, failure: { reason: "rate_limited", attempts: 4 } });
    expect(await makeStore().store.read(key, NOW)).toEqual({ state: "miss" });
    expect(counters.snapshot().storage.fam).toMatchObject({ writeFailures: 1, retries429: 3 });
  });
});

describe("tiered store: list", () => {
  it("lists by prefix with expiresAt from metadata, paging with a cursor", async () => {
    const { store } = makeStore();
    const prefix = uniquePrefix("list");
    for (let i = 0; i < 5; i++) {
      await store.write(`${prefix}fam|${i}`, await valueOf(`v${i}`, { family: "fam", expiresAt: NOW + 100 + i }), NOW);
    }
    const first = await store.list({ prefix, limit: 3 });
    expect(first.keys).toEqual([0, 1, 2].map((i) => ({ name: `${prefix}fam|${i}`, expiresAt: NOW + 100 + i })));
    expect(first.cursor).not.toBeNull();
    const second = await store.list({ prefix, limit: 3, cursor: first.cursor ?? "" });
    expect(second.keys.map((k) => k.name)).toEqual([`${prefix}fam|3`, `${prefix}fam|4`]);
    expect(second.cursor).toBeNull();
  });

  it("reports null expiresAt for values it did not write", async () => {
    const { store } = makeStore();
    const prefix = uniquePrefix("list-foreign");
    await KV.put(`${prefix}x`, "raw");
    expect(await store.list({ prefix })).toEqual({ keys: [{ name: `${prefix}x`, expiresAt: null }], cursor: null });
  });
});

describe("tiered store: purge", () => {
  it("purges by keys from KV and the local L1, all in one call", async () => {
    // A keys purge is at most MAX_PURGE_KEYS (docs/admin-api.md): one call, never paged.
    const { store } = makeStore({ purgePageSize: 2 });
    const prefix = uniquePrefix("purge-keys");
    const keys = [0, 1, 2, 3, 4].map((i) => `${prefix}fam|${i}`);
    for (const key of keys) await store.write(key, await valueOf(key, { family: "fam" }), NOW);
    const survivor = `${prefix}fam|survivor`;
    await store.write(survivor, await valueOf("survivor", { family: "fam" }), NOW);

    const page = await store.purge({ keys }, NOW);
    expect(page).toEqual({ purged: 5, cursor: null, visibleWithinSeconds: 60 + L1_MAX_AGE });

    const l1 = createCacheApiTier(cache, { baseUrl: BASE_URL, maxAgeSeconds: L1_MAX_AGE });
    for (const key of keys) {
      expect(await store.read(key, NOW)).toEqual({ state: "miss" });
      expect(await KV.get(key)).toBeNull();
      expect(await l1.getAt(key, "0", NOW)).toBeUndefined();
    }
    expect(await store.read(survivor, NOW)).toMatchObject({ state: "fresh" });
  });

  it("purges a prefix one page per call (1,050 keys → 3 calls), under the KV operation budget", async () => {
    const prefix = uniquePrefix("purge-prefix");
    const names = Array.from({ length: 1050 }, (_, i) => `${prefix}fam|${String(i).padStart(4, "0")}`);
    const envelope = (await valueOf("v", { family: `${prefix}fam` })).envelope;
    for (let i = 0; i < names.length; i += 100) {
      await Promise.all(names.slice(i, i + 100).map((name) => KV.put(name, "v", { metadata: envelope })));
    }
    const outside = `${uniquePrefix("purge-outside")}fam|1`;
    await KV.put(outside, "v", { metadata: envelope });

    const counting = countingKv(KV);
    const { store } = makeStore({ kv: counting.kv });
    const purged: number[] = [];
    let cursor: string | undefined;
    do {
      const before = counting.total();
      const page = await store.purge({ prefix, ...(cursor !== undefined ? { cursor } : {}) }, NOW);
      expect(counting.total() - before).toBeLessThan(1000);
      purged.push(page.purged);
      cursor = page.cursor ?? undefined;
    } while (cursor !== undefined);
    expect(purged).toEqual([400, 400, 250]);
    expect((await KV.list({ prefix })).keys).toEqual([]);
    expect(await KV.get(outside)).toBe("v");
  }, 30_000); // ~2 s alone, but 1,050 simulator writes slow down when the other suites run in parallel

  it("a family purge bumps the generation so other colos' L1 copies stop being served", async () => {
    const prefix = uniquePrefix("purge-family");
    const family = `${prefix}fam`;
    const key = `${family}|1`;
    const otherColoCache = await caches.open("oseh-edge-test-other-colo");

    // Another colo: its own L1 and its own isolate memory.
    const other = makeStore({ cache: otherColoCache });
    await other.store.write(key, await valueOf("cached elsewhere", { family, expiresAt: NOW + 3600 }), NOW);
    expect(await other.store.read(key, NOW)).toMatchObject({ state: "fresh", tier: "l1" });
    const oldToken = (await KV.get(generationKey(family))) ?? "0";

    // This colo purges the family.
    const { store } = makeStore();
    const result = await store.purge({ family, prefix: family }, NOW + 1);
    expect(result).toEqual({ purged: 1, cursor: null, visibleWithinSeconds: 60 + L1_MAX_AGE });
    const newToken = await KV.get(generationKey(family));
    expect(newToken).not.toBeNull();
    expect(newToken).not.toBe(oldToken);

    // Within the bound the other colo may still serve its remembered generation's copy…
    expect(await other.store.read(key, NOW + 2)).toMatchObject({ state: "fresh", tier: "l1" });
    // …but once its memory of the generation is older than l1MaxAgeSeconds, it is not served,
    // although the entry is still physically in that colo's cache.
    const l1 = createCacheApiTier(otherColoCache, { baseUrl: BASE_URL, maxAgeSeconds: L1_MAX_AGE });
    expect(text((await l1.getAt(key, oldToken, NOW))?.bytes)).toBe("cached elsewhere");
    expect(await other.store.read(key, NOW + 2 + L1_MAX_AGE)).toEqual({ state: "miss" });

    // The generation key itself survives purges and is never listed.
    expect((await store.list({ prefix: "" })).keys.some((k) => k.name.startsWith("_edge:"))).toBe(false);
  });

  it("a prefix purge stops the purging isolate serving its local copies of a key another colo already deleted from KV (found by the consistency checker)", async () => {
    // The prefix purge deletes local copies of the keys its KV pages list; a key another colo
    // deleted first is on no page, yet this isolate's L0 and its colo's L1 may still hold it.
    // docs/storage-schema.md "Propagation bound": in the purging isolate a purge applies at once.
    const prefix = uniquePrefix("purge-prefix-remote-delete");
    const key = `${prefix}fam|1`;
    const otherColoCache = await caches.open("oseh-edge-test-other-colo");
    const here = makeStore({ cache: otherColoCache });
    const elsewhere = makeStore();
    await elsewhere.store.write(key, await valueOf("old", { family: `${prefix}fam`, expiresAt: NOW + 3600 }), NOW);
    expect(await here.store.read(key, NOW)).toMatchObject({ state: "fresh", tier: "l2" });
    await here.background.settle();
    await elsewhere.store.delete(key);
    expect(await here.store.purge({ prefix }, NOW)).toMatchObject({ purged: 0, cursor: null });
    expect(await here.store.read(key, NOW)).toEqual({ state: "miss" });
    // A value written after the purge's second is served from local copies again.
    await here.store.write(key, await valueOf("new", { family: `${prefix}fam`, expiresAt: NOW + 3600 }, NOW + 2), NOW + 2);
    expect(await here.store.read(key, NOW + 2)).toMatchObject({ state: "fresh", tier: "l1" });
  });

  it("after its shield applied a DELETE, the isolate does not serve the old value its colo's lagging KV view still shows (found by the consistency checker)", async () => {
    // The shield deletes KV from its own colo; this colo's KV view may show the old value until
    // KV's propagation reaches it. Here the delete has not reached it at all: KV still holds it.
    const prefix = uniquePrefix("forget-local-lagging-kv");
    const key = `${prefix}fam|1`;
    const family = `${prefix}fam`;
    await createKvTier(KV, { graceSeconds: STALE_IF_ERROR, sleep: noSleep }).put(key, await valueOf("old", { family, expiresAt: NOW + 3600 }, NOW - 31), NOW - 31);
    const { store } = makeStore({ l0MaxBytes: 1 << 20, memory: storeMemory({ l0: createL0Memory() }) });
    expect(await store.read(key, NOW - 1)).toMatchObject({ state: "fresh", tier: "l2" });
    await store.forgetLocal(key, NOW); // what the admin DELETE does once the shield applied it
    expect(await store.read(key, NOW)).toEqual({ state: "miss" });
    // A value the shield applies later (kept here by keepLocal) is served again at once.
    const next = await valueOf("new", { family, expiresAt: NOW + 3600 }, NOW);
    await store.keepLocal(key, next, NOW);
    const read = await store.read(key, NOW);
    expect(read.state === "miss" ? undefined : text(read.value.bytes)).toBe("new");
  });

  it("after a family purge the purging isolate sees the new generation at once", async () => {
    const prefix = uniquePrefix("purge-family-local");
    const family = `${prefix}fam`;
    const key = `${family}|1`;
    const { store } = makeStore();
    await store.write(key, await valueOf("v1", { family }), NOW);
    await store.purge({ family, prefix: family }, NOW);
    expect(await store.read(key, NOW)).toEqual({ state: "miss" });
    // A new value is written and served under the new generation.
    await store.write(key, await valueOf("v2", { family }), NOW);
    expect(await store.read(key, NOW)).toMatchObject({ state: "fresh", tier: "l1", value: { bytes: new TextEncoder().encode("v2") } });
  });
});

describe("tiered store: L0", () => {
  it("answers from isolate memory after an L2 read, never from an L1 hit", async () => {
    const key = `${uniquePrefix("l0")}fam|1`;
    await createKvTier(KV, { graceSeconds: STALE_IF_ERROR, sleep: noSleep }).put(key, await valueOf("hot", { family: "fam" }), NOW);
    const { store, background, counters } = makeStore({ l0MaxBytes: 1 << 20 });
    expect(await store.read(key, NOW)).toMatchObject({ state: "fresh", tier: "l2" });
    await background.settle();
    await KV.delete(key);
    expect(await store.read(key, NOW + 1)).toMatchObject({ state: "fresh", tier: "l0" });
    expect(counters.snapshot().storage.fam).toMatchObject({ l0Hits: 1, l2Hits: 1 });

    // Another isolate with an empty L0 finds it in the colo's L1, and does not copy it into L0.
    const other = makeStore({ l0MaxBytes: 1 << 20, memory: storeMemory({ l0: createL0Memory() }) });
    expect(await other.store.read(key, NOW + 2)).toMatchObject({ state: "fresh", tier: "l1" });
    expect(await other.store.read(key, NOW + 3)).toMatchObject({ state: "fresh", tier: "l1" });
  });

  it("never serves an L0 copy older than l1MaxAgeSeconds", async () => {
    const key = `${uniquePrefix("l0-age")}fam|1`;
    const { store } = makeStore({ cache: undefined, l0MaxBytes: 1 << 20, memory: storeMemory({ l0: createL0Memory() }) });
    await store.write(key, await valueOf("v", { family: "fam", expiresAt: NOW + 3600 }), NOW);
    expect(await store.read(key, NOW + L1_MAX_AGE - 1)).toMatchObject({ tier: "l0" });
    expect(await store.read(key, NOW + L1_MAX_AGE)).toMatchObject({ tier: "l2" });
  });

  it("a delete or purge in this isolate drops the L0 copy at once", async () => {
    const prefix = uniquePrefix("l0-purge");
    const family = `${prefix}fam`;
    const { store } = makeStore({ l0MaxBytes: 1 << 20, memory: storeMemory({ l0: createL0Memory() }) });
    await store.write(`${family}|1`, await valueOf("a", { family }), NOW);
    await store.write(`${family}|2`, await valueOf("b", { family }), NOW);
    await store.delete(`${family}|1`);
    expect(await store.read(`${family}|1`, NOW)).toEqual({ state: "miss" });
    await store.purge({ keys: [`${family}|2`] }, NOW);
    expect(await store.read(`${family}|2`, NOW)).toEqual({ state: "miss" });
  });

  it("another isolate's L0 copy stops being served after a family purge within the L1 bound", async () => {
    const prefix = uniquePrefix("l0-purge-family");
    const family = `${prefix}fam`;
    const key = `${family}|1`;
    const other = makeStore({ cache: undefined, l0MaxBytes: 1 << 20, memory: storeMemory({ l0: createL0Memory() }) });
    await other.store.write(key, await valueOf("elsewhere", { family, expiresAt: NOW + 3600 }), NOW);
    await makeStore({ cache: undefined }).store.purge({ family, prefix: family }, NOW + 1);
    // Remembered generation and L0 copy both end within l1MaxAgeSeconds.
    expect(await other.store.read(key, NOW + L1_MAX_AGE)).toEqual({ state: "miss" });
  });
});

describe("tiered store: a family purge's purged-before time", () => {
  it("makes KV values stored before it misses at once, before the paged deletes reach them", async () => {
    const prefix = uniquePrefix("purged-before");
    const family = `${prefix}fam`;
    const { store } = makeStore({ cache: undefined, purgePageSize: 1 });
    await store.write(`${family}|1`, await valueOf("a", { family, expiresAt: NOW + 3600 }, NOW - 10), NOW - 10);
    await store.write(`${family}|2`, await valueOf("b", { family, expiresAt: NOW + 3600 }, NOW - 10), NOW - 10);
    const first = await store.purge({ family, prefix: family }, NOW);
    expect(first.cursor).not.toBeNull(); // one key deleted, one still in KV
    expect((await KV.list({ prefix: family })).keys).toHaveLength(1);
    // Another isolate, once it reads the new generation, does not serve the one left in KV.
    const other = makeStore({ cache: undefined });
    expect(await other.store.read(`${family}|1`, NOW + 1)).toEqual({ state: "miss" });
    expect(await other.store.read(`${family}|2`, NOW + 1)).toEqual({ state: "miss" });
    // A value written after the purge is served.
    await store.write(`${family}|3`, await valueOf("c", { family, expiresAt: NOW + 3600 }, NOW + 1), NOW + 1);
    expect(await other.store.read(`${family}|3`, NOW + 2)).toMatchObject({ state: "fresh", tier: "l2" });
  });
});
