/**
 * Bounds on origin fills caused by misses (docs/reliability.md "Abuse"), so requests for random
 * keys cannot become unbounded origin fills. Both apply in the read-through (./read-through.ts), in front of the
 * filler, so the in-isolate fill and the FamilyShield fill pass the same checks.
 *
 * - Negative caching, only for families whose backend route itself caches the negative answer
 *   (the registry's `absenceCachedBy`, listed in docs/routes.md "Remembered absences"): the
 *   origin's `absent` answer for such a key is remembered for `ABSENT_LIFETIME_SECONDS`, in this
 *   isolate only; a miss on it answers `absent` with no fill. Every other family asks the origin
 *   on every miss, as the backend asks its database (an image export, part or transcript created
 *   a moment after a miss is served at once). It is never a value (nothing is written to any
 *   tier), a forced refresh (`Pragma: no-cache`) skips it, and admin writes, deletes and purges
 *   through this isolate drop it. Elsewhere it ends by its lifetime, which is shorter than the L1
 *   bound (`L1_MAX_AGE_SECONDS`), so an admin write is visible within the purge bound that already
 *   holds (docs/storage-schema.md).
 * - Fill budget: at most `FILL_BUDGET_PER_FAMILY` fills of one family in flight per isolate
 *   (coalesced misses of one key share one). Past it the load answers `busy`: a stale copy is
 *   served if one exists, else an edge route passes the request through (the origin answers it
 *   once, no fill, nothing stored) and the admin/delegated paths answer 503 `busy` with
 *   `Retry-After`.
 */

import type { FamilyEntry } from "../keys";

export const ABSENT_LIFETIME_SECONDS = 10;
/** Memory bound: past it the oldest remembered absences are forgotten first. */
export const ABSENT_MAX_KEYS = 10_000;
export const FILL_BUDGET_PER_FAMILY = 16;
/** What a refused caller is told to wait: fills finish within ORIGIN_TIMEOUT_MS (seconds). */
export const FILL_BUDGET_RETRY_AFTER_SECONDS = 1;

/** The wire answer where no passthrough is possible (a delegated render's template). */
export const FILL_BUDGET_SPENT = {
  type: "busy",
  message: "too many origin fills for this family in flight; retry shortly",
  retryAfterSeconds: FILL_BUDGET_RETRY_AFTER_SECONDS,
} as const;

/**
 * The guard's memory in one isolate (src/isolate.ts): remembered absences (key → unix second
 * until which the origin's `absent` is trusted; insertion order = age) and the fills in flight
 * (family → key → callers waiting on that key's fill).
 */
export interface FillGuard {
  isKnownAbsent(family: FamilyEntry, key: string, now: number): boolean;
  rememberAbsent(family: FamilyEntry, key: string, now: number): void;
  /** An admin write or delete of `key` (or a fill that found a value). */
  forgetAbsent(key: string): void;
  /** An admin purge: rare, so every remembered absence goes rather than matching its selector. */
  forgetAllAbsent(): void;
  /**
   * Runs `fill` if the family has budget left, else answers `busy` without calling it. The budget
   * counts distinct keys: a caller whose key is already being filled joins it (the filler
   * coalesces them into one origin call) and takes no slot, so a hot key is never refused. The
   * slot is held until the fill settles, thrown or not.
   */
  withinFillBudget<T>(family: string, key: string, fill: () => Promise<T>): Promise<T | { kind: "busy" }>;
}

/** Whether the origin's `absent` for keys of `family` may be remembered at all. */
function remembersAbsence(family: FamilyEntry): boolean {
  return family.absenceCachedBy !== undefined;
}

export function createFillGuard(): FillGuard {
  const absentUntil = new Map<string, number>();
  const fillsInFlight = new Map<string, Map<string, number>>();
  return {
    isKnownAbsent(family, key, now) {
      if (!remembersAbsence(family)) return false;
      const until = absentUntil.get(key);
      if (until === undefined) return false;
      if (until > now) return true;
      absentUntil.delete(key);
      return false;
    },
    rememberAbsent(family, key, now) {
      if (!remembersAbsence(family)) return;
      absentUntil.delete(key); // re-inserted as the newest
      absentUntil.set(key, now + ABSENT_LIFETIME_SECONDS);
      while (absentUntil.size > ABSENT_MAX_KEYS) {
        const oldest = absentUntil.keys().next().value;
        if (oldest === undefined) break;
        absentUntil.delete(oldest);
      }
    },
    forgetAbsent(key) {
      absentUntil.delete(key);
    },
    forgetAllAbsent() {
      absentUntil.clear();
    },
    async withinFillBudget(family, key, fill) {
      let keys = fillsInFlight.get(family);
      const joining = keys?.get(key);
      if (joining === undefined && keys !== undefined && keys.size >= FILL_BUDGET_PER_FAMILY) return { kind: "busy" };
      if (keys === undefined) {
        keys = new Map();
        fillsInFlight.set(family, keys);
      }
      keys.set(key, (joining ?? 0) + 1);
      try {
        return await fill();
      } finally {
        const left = (keys.get(key) ?? 1) - 1;
        if (left > 0) keys.set(key, left);
        else keys.delete(key);
        if (keys.size === 0 && fillsInFlight.get(family) === keys) fillsInFlight.delete(family);
      }
    },
  };
}
