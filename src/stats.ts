/**
 * In-isolate counters per family for `GET /_edge/v1/stats`. Workers have no shared memory across
 * isolates, so these describe the isolate that answers the stats call (documented in the README);
 * durable, global figures belong in Workers Analytics / logs.
 */

export type Counter = "hits" | "misses" | "staleServes" | "fills" | "originErrors" | "writes" | "skippedWrites" | "absentHits" | "fillsRefused";

export const COUNTERS: readonly Counter[] = [
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
];

export type FamilyCounters = Record<Counter, number>;

export interface StatsSink {
  count(family: string, counter: Counter, by?: number): void;
}

export interface Stats extends StatsSink {
  /** A random id per isolate, so an operator can tell which isolate answered. */
  readonly isolate: string;
  /** `since`: when the isolate started counting (unix seconds). */
  snapshot(): { isolate: string; since: number; families: Record<string, FamilyCounters> };
}

export function createStats(now: number, isolate: string = crypto.randomUUID()): Stats {
  const families = new Map<string, FamilyCounters>();
  return {
    isolate,
    count(family, counter, by = 1) {
      let entry = families.get(family);
      if (entry === undefined) {
        entry = Object.fromEntries(COUNTERS.map((name) => [name, 0])) as FamilyCounters;
        families.set(family, entry);
      }
      entry[counter] += by;
    },
    snapshot() {
      return { isolate, since: now, families: Object.fromEntries([...families].map(([k, v]) => [k, { ...v }])) };
    },
  };
}
