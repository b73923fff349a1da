/**
 * Storage counters per family, for `GET /_edge/v1/stats`. They describe the isolate that answers
 * (Workers share no memory across isolates); global figures belong in Workers Analytics.
 */

export const STORAGE_COUNTERS = [
  "l0Hits",
  "l1Hits",
  "l2Hits",
  "misses",
  "stale",
  "backFills",
  "writes",
  "skippedWrites",
  "writeFailures",
  "retries429",
  "purged",
  // KV or Cache API calls that threw; the request was still answered (another tier or the origin).
  "readFailures",
  "deleteFailures",
  "listFailures",
  "l1Failures",
] as const;

export type StorageCounter = (typeof STORAGE_COUNTERS)[number];

export type StorageCounterValues = Record<StorageCounter, number>;

/** Family used for events whose key matches no known family (e.g. a miss with no `familyOf`). */
export const UNKNOWN_FAMILY = "(unknown)";

export interface StorageCounters {
  count(family: string, counter: StorageCounter, by?: number): void;
  /** A plain copy, safe to serialise. */
  snapshot(): Record<string, StorageCounterValues>;
}

export function createStorageCounters(): StorageCounters {
  const families = new Map<string, StorageCounterValues>();
  return {
    count(family, counter, by = 1) {
      let entry = families.get(family);
      if (entry === undefined) {
        entry = Object.fromEntries(STORAGE_COUNTERS.map((c) => [c, 0])) as StorageCounterValues;
        families.set(family, entry);
      }
      entry[counter] += by;
    },
    snapshot() {
      return Object.fromEntries([...families].map(([family, values]) => [family, { ...values }]));
    },
  };
}
