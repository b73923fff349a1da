/**
 * What a read through the cache found (docs/design.md §3): ONE result, with the facts as data —
 * the tier the bytes came from, whether they were a hit, a stale copy or a fill, whether a fill
 * was stored — read by every consumer (the routes, the admin-bit check, the delegated render, the
 * media routes, the request log) and reshaped by none. `Cache-Status` is written from it in one
 * place (./wire.ts).
 *
 * `V` is what a value is: a whole stored value for keys (`StoredValue`), a streamed body shaped by
 * a range plan for media (src/media/store.ts).
 */
import type { OriginError } from "../errors";
import type { StoredValue } from "../storage";

/**
 * Where a value's bytes came from: l0 isolate memory, l1 the colo's Cache API, l2 KV, r2 the
 * media object store, shield the family shield's own storage (a fill it answered without asking
 * the origin), origin the values endpoint.
 */
export type CacheTier = StoredTier | "shield" | "origin";

/** The tiers a hit (or a stale copy) is read from. */
export type StoredTier = "l0" | "l1" | "l2" | "r2";

export type CacheResult<V = StoredValue> =
  /** Fresh from a tier. */
  | { kind: "value"; state: "hit"; tier: StoredTier; value: V }
  /**
   * Filled after a miss. `stored`: the value was (or is being) written (false when it was already
   * expired, or may not be stored: a disabled family, a negative answer kept in the colo, a fill
   * the shield did not commit). `requested`: the client asked for the refill (`Pragma: no-cache`).
   */
  | { kind: "value"; state: "miss"; tier: "shield" | "origin"; value: V; stored: boolean; requested: boolean }
  /** Past its expiry, served within STALE_IF_ERROR_SECONDS because the origin failed. */
  | { kind: "value"; state: "stale"; tier: StoredTier; value: V; originError: OriginError }
  /** The origin says there is no such value; `remembered`: this isolate knew it already (./fill-guard.ts). */
  | { kind: "absent"; remembered: boolean }
  /** The edge cannot answer from the cache now; the request's origin answers it. */
  | CacheUnavailable;

export type CacheUnavailable =
  /** The family's fill budget is spent (./fill-guard.ts): no fill was tried. */
  | { kind: "unavailable"; reason: "busy" }
  /** The origin does not serve this family (values endpoint 501, or a plain 404). */
  | { kind: "unavailable"; reason: "unsupported"; message: string }
  /** The origin failed and nothing stale could stand in. */
  | { kind: "unavailable"; reason: "origin_error"; originError: OriginError }
  /**
   * Not the cache's to read: EDGE_DISABLED_FAMILIES, no media bucket bound, or a key the registry
   * refuses (the origin judges such input).
   */
  | { kind: "unavailable"; reason: "disabled" | "unbound" | "bad_key"; message: string };

export type CacheValue<V = StoredValue> = Extract<CacheResult<V>, { kind: "value" }>;

/** Why the edge cannot answer from this result, in words for a passthrough's reason (never a value). */
export function describeUnavailable(result: CacheUnavailable): string {
  switch (result.reason) {
    case "busy":
      return "family fill budget spent";
    case "origin_error":
      return `origin error ${result.originError.status}: ${result.originError.message}`;
    case "unsupported":
    case "disabled":
    case "unbound":
    case "bad_key":
      return result.message;
    default:
      return result satisfies never;
  }
}
