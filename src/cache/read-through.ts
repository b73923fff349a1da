/**
 * The read-through core (docs/design.md §3 tiered read, §4.2 fill on miss): L0 → L1 → L2 → a fill
 * through the filler. Built once per isolate and colo (src/index.ts); each read is given the
 * request's clock reading, background work and counters.
 * - Concurrent misses for a key share one fill (the filler coalesces them, on plain values, never
 *   on Responses).
 * - A filled value passed its family's codec and render framing, and got its expiry, in the fill
 *   (src/origin/fill.ts): one that does not is an origin error.
 * - Origin errors and timeouts are never stored. Within STALE_IF_ERROR_SECONDS after expiry the
 *   last good value is served instead (`state: "stale"`).
 * - Remembered absences and the fill budget (./fill-guard.ts) stand in front of the filler.
 * - EDGE_DISABLED_FAMILIES (docs/integrate.md §Switches) is applied here and nowhere else: such a
 *   family is never read or written on the request path.
 * - A hit near its value's expiry refreshes it ahead, in the background (./refresh-ahead.ts): one
 *   request per key per lifetime from this isolate; the hit is answered as it is.
 */
import type { FamilyEntry } from "../keys";
import { errorFields, logEvent } from "../log";
import type { StatsSink } from "../stats";
import type { StoredValue, TieredStore } from "../storage";
import { staysInColo, type Filler } from "./filler";
import type { FillGuard } from "./fill-guard";
import { timed, type Phases } from "./phases";
import { claimRefresh, refreshAheadDue, type RefreshMemory } from "./refresh-ahead";
import type { CacheResult, StoredTier } from "./result";

/** What one request lends a read. */
export interface ReadScope {
  /** Unix seconds (may be fractional); read once per request. */
  readonly now: number;
  readonly waitUntil: (promise: Promise<unknown>) => void;
  /** The request's view of the isolate's counters (src/observe). */
  readonly stats: StatsSink;
  /** The request's `Server-Timing` phases (./phases.ts), when it reports them. */
  readonly phases?: Phases;
}

export interface ReadOptions {
  /** Skip the stored value and refill (a client `Pragma: no-cache`, or a corrupt stored value). */
  refresh?: boolean;
  /**
   * A disabled family is answered from a fresh fill stored nowhere, rather than `unavailable`:
   * a delegated render's template, which no passthrough can stand in for.
   */
  fetchDisabled?: boolean;
}

export interface CacheReader {
  /** Never throws for origin or storage trouble: those are results. */
  read(key: string, family: FamilyEntry, scope: ReadScope, options?: ReadOptions): Promise<CacheResult>;
}

export interface CacheReaderOptions {
  store: TieredStore;
  filler: Filler;
  /** The isolate's remembered absences and fill budget (src/isolate.ts). */
  guard: FillGuard;
  /** The family names EDGE_DISABLED_FAMILIES selects (src/rollout/switches.ts). */
  disabled: ReadonlySet<string>;
  /** The isolate's refreshes ahead asked for (src/isolate.ts). */
  refreshes: RefreshMemory;
}

export function createCacheReader(options: CacheReaderOptions): CacheReader {
  const { store, filler, guard, disabled, refreshes } = options;

  /**
   * Starts the refresh ahead of a fresh hit when it is due and this isolate has not asked for this
   * value's lifetime yet. A negative answer kept in the colo only (./filler.ts `staysInColo`) is
   * not the shield's to refill.
   */
  const maybeRefreshAhead = (key: string, family: FamilyEntry, value: StoredValue, scope: ReadScope, now: number): void => {
    const { expiresAt } = value.envelope;
    if (!refreshAheadDue(family, value.envelope, now) || staysInColo(family, value)) return;
    if (!claimRefresh(refreshes, key, expiresAt, now)) return;
    scope.stats.count(family.name, "refreshes");
    const failed = (message: string) => {
      // Nothing changed for readers: the value is served until it expires, as without the refresh.
      scope.stats.count(family.name, "refreshFailures");
      logEvent("refresh ahead failed", { family: family.name, message });
    };
    scope.waitUntil(
      filler
        .refreshAhead(key, family, expiresAt, now, scope.waitUntil)
        .then((outcome) => (outcome.kind === "failed" ? failed(outcome.message) : undefined))
        .catch((error: unknown) => failed(errorFields(error).message)),
    );
  };
  return {
    async read(key, family, scope, readOptions = {}) {
      const off = disabled.has(family.name);
      if (off && readOptions.fetchDisabled !== true) {
        return { kind: "unavailable", reason: "disabled", message: `family ${family.name} is disabled at the edge` };
      }
      const refresh = readOptions.refresh === true;
      // Envelopes hold whole unix seconds (src/storage/envelope.ts); the platform clock is fractional.
      const now = Math.floor(scope.now);
      const count = (counter: "hits" | "misses" | "staleServes" | "fills" | "originErrors" | "absentHits" | "fillsRefused") =>
        scope.stats.count(family.name, counter);
      let stale: { tier: StoredTier; value: StoredValue } | undefined;

      if (!refresh && !off) {
        let read: Awaited<ReturnType<TieredStore["read"]>>;
        try {
          read = await timed(scope.phases, "tier", () => store.read(key, now, scope.waitUntil));
        } catch (error) {
          // KV failing a read is a miss (the origin answers), not a failed request.
          logEvent("store read failed", { family: family.name, ...errorFields(error) });
          read = { state: "miss" };
        }
        if (read.state !== "miss" && (read.value.envelope.family !== family.name || read.value.envelope.codec !== family.codec.name)) {
          // Stored under another family or codec (an older deploy's registry, a foreign writer): its
          // bytes cannot be trusted to be this family's encoding, so it is neither served nor stale.
          logEvent("stored value has a foreign envelope", { family: family.name, storedFamily: read.value.envelope.family, storedCodec: read.value.envelope.codec });
          read = { state: "miss" };
        }
        if (read.state === "fresh") {
          count("hits");
          maybeRefreshAhead(key, family, read.value, scope, now);
          return { kind: "value", state: "hit", tier: read.tier, value: read.value };
        }
        if (read.state === "stale") stale = { tier: read.tier, value: read.value };
      }
      count("misses");
      // The origin said absent a moment ago (./fill-guard.ts); a forced refresh asks again.
      if (!refresh && guard.isKnownAbsent(family, key, now)) {
        count("absentHits");
        return { kind: "absent", remembered: true };
      }

      const fillOptions = { refresh, store: !off, ...(scope.phases === undefined ? {} : { phases: scope.phases }) };
      const filled = await guard.withinFillBudget(family.name, key, () => filler.fill(key, family, now, scope.waitUntil, fillOptions));
      switch (filled.kind) {
        case "busy":
          count("fillsRefused");
          return { kind: "unavailable", reason: "busy" };
        case "value":
          guard.forgetAbsent(key);
          count("fills");
          return { kind: "value", state: "miss", tier: filled.tier, value: filled.value, stored: filled.stored, requested: refresh };
        case "absent":
          // The origin has dropped it: a stale copy — or, on a forced refresh, a fresh one — must not
          // outlive that. A disabled family's copies are not the request path's to touch.
          if ((stale !== undefined || refresh) && !off) {
            scope.waitUntil(
              filler.forget(key, now).catch((error: unknown) => {
                // Counted by the store (`deleteFailures`); the copy still expires on its own.
                logEvent("dropping a value the origin no longer has failed", { family: family.name, ...errorFields(error) });
              }),
            );
          }
          guard.rememberAbsent(family, key, now);
          return { kind: "absent", remembered: false };
        case "unsupported":
          return { kind: "unavailable", reason: "unsupported", message: filled.reason };
        case "error":
          count("originErrors");
          logEvent("origin fill failed", { family: family.name, status: filled.status, message: filled.message });
          if (stale !== undefined) {
            count("staleServes");
            return { kind: "value", state: "stale", tier: stale.tier, value: stale.value, originError: filled };
          }
          return { kind: "unavailable", reason: "origin_error", originError: filled };
        default:
          return filled satisfies never;
      }
    },
  };
}
