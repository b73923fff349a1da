/**
 * Who makes the fill after a miss (docs/design.md §4.2): one interface, two implementations,
 * chosen once where the Worker is wired (src/index.ts) — the family shields when the
 * `FAMILY_SHIELD` binding exists (src/shield/filler.ts: one fill per key for the whole edge, and
 * the ordering rule of docs/storage-schema.md §Ordering), else the in-isolate filler below (one
 * fill per key per isolate). Both get the origin's answer from a `FetchFill` (src/origin/fill.ts).
 */
import type { OriginError } from "../errors";
import type { FamilyEntry } from "../keys";
import { errorFields, logEvent } from "../log";
import { singleFlight, type InFlight, type StoredValue, type TieredStore } from "../storage";
import { timed, type Phases } from "./phases";

/** What one fill produced; shared by coalesced callers, so plain data only. */
export type Fill =
  /**
   * `stored`: the value was (or is being) written; `tier`: `shield` when the family's shield
   * answered from its own storage without asking the origin.
   */
  | { kind: "value"; value: StoredValue; stored: boolean; tier: "origin" | "shield" }
  | { kind: "absent" }
  /** The origin does not serve the family. */
  | { kind: "unsupported"; reason: string }
  | OriginError;

/**
 * How a refresh ahead ended: `refreshed` (the origin was asked and answered; a value it gave is
 * stored unless a write or purge that arrived meanwhile won), `done` (a refresh of this value's
 * lifetime, or a newer fill, got there first: the origin was not asked), `failed` (the origin
 * failed, or the shield could not be reached: nothing changed, the value expires as it would have).
 */
export type RefreshOutcome = { kind: "refreshed" } | { kind: "done" } | { kind: "failed"; message: string };

/**
 * One values-endpoint call turned into a fill — checked, given its expiry — that stores nothing:
 * `stored` says whether the value may be stored (it is not already expired).
 */
export type FetchFill = (key: string, family: FamilyEntry, now: number, options: { refresh: boolean }) => Promise<Fill>;

export interface FillOptions {
  /** The client asked for a refill (`Pragma: no-cache`): it reaches the origin as `Cache-Control: no-cache` and joins no older fill. */
  refresh: boolean;
  /** False: serve the fill once and store it nowhere (a family EDGE_DISABLED_FAMILIES names). */
  store: boolean;
  /** The request's `Server-Timing` phases (./phases.ts): the shield, origin and store times. */
  phases?: Phases;
}

/**
 * Makes the fill after a miss and stores its value, or declines to (ordering rule,
 * docs/storage-schema.md §Ordering). `waitUntil` is the request's: the fill's background writes,
 * and the fill itself (coalesced callers of other requests wait on it), outlive its answer.
 */
export interface Filler {
  fill(key: string, family: FamilyEntry, now: number, waitUntil: (promise: Promise<unknown>) => void, options: FillOptions): Promise<Fill>;
  /**
   * Refresh ahead (./refresh-ahead.ts): refills a value a hit found near its expiry `expiresAt`,
   * in the background; readers keep the value they have until the refill is stored. Never throws.
   */
  refreshAhead(key: string, family: FamilyEntry, expiresAt: number, now: number, waitUntil: (promise: Promise<unknown>) => void): Promise<RefreshOutcome>;
  /** The origin said the value is gone: drop every stored copy (in order with other writes). */
  forget(key: string, now: number): Promise<void>;
}

/**
 * A value that must stay in the colo that asked for it (docs/security.md §5, "anonymous requests
 * create stored entries"): the negative answer about a key of a family whose keys anonymous
 * requests name (the registry's `anonymousKeys`). Kept in L0/L1 only — never KV, never the shield
 * — so a made-up uid costs the edge nothing shared. Every writer of a fill honours it: the
 * in-isolate filler here, the shields' filler (src/shield/filler.ts) and the shield itself.
 */
export function staysInColo(family: FamilyEntry, value: StoredValue): boolean {
  return family.anonymousKeys?.isNegative(value.bytes) === true;
}

/** Namespaced, so the isolate's in-flight map can serve other coalescing uses too. */
const FILL_FLIGHT_PREFIX = "origin-fill:";
/** A refresh joins only another refresh (started no earlier than itself asked), never a plain fill. */
const REFRESH_FLIGHT_PREFIX = "origin-refresh:";
/** A refresh ahead joins only another of the same key: a plain fill in flight is as good, but rare on a hit. */
const AHEAD_FLIGHT_PREFIX = "refresh-ahead:";

/**
 * The fill with no shield bound: concurrent misses in this isolate share one origin call, and
 * the value is written in the background. Other isolates and colos fill on their own.
 */
export function createIsolateFiller(store: TieredStore, fetchFill: FetchFill, inFlight: InFlight): Filler {
  return {
    async fill(key, family, now, waitUntil, { refresh, store: storable, phases }) {
      const flight = `${refresh ? REFRESH_FLIGHT_PREFIX : FILL_FLIGHT_PREFIX}${key}`;
      // A coalesced caller waits on the same origin call: its time is this request's origin phase too.
      return timed(phases, "origin", () => singleFlight(
        inFlight,
        flight,
        async () => {
          const filled = await fetchFill(key, family, now, { refresh });
          if (filled.kind !== "value" || !filled.stored) return filled;
          if (!storable) return { ...filled, stored: false };
          if (staysInColo(family, filled.value)) {
            waitUntil(
              store.keepLocal(key, filled.value, now).catch((error: unknown) => {
                logEvent("colo copy not kept", { family: family.name, ...errorFields(error) });
              }),
            );
            return { ...filled, stored: false };
          }
          // Written in the background (docs/storage-schema.md); the response does not wait for KV.
          waitUntil(
            store.write(key, filled.value, now).then((written) => {
              if (!written.ok) logEvent("origin fill not stored", { family: family.name, reason: written.failure.reason, message: written.failure.message });
            }),
          );
          return filled;
        },
        waitUntil,
      ));
    },
    async refreshAhead(key, family, _expiresAt, now, waitUntil) {
      // Without shields nothing is edge-wide: each isolate refreshes its own hot keys once per lifetime.
      return singleFlight(
        inFlight,
        `${AHEAD_FLIGHT_PREFIX}${key}`,
        async (): Promise<RefreshOutcome> => {
          const filled = await fetchFill(key, family, now, { refresh: false });
          if (filled.kind === "error") return { kind: "failed", message: `origin error ${filled.status}: ${filled.message}` };
          if (filled.kind !== "value" || !filled.stored || staysInColo(family, filled.value)) return { kind: "refreshed" };
          const written = await store.write(key, filled.value, now);
          if (!written.ok) logEvent("refresh ahead not stored", { family: family.name, reason: written.failure.reason, message: written.failure.message });
          return { kind: "refreshed" };
        },
        waitUntil,
      );
    },
    forget: (key) => store.delete(key),
  };
}
