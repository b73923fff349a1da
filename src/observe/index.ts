/**
 * What the Worker tells operators about each request (docs/deploy.md, "Logs and metrics"):
 * - one structured JSON log line, built only from labels the edge chose (route template, family
 *   pattern, tier, `Cache-Status`, statuses, duration), so no token, secret or query string can
 *   reach the logs;
 * - optionally, one Workers Analytics Engine data point per family the request counted, so the
 *   per-family counters of `/_edge/v1/stats` (which are per isolate) add up globally.
 *
 * The request's counters go through a per-request view of the isolate's Stats: the isolate still
 * counts everything, and the request remembers what it counted for its log line and data points.
 */
import { COUNTERS, createStats, type Counter, type FamilyCounters, type Stats } from "../stats";
import { errorFields, logEvent } from "./log";

/** Where the answer's bytes came from. */
export type Tier = "l1" | "l2" | "stale" | "origin" | "edge";

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
  /** Emits the log line and the data points; returns the record (for the caller's tests). */
  finish(response: Response): RequestLogRecord;
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

const EDGE_CACHE_STATUS = /(?:^|,)\s*(oseh-edge;[^,]*)\s*$/;

function edgeCacheStatus(response: Response): string | null {
  const header = response.headers.get("Cache-Status");
  if (header === null) return null;
  return EDGE_CACHE_STATUS.exec(header)?.[1] ?? null;
}

function param(cacheStatus: string, name: string): string | undefined {
  for (const part of cacheStatus.split(";")) {
    const [key, value] = part.trim().split("=");
    if (key === name) return value ?? "";
  }
  return undefined;
}

function tierOf(cacheStatus: string | null): Tier {
  if (cacheStatus === null) return "edge";
  const detail = param(cacheStatus, "detail");
  if (detail === "l1" || detail === "l2") return detail;
  if (detail === "stale-if-error") return "stale";
  if (param(cacheStatus, "fwd") !== undefined) return "origin";
  return "edge";
}

function originStatusOf(cacheStatus: string | null, response: Response, counted: Record<string, FamilyCounters>): number | null {
  if (cacheStatus === null) return null;
  const reported = param(cacheStatus, "fwd-status");
  if (reported !== undefined && /^\d{3}$/.test(reported)) return Number(reported);
  const fwd = param(cacheStatus, "fwd");
  // A passthrough (or a delegated render) answers with the origin's own status.
  if (fwd === "bypass") return response.status;
  // A fill that brought a value back means the values endpoint answered 200.
  if ((fwd === "miss" || fwd === "request") && Object.values(counted).some((c) => c.fills > 0)) return 200;
  return null;
}

export function observeRequest(options: ObserveOptions): RequestObserver {
  // The request's own tally, kept beside the isolate's.
  const mine = createStats(0, options.isolateStats.isolate);
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
    finish(response) {
      const counted = mine.snapshot().families;
      const cacheStatus = edgeCacheStatus(response);
      const record: RequestLogRecord = {
        msg: "request",
        method: options.method,
        route: options.route,
        family: lastFamily,
        tier: tierOf(cacheStatus),
        status: response.status,
        cacheStatus,
        originStatus: originStatusOf(cacheStatus, response, counted),
        durationMs: Math.max(0, Date.now() - options.startedAtMs),
        isolate: options.isolateStats.isolate,
      };
      options.log?.(JSON.stringify(record));
      if (options.metrics !== undefined) {
        for (const [family, counters] of Object.entries(counted)) {
          try {
            // Layout (docs/deploy.md): index = family; blobs = family, route, environment;
            // doubles = the counters in COUNTERS order.
            options.metrics.writeDataPoint({
              indexes: [family],
              blobs: [family, options.route, options.environment],
              doubles: COUNTERS.map((name) => counters[name]),
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
