/**
 * What the shield tests share: the real `FAMILY_SHIELD`, KV and Cache API, a shield client and an
 * origin fill against the dev origin, and isolates of the Worker built from the core's parts.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createTokenMemory } from "../../src/auth/jwt";
import { createCacheReader, type CacheResult, type Filler, type FetchFill, type ReadOptions } from "../../src/cache";
import { parseConfig } from "../../src/config";
import { createIsolate } from "../../src/isolate";
import { createOriginClient, createOriginFill } from "../../src/origin";
import { createShieldClient, createShieldFiller, shieldNameFor, type FamilyShield, type ShieldClient } from "../../src/shield";
import { createStats } from "../../src/stats";
import { createTieredStore, type TieredStore } from "../../src/storage";
import { familyOf } from "../cache/helpers";

export { familyOf };

export const config = parseConfig(env);
export const binding = (env as unknown as { FAMILY_SHIELD: DurableObjectNamespace<FamilyShield> }).FAMILY_SHIELD;
export const KV = (env as unknown as { CACHE: KVNamespace }).CACHE;
export const shield: ShieldClient = createShieldClient(binding, { shards: config.shieldShards });
const origin = createOriginClient({
  tokens: createTokenMemory(),
  // Longer than any hold these tests put on the origin: a fill they race must not time out.
  config: { originUrl: config.originUrl, originTimeoutMs: 10_000, edgeOriginSecret: config.secrets.edgeOrigin },
});
export const fetchFill: FetchFill = createOriginFill({ origin, collabMaxSeconds: config.collabMaxSeconds });
export const EDGE = "http://edge.test";

export function shieldStub(key: string): DurableObjectStub<FamilyShield> {
  return binding.get(binding.idFromName(shieldNameFor(familyOf(key), key, config.shieldShards)));
}

/** What the key's shield keeps in its own storage, as text. */
export function shieldRow(key: string): Promise<string | undefined> {
  return runInDurableObject(shieldStub(key), async (_instance: FamilyShield, state) => {
    const row = state.storage.sql.exec<{ bytes: ArrayBuffer }>(`SELECT bytes FROM vals WHERE key = ?`, key).toArray()[0];
    return row === undefined ? undefined : new TextDecoder().decode(row.bytes);
  });
}

export interface TestIsolate {
  store: TieredStore;
  stats: ReturnType<typeof createStats>;
  /** The tiered store's read alone (no fill). */
  read(key: string, now: number): ReturnType<TieredStore["read"]>;
  /** One read through the core: its answer as soon as it has one; `settle` waits for its background work. */
  start(key: string, now: number, options?: ReadOptions): Promise<CacheResult>;
  /** One read through the core, its background work (a refresh among it) settled. */
  load(key: string, now: number, options?: ReadOptions): Promise<CacheResult>;
  settle(): Promise<void>;
}

/**
 * An isolate of the Worker as production runs it (L0 on at L0_MAX_BYTES, the shield filling):
 * its own memory, and the default colo's Cache API or none (`l1: false`, another colo). `filler`
 * replaces the shield's filler (a shield that cannot be reached, no shield at all).
 */
export function testIsolate(options: { l1?: boolean; filler?: (store: TieredStore, fills: Map<string, Promise<unknown>>) => Filler } = {}): TestIsolate {
  const pending: Promise<unknown>[] = [];
  const waitUntil = (promise: Promise<unknown>) => void pending.push(promise);
  const own = createIsolate();
  const store = createTieredStore({
    kv: KV,
    ...(options.l1 === false ? {} : { cache: caches.default }),
    l0MaxBytes: config.l0MaxBytes,
    l1MaxAgeSeconds: config.l1MaxAgeSeconds,
    staleIfErrorSeconds: config.staleIfErrorSeconds,
    baseUrl: EDGE,
    memory: own.storage,
  });
  const filler = (options.filler ?? ((s, fills) => createShieldFiller(shield, s, fetchFill, fills)))(store, own.fills);
  const reader = createCacheReader({ store, filler, guard: own.fillGuard, disabled: new Set(), refreshes: own.refreshes });
  const stats = createStats(0, own.id);
  const settle = async () => {
    while (pending.length > 0) await Promise.allSettled(pending.splice(0));
  };
  const start = (key: string, now: number, read: ReadOptions = {}) => reader.read(key, familyOf(key), { now, waitUntil, stats }, read);
  return {
    store,
    stats,
    read: (key, now) => store.read(key, now, waitUntil),
    start,
    async load(key, now, read) {
      const result = await start(key, now, read);
      await settle();
      return result;
    },
    settle,
  };
}
