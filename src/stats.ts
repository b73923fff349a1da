/**
 * The Worker's counters per family, one registry for `GET /_edge/v1/stats` (docs/admin-api.md).
 * Every counter has one name and one section of the answer: `families`, counted on the request
 * path (reads through the cache, fills, admin writes; also the Analytics Engine data points,
 * docs/deploy.md), and `storage`, counted by the tiered store (tier hits, KV writes, failures the
 * request survived). Workers share no memory across isolates, so these describe the isolate that
 * answers the stats call; durable, global figures belong in Workers Analytics.
 */

/** The `families` section, in the Analytics Engine data point's order (docs/deploy.md). */
export const FAMILY_COUNTERS = [
  "hits",
  "misses",
  "staleServes",
  "fills",
  "originErrors",
  "writes",
  "skippedWrites",
  // Misses answered from a remembered `absent`, and fills refused past the family's fill budget
  // (src/cache/fill-guard.ts).
  "absentHits",
  "fillsRefused",
  // Refreshes ahead this isolate asked for (a hit in a value's last tenth of life or last 60 s,
  // once per key per lifetime per isolate), and those that failed: the origin failed or the
  // shield could not be reached (docs/storage-schema.md §Refresh ahead). A failure is counted when
  // the background refresh ends, so only here, never in the request's data point.
  "refreshes",
  "refreshFailures",
] as const;

/** The `storage` section (docs/storage-schema.md "Counters"): KV's own misses and writes are `l2…`. */
export const STORAGE_COUNTERS = [
  "l0Hits",
  "l1Hits",
  "l2Hits",
  "l2Misses",
  "stale",
  "backFills",
  "l2Writes",
  "l2SkippedWrites",
  "writeFailures",
  "retries429",
  "purged",
  // KV or Cache API calls that threw; the request was still answered (another tier or the origin).
  "readFailures",
  "deleteFailures",
  "listFailures",
  "l1Failures",
] as const;

export type FamilyCounter = (typeof FAMILY_COUNTERS)[number];
export type StorageCounter = (typeof STORAGE_COUNTERS)[number];
export type Counter = FamilyCounter | StorageCounter;

export type FamilyCounters = Record<FamilyCounter, number>;
export type StorageCounterValues = Record<StorageCounter, number>;

/** Family used for events whose key matches no known family (e.g. a miss with no `familyOf`). */
export const UNKNOWN_FAMILY = "(unknown)";

export interface StatsSink {
  count(family: string, counter: Counter, by?: number): void;
}

export interface CountsSnapshot {
  families: Record<string, FamilyCounters>;
  storage: Record<string, StorageCounterValues>;
}

/** The registry itself: what an isolate (src/isolate.ts) or a shield's store counts into. */
export interface Counters extends StatsSink {
  /** Plain copies, safe to serialise; a family appears in a section once it counted there. */
  snapshot(): CountsSnapshot;
}

const SECTION_OF: Readonly<Record<Counter, keyof CountsSnapshot>> = {
  ...(Object.fromEntries(FAMILY_COUNTERS.map((name) => [name, "families"])) as Record<FamilyCounter, "families">),
  ...(Object.fromEntries(STORAGE_COUNTERS.map((name) => [name, "storage"])) as Record<StorageCounter, "storage">),
};

export function createCounters(): Counters {
  const sections = { families: new Map<string, Record<string, number>>(), storage: new Map<string, Record<string, number>>() };
  const names = { families: FAMILY_COUNTERS, storage: STORAGE_COUNTERS };
  return {
    count(family, counter, by = 1) {
      const section = SECTION_OF[counter];
      const families = sections[section];
      let entry = families.get(family);
      if (entry === undefined) {
        entry = Object.fromEntries(names[section].map((name) => [name, 0]));
        families.set(family, entry);
      }
      entry[counter] = (entry[counter] ?? 0) + by;
    },
    snapshot() {
      const copy = <T>(families: Map<string, Record<string, number>>) => Object.fromEntries([...families].map(([name, values]) => [name, { ...values } as T]));
      return { families: copy<FamilyCounters>(sections.families), storage: copy<StorageCounterValues>(sections.storage) };
    },
  };
}

export interface Stats extends Counters {
  /** A random id per isolate, so an operator can tell which isolate answered. */
  readonly isolate: string;
  /** `since`: when the isolate started counting (unix seconds). */
  snapshot(): { isolate: string; since: number } & CountsSnapshot;
}

/** The registry as `/stats` reports it: `counters` named by its isolate and the time it started. */
export function createStats(now: number, isolate: string, counters: Counters = createCounters()): Stats {
  return {
    isolate,
    count: (family, counter, by) => counters.count(family, counter, by),
    snapshot: () => ({ isolate, since: now, ...counters.snapshot() }),
  };
}
