/**
 * Everything the Worker keeps for as long as its isolate lives, in one object (docs/design.md
 * "Per-isolate state"): the L0 memory, remembered generations, fills in flight, the refreshes ahead asked for, the fill guard's
 * remembered absences and budget, media fills in flight, this second's tokens and the imported
 * keys, compiled templates, the admin API's memory of the origin's admin bits, counters, and what
 * is built once per parsed configuration. Workers
 * share no memory between isolates, so none of it is global truth; it is a cache of this
 * isolate's work.
 *
 * `createWorker` (src/index.ts) makes one unless given one, so the default export has exactly one
 * per isolate. Tests that play several isolates create several and pass each to the workers that
 * act as that isolate (test/helpers/worker.ts). Nothing else in `src/` holds mutable state at
 * module level (test-node/style/module-state.test.ts).
 */
import { createAdminBitMemo, type AdminBitMemo } from "./admin/admin-bit";
import { createTokenMemory, type TokenMemory } from "./auth/jwt";
import type { MediaFlights } from "./media/store";
import { createFillGuard, type FillGuard } from "./cache/fill-guard";
import { createRefreshMemory, type RefreshMemory } from "./cache/refresh-ahead";
import type { InFlight } from "./storage/single-flight";
import { createTemplateCache, type TemplateCache } from "./render/templates";
import { createCounters, createStats, type Stats } from "./stats";
import { createStoreMemory, type StoreMemory } from "./storage/tiered";

export interface Isolate {
  /** A random id, so an operator (and a test) can tell which isolate answered `/stats`. */
  readonly id: string;
  readonly storage: StoreMemory;
  readonly tokens: TokenMemory;
  readonly templates: TemplateCache;
  /**
   * The origin's admin bits the admin API (`/_edge/v1`) admitted id tokens on, written by nothing
   * else (src/admin/admin-bit.ts).
   */
  readonly adminBits: AdminBitMemo;
  /** Remembered absences and the fill budget (src/cache/fill-guard.ts). */
  readonly fillGuard: FillGuard;
  /** The refreshes ahead this isolate asked for, once per key per lifetime (src/cache/refresh-ahead.ts). */
  readonly refreshes: RefreshMemory;
  /** Fills in flight, so concurrent misses of a key share one (src/cache/filler.ts, src/shield/filler.ts). */
  readonly fills: InFlight;
  /** Media fills in flight (src/media/store.ts). */
  readonly mediaFlights: MediaFlights;
  /**
   * The isolate's counters (src/stats.ts), the store's among them; `since` is the clock at the first
   * request this isolate served.
   */
  stats(clock: () => number): Stats;
  /**
   * Once per isolate per `what`: true the first time (a missing binding is said once, not per
   * request).
   */
  firstTime(what: string): boolean;
  /**
   * A value built once per isolate for one owner object (a parsed config, an env), e.g. the
   * origin client of a config. Weakly held: a new env (tests) builds anew.
   */
  memo<K extends object, V>(slot: string, owner: K, build: (owner: K) => V): V;
}

export function createIsolate(givenId?: string): Isolate {
  // Made at the first request: the default export's isolate object is created at module load,
  // where the platform forbids generating random values.
  let id = givenId;
  const idOf = (): string => (id ??= crypto.randomUUID());
  const counters = createCounters();
  let stats: Stats | undefined;
  const said = new Set<string>();
  const memos = new Map<string, WeakMap<object, unknown>>();
  return {
    get id() {
      return idOf();
    },
    storage: createStoreMemory(counters),
    tokens: createTokenMemory(),
    templates: createTemplateCache(),
    adminBits: createAdminBitMemo(),
    mediaFlights: new Map(),
    fillGuard: createFillGuard(),
    fills: new Map(),
    refreshes: createRefreshMemory(),
    stats(clock) {
      stats ??= createStats(clock(), idOf(), counters);
      return stats;
    },
    firstTime(what) {
      if (said.has(what)) return false;
      said.add(what);
      return true;
    },
    memo(slot, owner, build) {
      let table = memos.get(slot);
      if (table === undefined) {
        table = new WeakMap();
        memos.set(slot, table);
      }
      if (table.has(owner)) return table.get(owner) as ReturnType<typeof build>;
      const value = build(owner);
      table.set(owner, value);
      return value;
    },
  };
}
