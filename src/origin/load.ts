/**
 * Read-through load of one key (docs/design.md §3 tiered read, §4.2 fill on miss): L1 → L2 → origin.
 * - Concurrent misses for a key in one isolate share one origin call (the store's singleFlight,
 *   coalescing on plain values, never on Responses).
 * - A filled value must pass its family's codec (deep: gzip inflated, JSON parsed) before it is
 *   stored or served; one that does not is an origin error.
 * - `X-Edge-Expires-At` is honoured through the registry's `computeExpiresAt` (absolute families
 *   take it, others only shorten); without it the family's own rule applies.
 * - Origin errors and timeouts are never stored. Within STALE_IF_ERROR_SECONDS after expiry the
 *   last good value is served instead (`state: "stale"`); the caller marks `Cache-Status`.
 */
import { computeExpiresAt, validateValueDeep, type FamilyEntry } from "../keys";
import { buildStoredValue, type StoredValue, type TieredStore } from "../storage";
import { cacheStatusError, cacheStatusHit, cacheStatusMiss, cacheStatusStale, type CacheTier } from "./cache-status";
import type { OriginClient, OriginError } from "./client";
import { templateProblem } from "./delegation";
import type { FillGuard } from "./fill-guard";
import { errorFields, logEvent } from "../observe/log";

export type LoadOutcome =
  | { kind: "value"; state: "hit"; tier: CacheTier; value: StoredValue }
  | { kind: "value"; state: "miss"; tier: "origin"; value: StoredValue; stored: boolean; requested: boolean }
  | { kind: "value"; state: "stale"; tier: CacheTier; value: StoredValue; originError: OriginError }
  /** The origin says there is no such value. */
  | { kind: "absent" }
  /** The family's fill budget is spent (./fill-guard.ts): no fill was tried. */
  | { kind: "busy" }
  /** The origin does not serve this family: answer by passing the request through. */
  | { kind: "passthrough"; reason: string }
  | OriginError;

export interface LoadDeps {
  store: TieredStore;
  origin: OriginClient;
  /**
   * Who makes the origin fill after a miss: the family's shield (src/shield/) when bound, else
   * `isolateFiller` (one fill per key per isolate). Defaults to the latter.
   */
  filler?: Filler;
  /** Cap for families with no expiry of their own (Config.collabMaxSeconds). */
  collabMaxSeconds: number;
  waitUntil: (promise: Promise<unknown>) => void;
  /** The isolate's remembered absences and fill budget (./fill-guard.ts, src/isolate.ts). */
  guard: FillGuard;
  /** Per-family counters (src/stats.ts), optional. */
  stats?: { count(family: string, counter: LoadCounter): void };
  /** For the `random` expiry class; tests inject it. */
  random?: () => number;
}

type LoadCounter = "hits" | "misses" | "staleServes" | "fills" | "originErrors" | "absentHits" | "fillsRefused";

export interface LoadOptions {
  /** Skip the stored value and refill (a client `Pragma: no-cache`, or a corrupt stored value). */
  refresh?: boolean;
}

/** What one origin fill produced; shared by coalesced callers, so plain data only. */
export type Fill =
  | { kind: "value"; value: StoredValue; stored: boolean }
  | { kind: "absent" }
  | { kind: "unsupported"; reason: string }
  | OriginError;

/** What an origin fill needs besides the key. */
export type FillDeps = Pick<LoadDeps, "origin" | "collabMaxSeconds" | "random">;

/**
 * Makes the fill after a miss and stores its value, or declines to (ordering rule,
 * docs/storage-schema.md §Ordering). `refresh`: the client asked for a refill (`Pragma:
 * no-cache`); it reaches the origin as `Cache-Control: no-cache` and joins no older fill.
 */
export interface Filler {
  fill(key: string, family: FamilyEntry, now: number, options: { refresh: boolean }): Promise<Fill>;
  /** The origin said the value is gone: drop every stored copy (in order with other writes). */
  forget(key: string, now: number): Promise<void>;
}

/**
 * A value that must stay in the colo that asked for it (docs/security.md §5, "anonymous requests
 * create stored entries"): the negative answer about a key of a family whose keys anonymous
 * requests name (the registry's `anonymousKeys`). Kept in L0/L1 only — never KV, never the shield
 * — so a made-up uid costs the edge nothing shared. Every writer of a fill honours it: the
 * in-isolate filler here, the shields' filler (src/shield/client.ts) and the shield itself.
 */
export function staysInColo(family: FamilyEntry, value: StoredValue): boolean {
  return family.anonymousKeys?.isNegative(value.bytes) === true;
}

/** Namespaced so the store's in-flight map can serve other coalescing uses too. */
const FILL_FLIGHT_PREFIX = "origin-fill:";
/** A refresh joins only another refresh (started no earlier than itself asked), never a plain fill. */
const REFRESH_FLIGHT_PREFIX = "origin-refresh:";

/**
 * The fill with no shield bound: concurrent misses in this isolate share one origin call, and
 * the value is written in the background. Other isolates and colos fill on their own.
 */
export function isolateFiller(store: TieredStore, deps: FillDeps, waitUntil: (promise: Promise<unknown>) => void): Filler {
  return {
    async fill(key, family, now, { refresh }) {
      const flight = `${refresh ? REFRESH_FLIGHT_PREFIX : FILL_FLIGHT_PREFIX}${key}`;
      return store.singleFlight(flight, async () => {
        const filled = await originFill(key, family, now, deps, { refresh });
        if (filled.kind !== "value" || !filled.stored) return filled;
        // A view that never writes this key (a disabled family): served once, stored nowhere.
        if (store.writes?.(key) === false) return { ...filled, stored: false };
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
      });
    },
    forget: (key) => store.delete(key),
  };
}

/**
 * One values-endpoint call, checked (codec, render framing) and given its expiry. Stores nothing:
 * `stored` says whether the value may be stored (it is not already expired).
 */
export async function originFill(key: string, family: FamilyEntry, now: number, deps: FillDeps, options: { refresh: boolean }): Promise<Fill> {
  const fetched = await deps.origin.fetchValue(key, options);
  if (fetched.kind !== "value") return fetched;

  const valid = await validateValueDeep(family.codec, fetched.bytes);
  if (!valid.ok) {
    return { kind: "error", status: 502, message: `origin value for ${key} fails the ${family.codec.name} codec: ${valid.reason}` };
  }
  // Templates must also render: one that passes the codec but not the render framing would be
  // stored in the background while the delegated render drops it, and left behind.
  const unrenderable = templateProblem(family.name, fetched.bytes);
  if (unrenderable !== null) {
    return { kind: "error", status: 502, message: `origin value for ${key} does not render: ${unrenderable}` };
  }
  // A writer time at or before now: the value is already stale; serve it once, store nothing.
  if (fetched.expiresAt !== undefined && fetched.expiresAt <= now) {
    const value = await buildStoredValue(fetched.bytes, { family: family.name, codec: family.codec.name, expiresAt: fetched.expiresAt }, now);
    return { kind: "value", value, stored: false };
  }
  const expiry = computeExpiresAt(family, now, {
    collabMaxSeconds: deps.collabMaxSeconds,
    ...(fetched.expiresAt === undefined ? {} : { writerExpiresAt: fetched.expiresAt }),
    ...(deps.random === undefined ? {} : { random: deps.random }),
  });
  if (!expiry.ok) return { kind: "error", status: 502, message: `no expiry for ${key}: ${expiry.reason}` };
  const value = await buildStoredValue(fetched.bytes, { family: family.name, codec: family.codec.name, expiresAt: expiry.expiresAt }, now);
  return { kind: "value", value, stored: expiry.expiresAt > now };
}

/** Reads `key` through the tiers, filling from the origin on a miss. Never throws for origin trouble. */
export async function loadThroughCache(key: string, family: FamilyEntry, clock: number, deps: LoadDeps, options: LoadOptions = {}): Promise<LoadOutcome> {
  // Envelopes hold whole unix seconds (src/storage/envelope.ts); the platform clock is fractional.
  const now = Math.floor(clock);
  const count = (counter: LoadCounter) => deps.stats?.count(family.name, counter);
  let stale: { tier: CacheTier; value: StoredValue } | undefined;

  if (options.refresh !== true) {
    let read: Awaited<ReturnType<TieredStore["read"]>>;
    try {
      read = await deps.store.read(key, now);
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
      return { kind: "value", state: "hit", tier: read.tier, value: read.value };
    }
    if (read.state === "stale") stale = { tier: read.tier, value: read.value };
  }
  count("misses");
  // The origin said absent a moment ago (./fill-guard.ts); a forced refresh asks again.
  if (options.refresh !== true && deps.guard.isKnownAbsent(family, key, now)) {
    count("absentHits");
    return { kind: "absent" };
  }

  const filler = deps.filler ?? isolateFiller(deps.store, deps, deps.waitUntil);
  const filled = await deps.guard.withinFillBudget(family.name, key, () => filler.fill(key, family, now, { refresh: options.refresh === true }));
  switch (filled.kind) {
    case "busy":
      count("fillsRefused");
      return { kind: "busy" };
    case "value":
      deps.guard.forgetAbsent(key);
      count("fills");
      return { kind: "value", state: "miss", tier: "origin", value: filled.value, stored: filled.stored, requested: options.refresh === true };
    case "absent":
      // The origin has dropped it: a stale copy — or, on a forced refresh, a fresh one — must not
      // outlive that.
      if (stale !== undefined || options.refresh === true) {
        deps.waitUntil(
          filler.forget(key, now).catch((error: unknown) => {
            // Counted by the store (`deleteFailures`); the copy still expires on its own.
            logEvent("dropping a value the origin no longer has failed", { family: family.name, ...errorFields(error) });
          }),
        );
      }
      deps.guard.rememberAbsent(family, key, now);
      return { kind: "absent" };
    case "unsupported":
      return { kind: "passthrough", reason: filled.reason };
    case "error":
      count("originErrors");
      logEvent("origin fill failed", { family: family.name, status: filled.status, message: filled.message });
      if (stale !== undefined) {
        count("staleServes");
        return { kind: "value", state: "stale", tier: stale.tier, value: stale.value, originError: filled };
      }
      return filled;
  }
}

/** The `Cache-Status` value describing an outcome (./cache-status.ts). */
export function cacheStatusOf(outcome: LoadOutcome): string {
  switch (outcome.kind) {
    case "value":
      switch (outcome.state) {
        case "hit":
          return cacheStatusHit(outcome.tier);
        case "miss":
          return cacheStatusMiss(outcome.stored, outcome.requested);
        case "stale":
          return cacheStatusStale(outcome.originError.status);
      }
      return outcome satisfies never;
    case "absent":
      return cacheStatusMiss(false);
    case "busy":
      return cacheStatusMiss(false);
    case "passthrough":
      return cacheStatusMiss(false);
    case "error":
      return cacheStatusError(outcome.status);
  }
}

/**
 * The shape the edge routes consume (src/routes/io.ts `LoadResult`, structurally): a route that
 * cannot be answered from a value — family not served, or the origin failing with nothing stale —
 * goes to the origin as it is, which answers for itself.
 */
export type RouteLoad =
  | { kind: "value"; bytes: Uint8Array; cacheStatus: string }
  | { kind: "absent"; cacheStatus: string }
  | { kind: "passthrough"; reason: string };

export function toRouteLoad(outcome: LoadOutcome): RouteLoad {
  switch (outcome.kind) {
    case "value":
      return { kind: "value", bytes: outcome.value.bytes, cacheStatus: cacheStatusOf(outcome) };
    case "absent":
      return { kind: "absent", cacheStatus: cacheStatusOf(outcome) };
    case "busy":
      // An edge route: the origin answers this one request itself (no fill, nothing stored).
      return { kind: "passthrough", reason: "family fill budget spent" };
    case "passthrough":
      return { kind: "passthrough", reason: outcome.reason };
    case "error":
      return { kind: "passthrough", reason: `origin error ${outcome.status}: ${outcome.message}` };
  }
}
