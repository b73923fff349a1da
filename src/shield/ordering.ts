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

/**
 * How far ahead of the edge's clock a source time may be (docs/admin-api.md). The relay sends the
 * backend's own event times, so a little skew between the backend's clock and Cloudflare's is
 * normal; a time further ahead would order every honest write of the key before it for as long as
 * its mark lives.
 */
export const SOURCE_TIME_MAX_AHEAD_SECONDS = 60;

export function isSourceTimeTooFarAhead(sourceTime: number, now: number): boolean {
  return sourceTime > now + SOURCE_TIME_MAX_AHEAD_SECONDS;
}

/**
 * A source time the shield remembers (docs/storage-schema.md §Shield): a key's newest applied
 * write, or a family/prefix purge covering the key. It orders later writes until `keepUntil`
 * (unix seconds, the callers' clock), and is then as if it were not there.
 */
export interface SourceMark {
  t: number;
  keepUntil: number;
}

/** The newest source time among `marks` still in force at `now`; undefined when none is. */
export function newestInForce(marks: Iterable<SourceMark>, now: number): number | undefined {
  let newest: number | undefined;
  for (const mark of marks) {
    if (mark.keepUntil > now && (newest === undefined || mark.t > newest)) newest = mark.t;
  }
  return newest;
}

/**
 * Until when a write's mark lives: as long as the value it wrote (an older retried PUT must not
 * replace it while it is served), and at least `windowSeconds` after the write — the time within
 * which a retried older write may still arrive (`SOURCE_TIME_WINDOW_SECONDS`). A DELETE or purge
 * guards no value: its mark (a tombstone) lives the window.
 */
export function markKeepUntil(now: number, windowSeconds: number, valueExpiresAt?: number): number {
  return Math.max(now + windowSeconds, valueExpiresAt ?? Number.NEGATIVE_INFINITY);
}

/** A purge mark recorded again for the same prefix: the newer time, the longer life. */
export function mergeMarks(existing: SourceMark | undefined, next: SourceMark, now: number): SourceMark {
  if (existing === undefined || existing.keepUntil <= now) return next;
  return { t: Math.max(existing.t, next.t), keepUntil: Math.max(existing.keepUntil, next.keepUntil) };
}

/** Forced refreshes of one key reach the origin at most once per this many seconds. */
export const REFRESH_MIN_INTERVAL_SECONDS = 3;

/** Whether a forced refresh at `now` may reach the origin, given the last one that did. */
export function refreshAllowed(lastRefreshAt: number | undefined, now: number): boolean {
  return lastRefreshAt === undefined || now < lastRefreshAt || now - lastRefreshAt >= REFRESH_MIN_INTERVAL_SECONDS;
}
