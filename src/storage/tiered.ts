/**
 * The tiered store (docs/storage-schema.md): L0 isolate memory (optional) → L1 Cache API (colo) →
 * L2 KV (global). Freshness is decided from
 * the envelope with the caller's `now`; platform TTLs are only garbage collection. Everything the
 * rest of the Worker does with storage goes through the methods below.
 */
import { familyNameOf, parseKey } from "../keys";
import { createCacheApiTier, type CacheApiTier, INITIAL_GENERATION } from "./cache-api-tier";
import { checkStorable, classifyFreshness, isReservedKey, keyProblem } from "./envelope";
import { createGenerations, type GenerationMemory, generationTime } from "./generations";
import { createKvTier } from "./kv-tier";
import { createL0Memory, createL0Tier, type L0Memory } from "./l0-tier";
import {
  KV_LIST_MAX_LIMIT,
  KV_PROPAGATION_SECONDS,
  PURGE_PAGE_SIZE,
  WRITE_SKIP_MAX_SLACK_SECONDS,
  WRITE_SKIP_SLACK_FRACTION,
} from "./limits";
import { realSleep, type Sleep } from "./retry";
import { forEachLimited } from "../util/concurrency";
import { createCounters, UNKNOWN_FAMILY, type StatsSink } from "../stats";
import type { R2Tier } from "./r2-tier";
import type { Envelope, GenerationalTier, StorageFailure, StoredValue } from "./tier";

/**
 * What the tiers hold for a key at `now`, without asking anyone else: the cache core's first step
 * (src/cache/read-through.ts turns it into a `CacheResult`) and what the admin API's GET inspects.
 */
export type StoredRead =
  | { state: "fresh"; tier: "l0" | "l1" | "l2"; value: StoredValue }
  | { state: "stale"; tier: "l2"; value: StoredValue }
  /** `failed`: KV threw, so "no value" is not known (counted as `readFailures`). */
  | { state: "miss"; failed?: true };

export type WriteResult = { ok: true; skipped: boolean } | { ok: false; failure: StorageFailure };

/**
 * What a purge removes (docs/admin-api.md "Purge"): keys (at most MAX_PURGE_KEYS, one call), or
 * every key of a family or under a prefix, a page of at most `PURGE_PAGE_SIZE` keys per call
 * (pass the answer's `cursor` back until it is null).
 */
export type PurgeSelector = { keys: string[] } | { prefix: string; cursor?: string } | { family: string; prefix: string; cursor?: string };

export interface PurgeResult {
  purged: number;
  /** Pass back in the same selector until it is null. */
  cursor: string | null;
  /** Seconds after which no colo serves a purged value (docs/storage-schema.md §Purge). */
  visibleWithinSeconds: number;
}

export interface ListOptions {
  prefix?: string;
  cursor?: string;
  limit?: number;
}

export interface ListResult {
  keys: { name: string; expiresAt: number | null }[];
  cursor: string | null;
}

/** The family whose bytes live in R2 (./r2-tier.ts), not KV. */
export const MEDIA_KEY_PREFIX = "s3_files:";

/** A store's per-isolate memory: L0 entries, remembered generations, and where it counts (src/stats.ts). */
export interface StoreMemory {
  readonly l0: L0Memory;
  readonly generations: GenerationMemory;
  /**
   * Removals this isolate ran, → the second each ran: prefix purges (`prefixes`), and DELETEs
   * and key purges applied by the family's shield (`keys`). A prefix purge deletes the local
   * copies of the keys its KV pages list, and a key another colo already deleted is on no page;
   * a shield's KV delete is made in the shield's colo, and this colo's KV view may show the old
   * value until KV's propagation reaches it. For `visibleWithinSeconds` this isolate's copies
   * (L0, L1, and KV values) of such a key stored at or before that second are misses, so the
   * removal applies here at once (docs/storage-schema.md "Propagation bound").
   */
  readonly removedHere: { readonly prefixes: Map<string, number>; readonly keys: Map<string, number> };
  readonly counters: StatsSink;
}

/** A fresh store memory: one isolate's (src/isolate.ts, counting into its registry), or a Durable Object's own. */
export function createStoreMemory(counters: StatsSink = createCounters()): StoreMemory {
  return { l0: createL0Memory(), generations: new Map(), removedHere: { prefixes: new Map(), keys: new Map() }, counters };
}

export interface TieredStoreOptions {
  kv: KVNamespace;
  /**
   * The media tier (R2): deletes and purges of `s3_files:` keys remove its pointers. Reads and
   * fills of media go through src/media/, not this store.
   */
  media?: Pick<R2Tier, "delete" | "listKeys">;
  /** The colo-local tier; absent (workers.dev, tests) means every read goes to KV. */
  cache?: Cache;
  /**
   * Bytes of small hot values kept in isolate memory (L0); 0 or absent = no L0. Its entries live
   * at most `l1MaxAgeSeconds` and honour generations, so the purge bound is unchanged.
   */
  l0MaxBytes?: number;
  /**
   * What the store keeps across requests: the isolate's (src/isolate.ts). Tests pass another
   * isolate's to play it.
   */
  memory: StoreMemory;
  /** Upper bound of an L1 (and L0) entry's life and of a remembered generation's. */
  l1MaxAgeSeconds: number;
  /** How long after `expiresAt` a value may still be served as `stale` (and is kept in KV). */
  staleIfErrorSeconds: number;
  /** Any URL on the Worker's own host (the request URL will do); L1 keys live under it. */
  baseUrl: string;
  /** Injected so the 429 backoff never waits in tests. */
  sleep?: Sleep;
  /**
   * The family pattern of a key, for per-family L1 generations and the miss counters. Defaults
   * to the key registry (`parseKey`); tests pass their own. A key it cannot place uses a
   * constant generation, so a purge reaches other colos' L1 copies of it by expiry alone (still
   * within `visibleWithinSeconds`).
   */
  familyOf?: (key: string) => string | undefined;
  /**
   * Whether a key may have a local (L0/L1) copy. Defaults to the registry: every family but the
   * `secret` ones, which are write-only (docs/families.md) — no route ever reads them, so a local
   * copy would only add a place the bytes sit (for L1, under a URL of the Worker's own host).
   */
  l1Allowed?: (key: string) => boolean;
  /** Keys deleted per purge call; default PURGE_PAGE_SIZE. */
  purgePageSize?: number;
}

export interface TieredStore {
  /** `waitUntil`: the reading request's, for the L1 back-fill after an L2 hit. */
  read(key: string, now: number, waitUntil: (promise: Promise<unknown>) => void): Promise<StoredRead>;
  write(key: string, value: StoredValue, now: number): Promise<WriteResult>;
  delete(key: string): Promise<void>;
  /**
   * This isolate's and colo's copies only (L0, L1), for a writer that stored KV elsewhere (the
   * family's shield): `keepLocal` after the shield committed a value, `forgetLocal` after it
   * deleted or purged one.
   */
  keepLocal(key: string, value: StoredValue, now: number): Promise<void>;
  /** `now`: when the removal was applied (this isolate then ignores older copies: `StoreMemory.removedHere`). */
  forgetLocal(key: string, now?: number): Promise<void>;
  list(options: ListOptions): Promise<ListResult>;
  purge(selector: PurgeSelector, now: number): Promise<PurgeResult>;
  /** The purge propagation bound this store was configured with. */
  readonly visibleWithinSeconds: number;
}

/**
 * Write-skip rule: the KV write is skipped when KV already holds the same bytes (sha256 and size)
 * for the same family and codec, and its expiry is not meaningfully earlier than the new one —
 * at most `min(60 s, 10 % of the new remaining lifetime)` earlier. A later existing expiry also
 * skips (identical bytes; a writer that must shorten it deletes first).
 */
export function canSkipWrite(existing: Envelope | undefined, next: Envelope, now: number): boolean {
  if (existing === undefined) return false;
  if (existing.sha256 !== next.sha256 || existing.size !== next.size) return false;
  if (existing.family !== next.family || existing.codec !== next.codec) return false;
  const remaining = Math.max(0, next.expiresAt - now);
  const slack = Math.min(WRITE_SKIP_MAX_SLACK_SECONDS, Math.floor(remaining * WRITE_SKIP_SLACK_FRACTION));
  return existing.expiresAt >= next.expiresAt - slack && existing.expiresAt > now;
}

function l1AllowedByRegistry(key: string): boolean {
  const parsed = parseKey(key);
  return !parsed.ok || parsed.value.family.sensitivity !== "secret";
}

/** KV propagation (a delete or generation bump reaches every colo) + the longest L1 life. */
export function purgeVisibleWithinSeconds(l1MaxAgeSeconds: number): number {
  return KV_PROPAGATION_SECONDS + l1MaxAgeSeconds;
}

const PURGE_DELETE_CONCURRENCY = 16; // parallel KV deletes per purge page; KV binding calls are not connection-bound


export function createTieredStore(options: TieredStoreOptions): TieredStore {
  const sleep = options.sleep ?? realSleep;
  const { counters } = options.memory;
  const familyOf = options.familyOf ?? familyNameOf;
  const l1Allowed = options.l1Allowed ?? l1AllowedByRegistry;
  const familyLabel = (key: string): string => familyOf(key) ?? UNKNOWN_FAMILY;
  const pageSize = Math.max(1, Math.min(options.purgePageSize ?? PURGE_PAGE_SIZE, KV_LIST_MAX_LIMIT));
  const visibleWithinSeconds = purgeVisibleWithinSeconds(options.l1MaxAgeSeconds);

  const l2 = createKvTier(options.kv, {
    graceSeconds: options.staleIfErrorSeconds,
    sleep,
    onRetry: ({ key, family }) => counters.count(family ?? familyLabel(key), "retries429"),
  });
  const generations = createGenerations(options.kv, {
    maxAgeSeconds: options.l1MaxAgeSeconds,
    memory: options.memory.generations,
    sleep,
  });
  const l1: CacheApiTier | undefined =
    options.cache === undefined
      ? undefined
      : createCacheApiTier(options.cache, {
          baseUrl: options.baseUrl,
          maxAgeSeconds: options.l1MaxAgeSeconds,
          onDeleteFailure: (key) => counters.count(familyLabel(key), "l1Failures"),
        });
  const l0: GenerationalTier | undefined =
    options.l0MaxBytes === undefined || options.l0MaxBytes <= 0
      ? undefined
      : createL0Tier({
          maxAgeSeconds: options.l1MaxAgeSeconds,
          maxBytes: options.l0MaxBytes,
          memory: options.memory.l0,
        });
  /** The local copies, nearest first. */
  const locals: GenerationalTier[] = [...(l0 === undefined ? [] : [l0]), ...(l1 === undefined ? [] : [l1])];

  const generationFor = async (key: string, now: number): Promise<string> => {
    const family = familyOf(key);
    return family === undefined ? INITIAL_GENERATION : generations.current(family, now);
  };

  /** Local copies are best effort: a failure there is a miss, never a failed read. */
  const readLocal = async (
    tier: GenerationalTier | undefined,
    key: string,
    generation: string,
    now: number,
  ): Promise<StoredValue | undefined> => {
    if (tier === undefined) return undefined;
    try {
      return await tier.getAt(key, generation, now);
    } catch {
      counters.count(familyLabel(key), "l1Failures");
      return undefined;
    }
  };

  const writeLocal = async (
    tier: GenerationalTier | undefined,
    key: string,
    value: StoredValue,
    now: number,
    generation: string,
  ): Promise<void> => {
    if (tier === undefined || !l1Allowed(key)) return;
    try {
      const put = await tier.putAt(key, value, now, generation);
      // L0 declining a value (over its bounds) is by design; the Cache API refusing one is a fault.
      if (!put.ok && tier === l1) counters.count(value.envelope.family, "l1Failures");
    } catch {
      // best effort, as above
      counters.count(value.envelope.family, "l1Failures");
    }
  };

  /**
   * The L1 back-fill of an L2 hit. It lands after the read, in waitUntil: a delete, purge or
   * write of the key that answered meanwhile has already removed the colo's copy, and the put
   * would bring the old value back for up to `l1MaxAgeSeconds` — in the isolate that deleted it
   * too. So after the put, KV is asked again: a value gone or replaced there takes the copy out.
   * (Put, then check: whichever of the delete's two steps, KV then L1, comes after the put, the
   * copy goes.) Found by the consistency checker (test/consistency/).
   */
  const backFill = async (tier: CacheApiTier, key: string, value: StoredValue, now: number, generation: string): Promise<void> => {
    await writeLocal(tier, key, value, now, generation);
    counters.count(value.envelope.family, "backFills");
    let current: Envelope | undefined;
    try {
      current = await l2.getEnvelope(key);
    } catch {
      current = undefined;
    }
    if (current?.sha256 !== value.envelope.sha256) await tier.deleteAt(key, generation);
  };

  const deleteLocal = async (key: string, generations: Iterable<string>): Promise<void> => {
    for (const tier of locals) {
      for (const generation of new Set(generations)) await tier.deleteAt(key, generation);
    }
  };

  /** KV list; a throw is counted under `(unknown)` (a prefix may span families) and rethrown (callers answer 503). */
  const listCounted = async (listOptions: KVNamespaceListOptions): Promise<KVNamespaceListResult<unknown>> => {
    try {
      return await options.kv.list<unknown>(listOptions);
    } catch (error) {
      counters.count(UNKNOWN_FAMILY, "listFailures");
      throw error;
    }
  };

  /** KV delete (429s retried); a throw is counted and rethrown (callers answer 503, a retry is safe). */
  const deleteCounted = async (key: string): Promise<void> => {
    try {
      await l2.delete(key);
    } catch (error) {
      counters.count(familyLabel(key), "deleteFailures");
      throw error;
    }
  };

  /** Forgets removals older than the bound (after it, every copy from before them is gone). */
  const pruneRemoved = (now: number): void => {
    for (const marks of [options.memory.removedHere.prefixes, options.memory.removedHere.keys]) {
      for (const [name, at] of marks) if (now - at >= visibleWithinSeconds) marks.delete(name);
    }
  };
  /** A copy, unless a removal this isolate ran since it was stored covers its key. */
  const unlessRemovedHere = (key: string, copy: StoredValue | undefined, now: number): StoredValue | undefined => {
    if (copy === undefined) return undefined;
    const { prefixes, keys } = options.memory.removedHere;
    if (prefixes.size === 0 && keys.size === 0) return copy;
    pruneRemoved(now);
    const at = keys.get(key);
    if (at !== undefined && copy.envelope.storedAt <= at) return undefined;
    for (const [prefix, when] of prefixes) if (key.startsWith(prefix) && copy.envelope.storedAt <= when) return undefined;
    return copy;
  };

  const store: TieredStore = {
    visibleWithinSeconds,

    async read(key, now, waitUntil) {
      // Reserved keys are bookkeeping, never values; a key KV would refuse cannot be stored.
      if (isReservedKey(key) || keyProblem(key) !== null) return { state: "miss" };
      // KV throwing is a miss the caller may fill from the origin, never a failed request.
      const failed = (): StoredRead => {
        counters.count(familyLabel(key), "readFailures");
        return { state: "miss", failed: true };
      };
      // Resolved once, so a back-fill racing a purge lands under the old, unreachable generation.
      // Unknown (KV failing) means local copies cannot be trusted either: an entry may be purged.
      let generation: string;
      try {
        generation = await generationFor(key, now);
      } catch {
        return failed();
      }

      const nearest = unlessRemovedHere(key, await readLocal(l0, key, generation, now), now);
      if (nearest !== undefined && classifyFreshness(nearest.envelope, now, options.staleIfErrorSeconds) === "fresh") {
        counters.count(nearest.envelope.family, "l0Hits");
        return { state: "fresh", tier: "l0", value: nearest };
      }
      // An L1 hit does not fill L0: the L1 copy may be nearly `l1MaxAgeSeconds` old already, and
      // L0 would stretch the purge bound past it. L0 is filled only from KV and from writes.
      const local = unlessRemovedHere(key, await readLocal(l1, key, generation, now), now);
      if (local !== undefined && classifyFreshness(local.envelope, now, options.staleIfErrorSeconds) === "fresh") {
        counters.count(local.envelope.family, "l1Hits");
        return { state: "fresh", tier: "l1", value: local };
      }

      let found: StoredValue | undefined;
      try {
        found = unlessRemovedHere(key, await l2.get(key, now), now);
      } catch {
        return failed();
      }
      // A family purge's "purged before" time: older KV values are misses before the paged
      // deletes reach them (docs/storage-schema.md §Generations).
      const purgedBefore = generationTime(generation);
      const global = found !== undefined && purgedBefore !== undefined && found.envelope.storedAt < purgedBefore ? undefined : found;
      const state =
        global === undefined ? "expired" : classifyFreshness(global.envelope, now, options.staleIfErrorSeconds);
      if (global === undefined || state === "expired") {
        counters.count(global?.envelope.family ?? familyLabel(key), "l2Misses");
        return { state: "miss" };
      }
      if (state === "stale") {
        counters.count(global.envelope.family, "stale");
        return { state: "stale", tier: "l2", value: global };
      }
      counters.count(global.envelope.family, "l2Hits");
      await writeLocal(l0, key, global, now, generation);
      if (l1 !== undefined) {
        waitUntil(backFill(l1, key, global, now, generation));
      }
      return { state: "fresh", tier: "l2", value: global };
    },

    async write(key, value, now) {
      if (isReservedKey(key)) {
        return { ok: false, failure: { reason: "invalid_key", message: "keys starting with _edge: are reserved" } };
      }
      const checked = checkStorable(key, value);
      if (!checked.ok) {
        counters.count(value.envelope.family, "writeFailures");
        return checked;
      }
      const family = value.envelope.family;
      // One KV read (value streamed and cancelled) is 10× cheaper than a write and avoids the 1/s/key limit.
      let existing: Envelope | undefined;
      try {
        existing = await l2.getEnvelope(key);
      } catch {
        existing = undefined;
      }
      const skipped = canSkipWrite(existing, value.envelope, now);
      if (skipped) {
        counters.count(family, "l2SkippedWrites");
      } else {
        const put = await l2.put(key, value, now);
        if (!put.ok) {
          counters.count(family, "writeFailures");
          return put;
        }
        counters.count(family, "l2Writes");
      }
      // L1 mirrors what KV holds: when skipped, that is the existing envelope (same bytes).
      const held = skipped && existing !== undefined ? { bytes: value.bytes, envelope: existing } : value;
      if (locals.length > 0) {
        let generation: string;
        try {
          generation = await generationFor(key, now);
        } catch {
          // KV is stored; without the generation no local copy is made (a copy under an old one could be purged).
          counters.count(family, "l1Failures");
          return { ok: true, skipped };
        }
        for (const tier of locals) await writeLocal(tier, key, held, now, generation);
      }
      return { ok: true, skipped };
    },

    async delete(key) {
      if (isReservedKey(key)) return;
      if (options.media !== undefined && key.startsWith(MEDIA_KEY_PREFIX)) await options.media.delete(key);
      await deleteCounted(key);
      await store.forgetLocal(key);
    },

    async keepLocal(key, value, now) {
      // A value the shield applied after this isolate's removal of the key is current here.
      const removed = options.memory.removedHere.keys.get(key);
      if (removed !== undefined && value.envelope.storedAt >= removed) options.memory.removedHere.keys.delete(key);
      if (locals.length === 0 || isReservedKey(key) || value.envelope.expiresAt <= now) return;
      let generation: string;
      try {
        generation = await generationFor(key, now);
      } catch {
        // As in `write`: the value is stored; without the generation no local copy is made (one
        // under an old token could be purged), and no caller's answer fails for it. The copies
        // this isolate may have made go (under the token it remembers; L0 ignores the token),
        // so it does not serve the value this one replaced.
        counters.count(value.envelope.family, "l1Failures");
        const family = familyOf(key);
        const remembered = family === undefined ? undefined : options.memory.generations.get(family)?.token;
        await deleteLocal(key, [remembered ?? INITIAL_GENERATION]).catch(() => undefined);
        return;
      }
      for (const tier of locals) await writeLocal(tier, key, value, now, generation);
    },

    async forgetLocal(key, now) {
      if (isReservedKey(key)) return;
      if (now !== undefined) {
        pruneRemoved(now);
        options.memory.removedHere.keys.set(key, now);
      }
      if (locals.length === 0) return;
      // No `now` here, so no memory-age check: delete under every token this isolate may have used.
      const family = familyOf(key);
      await deleteLocal(key, family === undefined ? [INITIAL_GENERATION] : await generations.known(family));
    },

    async list({ prefix, cursor, limit }) {
      if (prefix !== undefined && isReservedKey(prefix)) return { keys: [], cursor: null };
      const page = await listCounted({
        ...(prefix !== undefined && prefix !== "" ? { prefix } : {}),
        ...(cursor !== undefined && cursor !== "" ? { cursor } : {}),
        limit: Math.max(1, Math.min(limit ?? KV_LIST_MAX_LIMIT, KV_LIST_MAX_LIMIT)),
      });
      const keys = page.keys
        .filter((k) => !isReservedKey(k.name))
        .map((k) => {
          const meta = k.metadata as { expiresAt?: unknown } | null | undefined;
          const expiresAt = typeof meta?.expiresAt === "number" ? meta.expiresAt : null;
          return { name: k.name, expiresAt };
        });
      return { keys, cursor: page.list_complete ? null : page.cursor };
    },

    async purge(selector, now) {
      let keys: string[];
      let cursor: string | null;
      let l1Generations: (key: string) => Promise<string[]>;

      if ("keys" in selector) {
        keys = selector.keys;
        cursor = null;
        l1Generations = async (key) => [await generationFor(key, now)];
      } else {
        if ("family" in selector) {
          // Bump once, on the first page: KV allows one write per second to the generation key.
          const bumped =
            selector.cursor === undefined
              ? await generations.bump(selector.family, now)
              : { previous: await generations.current(selector.family, now), next: undefined };
          const tokens = [bumped.previous, ...(bumped.next === undefined ? [] : [bumped.next])];
          l1Generations = async () => tokens;
        } else {
          l1Generations = async (key) => [await generationFor(key, now)];
          if (selector.cursor === undefined) {
            pruneRemoved(now);
            options.memory.removedHere.prefixes.set(selector.prefix, now);
          }
        }
        if (options.media !== undefined && selector.prefix.startsWith(MEDIA_KEY_PREFIX)) {
          // Media keys live only as R2 pointers: page through those instead of KV.
          const page = await options.media.listKeys(selector.prefix, selector.cursor, pageSize);
          keys = page.keys;
          cursor = page.cursor;
        } else {
          const page = await listCounted({
            prefix: selector.prefix,
            limit: pageSize,
            ...(selector.cursor !== undefined && selector.cursor !== "" ? { cursor: selector.cursor } : {}),
          });
          keys = page.keys.map((k) => k.name);
          cursor = page.list_complete ? null : page.cursor;
        }
      }

      // A family's literal prefix can be shared by another family (`daily_journey_share_links:`
      // also starts every `…:unique_views:…` key), so a family purge deletes only its own keys.
      const onlyFamily = "family" in selector ? selector.family : undefined;
      const targets = keys.filter(
        (key) =>
          !isReservedKey(key) && keyProblem(key) === null && (onlyFamily === undefined || familyOf(key) === onlyFamily),
      );
      await forEachLimited(targets, PURGE_DELETE_CONCURRENCY, async (key) => {
        if (options.media !== undefined && key.startsWith(MEDIA_KEY_PREFIX)) await options.media.delete(key);
        await deleteCounted(key);
        await deleteLocal(key, await l1Generations(key));
        counters.count(familyLabel(key), "purged");
      });
      return { purged: targets.length, cursor, visibleWithinSeconds };
    },

  };
  return store;
}
