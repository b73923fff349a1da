/**
 * `Cache-Status` (RFC 9211): what the edge tells a client about how its answer relates to the
 * cache (docs/design.md §7), written from the answer's `Served` in one place (`cacheStatusOf`).
 * The cache name is `oseh-edge`; `detail` says which tier answered:
 * - `oseh-edge; hit; detail=l1` / `detail=l2` (`detail=l0`: isolate memory; `detail=r2`: the
 *   media object store): fresh from that tier;
 * - `oseh-edge; fwd=miss; stored`: filled from the origin and stored (`fwd=miss` without `stored`
 *   when the value could not be stored, e.g. already expired);
 * - `oseh-edge; fwd=request; stored`: the client asked for a refill (`Pragma: no-cache`);
 * - `oseh-edge; hit; detail=stale-if-error; fwd-status=502`: the origin failed and the last good
 *   value, within STALE_IF_ERROR_SECONDS, was served;
 * - `oseh-edge; fwd=bypass`: passed through, not the edge's to cache;
 * - `oseh-edge; fwd=bypass; detail=not-consulted`: answered at the edge without reading the cache
 *   (an auth failure, a 422);
 * - `oseh-edge; fwd=miss; fwd-status=504; detail=origin-error`: the edge's own error answer.
 */
import type { CacheResult, StoredTier } from "./result";

export const CACHE_NAME = "oseh-edge";

/**
 * How one answer relates to the cache: the one fact its `Cache-Status` and its request-log line
 * (src/observe) are written from.
 */
export type Served =
  /** Made from this read (a route's body, a delegated render's template). */
  | { kind: "cache"; result: CacheResult<unknown> }
  /** The origin's own answer, passed through. */
  | { kind: "bypass" }
  /** Answered at the edge without reading the cache (an auth failure, a 422). */
  | { kind: "not-consulted" }
  /** The edge's error answer for an origin that failed, or whose answer it cannot render. */
  | { kind: "origin-error"; status: 502 | 504 }
  /** The edge's own API and its own refusals: no `Cache-Status`. */
  | { kind: "own" };

export function cacheStatusHit(tier: StoredTier): string {
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

export const CACHE_STATUS_NOT_CONSULTED = `${CACHE_NAME}; fwd=bypass; detail=not-consulted`;

export function cacheStatusError(originStatus: number): string {
  return `${CACHE_NAME}; fwd=miss; fwd-status=${originStatus}; detail=origin-error`;
}

function resultStatus(result: CacheResult<unknown>): string {
  switch (result.kind) {
    case "value":
      switch (result.state) {
        case "hit":
          return cacheStatusHit(result.tier);
        case "miss":
          return cacheStatusMiss(result.stored, result.requested);
        case "stale":
          return cacheStatusStale(result.originError.status);
        default:
          return result satisfies never;
      }
    case "absent":
      return cacheStatusMiss(false);
    case "unavailable":
      return result.reason === "origin_error" ? cacheStatusError(result.originError.status) : cacheStatusMiss(false);
    default:
      return result satisfies never;
  }
}

/** The edge's `Cache-Status` entry for an answer, or null when it adds none. */
export function cacheStatusOf(served: Served): string | null {
  switch (served.kind) {
    case "cache":
      return resultStatus(served.result);
    case "bypass":
      return cacheStatusBypass();
    case "not-consulted":
      return CACHE_STATUS_NOT_CONSULTED;
    case "origin-error":
      return cacheStatusError(served.status);
    case "own":
      return null;
    default:
      return served satisfies never;
  }
}
