/**
 * `Cache-Status` (RFC 9211) values the edge adds to its responses (docs/design.md §7). The cache name is
 * `oseh-edge`; `detail` says which tier answered. One function per outcome, so every route spells
 * them the same way:
 * - `oseh-edge; hit; detail=l1` / `detail=l2` (`detail=l0`: isolate memory): fresh from the colo cache / KV;
 * - `oseh-edge; fwd=miss; stored`: filled from the origin and stored (`fwd=miss` without `stored`
 *   when the value could not be stored, e.g. already expired);
 * - `oseh-edge; fwd=request; stored`: the client asked for a refill (`Pragma: no-cache`);
 * - `oseh-edge; hit; detail=stale-if-error; fwd-status=502`: the origin failed and the last good
 *   value, within STALE_IF_ERROR_SECONDS, was served;
 * - `oseh-edge; fwd=bypass`: passed through, not the edge's to cache;
 * - `oseh-edge; fwd=miss; fwd-status=504; detail=origin-error`: the edge's own error answer.
 */

export const CACHE_NAME = "oseh-edge";

/** l0: isolate memory; r2: the media object store (src/storage/r2-tier.ts). */
export type CacheTier = "l0" | "l1" | "l2" | "r2";

export function cacheStatusHit(tier: CacheTier): string {
  return `${CACHE_NAME}; hit; detail=${tier}`;
}

export function cacheStatusMiss(stored: boolean, requested = false): string {
  return `${CACHE_NAME}; fwd=${requested ? "request" : "miss"}${stored ? "; stored" : ""}`;
}

export function cacheStatusStale(originStatus: number): string {
  return `${CACHE_NAME}; hit; detail=stale-if-error; fwd-status=${originStatus}`;
}

export function cacheStatusBypass(): string {
  return `${CACHE_NAME}; fwd=bypass`;
}

export function cacheStatusError(originStatus: number): string {
  return `${CACHE_NAME}; fwd=miss; fwd-status=${originStatus}; detail=origin-error`;
}

/**
 * Adds the edge's entry after any the origin's own caches added: RFC 9211 lists caches in the
 * order they handled the response, the one nearest the client last.
 */
export function appendCacheStatus(headers: Headers, value: string): void {
  headers.append("Cache-Status", value);
}
