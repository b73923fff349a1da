/**
 * The ordering rule of one shield (docs/storage-schema.md §Ordering), pure: a purge, DELETE or
 * PUT that arrives after a fill *started* wins; the fill may answer its waiters but writes
 * nothing. Each event takes the next number of one sequence; a fill (or lease) remembers the
 * number it started at and may commit only if no write to its key, and no purge covering its key,
 * took a later number.
 *
 * Held in memory: the fills it judges live in the same instance (an evicted shield has no fills
 * in flight), so the marks are dropped whenever no fill is in flight.
 */

export interface Ordering {
  seq: number;
  /** Fills and leases begun and not yet ended. */
  open: number;
  /** Key → sequence number of its latest write (PUT, DELETE, key purge, forced refresh). */
  lastWrite: Map<string, number>;
  /** Family (prefix "") and prefix purges, with their sequence numbers. */
  purges: { prefix: string; seq: number }[];
}

export function createOrdering(): Ordering {
  return { seq: 0, open: 0, lastWrite: new Map(), purges: [] };
}

/** A fill or lease starts: its sequence number. Pair with `endFill`. */
export function beginFill(ordering: Ordering): number {
  ordering.open += 1;
  return ++ordering.seq;
}

export function endFill(ordering: Ordering): void {
  ordering.open = Math.max(0, ordering.open - 1);
  if (ordering.open === 0) {
    ordering.lastWrite.clear();
    ordering.purges.length = 0;
  }
}

export function noteWrite(ordering: Ordering, key: string): void {
  if (ordering.open === 0) return; // nothing in flight to lose to it
  ordering.lastWrite.set(key, ++ordering.seq);
}

export function notePurge(ordering: Ordering, prefix: string): void {
  if (ordering.open === 0) return;
  ordering.purges.push({ prefix, seq: ++ordering.seq });
}

/** Whether a fill of `key` that began at `startedAt` may still write. */
export function mayCommit(ordering: Ordering, key: string, startedAt: number): boolean {
  if ((ordering.lastWrite.get(key) ?? 0) > startedAt) return false;
  return !ordering.purges.some((purge) => purge.seq > startedAt && key.startsWith(purge.prefix));
}

/**
 * `X-Edge-Source-Time` (the time of the event an admin write applies): a write older than the
 * newest one applied to the key is dropped, so a retried or duplicated old PUT cannot overwrite a
 * newer DELETE. Without a source time on either side there is nothing to compare: it applies.
 */
export function isLateWrite(newestApplied: number | undefined, sourceTime: number | undefined): boolean {
  return newestApplied !== undefined && sourceTime !== undefined && sourceTime < newestApplied;
}

/** Forced refreshes of one key reach the origin at most once per this many seconds. */
export const REFRESH_MIN_INTERVAL_SECONDS = 3;

/** Whether a forced refresh at `now` may reach the origin, given the last one that did. */
export function refreshAllowed(lastRefreshAt: number | undefined, now: number): boolean {
  return lastRefreshAt === undefined || now < lastRefreshAt || now - lastRefreshAt >= REFRESH_MIN_INTERVAL_SECONDS;
}
