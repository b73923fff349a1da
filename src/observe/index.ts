/**
 * What the Worker tells operators about each request (docs/deploy.md, "Logs and metrics"):
 * - one structured JSON log line, built only from labels the edge chose (route template, family
 *   pattern, tier, `Cache-Status`, statuses, duration), so no token, secret or query string can
 *   reach the logs; the tier, the origin status and `Cache-Status` all come from the answer's
 *   `Served` (src/cache/wire.ts), never from a header the edge wrote;
 * - optionally, one Workers Analytics Engine data point per family the request counted, so the
 *   per-family counters of `/_edge/v1/stats` (which are per isolate) add up globally.
 *
 * The request's counters go through a per-request view of the isolate's Stats: the isolate still
 * counts everything, and the request remembers what it counted for its log line and data points.
 */
import { cacheStatusOf, type Served } from "../cache";
import { errorFields, logEvent } from "../log";
import { createCounters, FAMILY_COUNTERS, type Counter, type Stats } from "../stats";

/**
 * Where the answer's bytes came from: a tier (l0, l1, l2, r2), the family's shield, the origin (a
 * fill, or a passthrough), `stale` (served past its expiry because the origin failed), or `edge`
 * (the edge's own answer: its API, an auth failure, an error).
 */
export type Tier = "l0" | "l1" | "l2" | "r2" | "shield" | "origin" | "stale" | "edge";

export interface RequestLogRecord {
  /** Constant, so log queries can pick these lines out of everything else the Worker prints. */
  msg: "request";
  method: string;
  /** A route template (`/api/1/transcripts/{uid}`), an admin route, or `passthrough`. */
  route: string;
  /** The family pattern the request was answered from (the last one it counted), if any. */
  family: string | null;
  tier: Tier;
  status: number;
  /** The edge's own `Cache-Status` entry, if it added one. */
  cacheStatus: string | null;
  /** The origin's status when the edge asked it and knows the answer; null when it did not ask. */
  originStatus: number | null;
  durationMs: number;
  /** The isolate that answered (the id `/_edge/v1/stats` reports). */
  isolate: string;
}

export interface RequestObserver {
  /** Hand this to the request's handlers instead of the isolate's Stats. */
  readonly stats: Stats;
  /** Emits the log line and the data points for the answer; returns the record (for the caller's tests). */
  finish(status: number, served: Served): RequestLogRecord;
}

export interface ObserveOptions {
  method: string;
  route: string;
  isolateStats: Stats;
  /** Wall-clock milliseconds at the start of the request (duration only, never the injected clock). */
  startedAtMs: number;
  /** `REQUEST_LOG = "off"` silences the log line (the test suites set it; production never should). */
  log: ((line: string) => void) | null;
  metrics?: AnalyticsEngineDataset | undefined;
  environment: string;
}

/** The log line's tier and origin status, from how the answer relates to the cache. */
function sourceOf(served: Served, status: number): { tier: Tier; originStatus: number | null } {
  switch (served.kind) {
    case "cache": {
      const { result } = served;
      switch (result.kind) {
        case "value":
          if (result.state === "stale") return { tier: "stale", originStatus: result.originError.status };
          // A fill that brought a value back means the values endpoint answered 200.
          if (result.state === "miss") return { tier: result.tier, originStatus: result.tier === "origin" ? 200 : null };
          return { tier: result.tier, originStatus: null };
        case "absent":
          return { tier: result.remembered ? "edge" : "origin", originStatus: null };
        case "unavailable":
          return { tier: "origin", originStatus: result.reason === "origin_error" ? result.originError.status : null };
        default:
          return result satisfies never;
      }
    }
    case "bypass":
      // A passthrough (or an unacknowledged delegation) answers with the origin's own status.
      return { tier: "origin", originStatus: status };
    case "origin-error":
      return { tier: "origin", originStatus: served.status };
    case "not-consulted":
    case "own":
      return { tier: "edge", originStatus: null };
    default:
      return served satisfies never;
  }
}

export function observeRequest(options: ObserveOptions): RequestObserver {
  // The request's own tally, kept beside the isolate's.
  const mine = createCounters();
  let lastFamily: string | null = null;
  const stats: Stats = {
    isolate: options.isolateStats.isolate,
    count(family: string, counter: Counter, by = 1) {
      options.isolateStats.count(family, counter, by);
      mine.count(family, counter, by);
      lastFamily = family;
    },
    snapshot: () => options.isolateStats.snapshot(),
  };

  return {
    stats,
    finish(status, served) {
      const counted = mine.snapshot().families;
      const { tier, originStatus } = sourceOf(served, status);
      const record: RequestLogRecord = {
        msg: "request",
        method: options.method,
        route: options.route,
        family: lastFamily,
        tier,
        status,
        cacheStatus: cacheStatusOf(served),
        originStatus,
        durationMs: Math.max(0, Date.now() - options.startedAtMs),
        isolate: options.isolateStats.isolate,
      };
      options.log?.(JSON.stringify(record));
      if (options.metrics !== undefined) {
        for (const [family, counters] of Object.entries(counted)) {
          try {
            // Layout (docs/deploy.md): index = family; blobs = family, route, environment;
            // doubles = the counters in FAMILY_COUNTERS order.
            options.metrics.writeDataPoint({
              indexes: [family],
              blobs: [family, options.route, options.environment],
              doubles: FAMILY_COUNTERS.map((name) => counters[name]),
            });
          } catch (error) {
            // Metrics are best effort: a refused data point never fails the request.
            logEvent("metrics write failed", errorFields(error));
          }
        }
      }
      return record;
    },
  };
}
