/**
 * The relay's queue: actions are applied to the edge one at a time, in the order Redis delivered
 * their messages (so the order per key is kept). A failing edge call is retried with capped
 * exponential backoff; while it fails, new actions wait in a bounded queue. When the queue is
 * full, new actions are dropped and their families remembered; once the edge answers again, each
 * such family is purged (after everything queued before it), so nothing stays stale.
 *
 * An action whose source time the edge refuses (more than 60 s ahead of its clock: the backend's
 * clock and Cloudflare's disagree, docs/relay.md "Times") is sent once more with the time the
 * relay received its message, and the skew is logged. Should that be refused too (the relay's own
 * clock is ahead), an eviction is sent without a source time rather than dropped.
 */
import type { EdgeAction } from "./actions";
import type { EdgeClient } from "./edge-client";
import type { Logger } from "./log";

export interface DispatcherOptions {
  client: EdgeClient;
  log: Logger;
  /** Unix seconds. */
  now: () => number;
  maxQueue: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

export interface DispatchCounters {
  /** Edge calls that succeeded (an action may take several: a paged family purge). */
  applied: number;
  /** Actions the edge refused (4xx), logged and dropped. */
  rejected: number;
  /** Retries of failed edge calls. */
  retried: number;
  /** Actions dropped because the queue was full (their families are purged later). */
  dropped: number;
  /** Fills whose dated expiry passed while they waited: not sent. */
  expired: number;
  /** Actions whose source time the edge refused as ahead of its clock, sent again with the receipt time. */
  skewed: number;
}

export interface Dispatcher {
  /**
   * Queues a message's actions (all or none). `receivedAt` (unix seconds, default now) is when the
   * relay received the message: the source time sent if the edge refuses the action's own.
   */
  enqueue(actions: readonly EdgeAction[], channel: string, receivedAt?: number): void;
  readonly depth: number;
  /** False from the first failed call until the next call that succeeds. */
  readonly edgeHealthy: boolean;
  readonly counters: Readonly<DispatchCounters>;
  /** Resolves when the queue is empty and nothing is in flight (tests, shutdown). */
  idle(): Promise<void>;
  /** Stops after the call in flight; queued actions are abandoned. */
  stop(): Promise<void>;
}

interface Queued {
  action: EdgeAction;
  channel: string;
  receivedAt: number;
}

/** Evictions are never dropped for their source time; a refused fill only costs a later origin fill. */
function isEviction(action: EdgeAction): boolean {
  return action.kind !== "put";
}

function describeAction(action: EdgeAction): string {
  switch (action.kind) {
    case "put":
    case "delete":
      return action.key;
    case "purge-keys":
      return `${action.keys.length} keys of ${action.family}`;
    case "purge-family":
      return action.family;
    default:
      return action satisfies never;
  }
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const queue: Queued[] = [];
  const counters: DispatchCounters = { applied: 0, rejected: 0, retried: 0, dropped: 0, expired: 0, skewed: 0 };
  /** Families with dropped actions, waiting for room in the queue to be purged. */
  const overflowed = new Set<string>();
  let edgeHealthy = true;
  let running: Promise<void> | undefined;
  let stopped = false;
  let wakeSleeper: (() => void) | undefined;

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        wakeSleeper = undefined;
        resolve();
      }, ms);
      wakeSleeper = () => {
        clearTimeout(timer);
        wakeSleeper = undefined;
        resolve();
      };
    });
  }

  /** Queues the overflow purges once there is room for all of them behind what is queued. */
  function queueOverflowPurges(): void {
    if (overflowed.size === 0 || queue.length + overflowed.size > options.maxQueue) return;
    const sourceTime = options.now();
    for (const family of overflowed) {
      queue.push({ action: { kind: "purge-family", family, sourceTime }, channel: "relay:overflow", receivedAt: sourceTime });
      options.log("warn", "overflow_purge_queued", { family });
    }
    overflowed.clear();
  }

  /** Applies one action until it is applied, refused, or the dispatcher stops. */
  async function applyWithRetry(item: Queued): Promise<void> {
    const { action } = item;
    if (action.kind === "put" && action.expiresAt !== undefined && action.expiresAt <= options.now()) {
      counters.expired++;
      options.log("info", "expired_before_applied", { channel: item.channel, key: action.key });
      return;
    }
    let delay = options.retryInitialMs;
    /** The source time sent: the action's, then the receipt time, then (evictions only) none. */
    let sourceTime: number | null = action.sourceTime;
    while (!stopped) {
      const outcome = await options.client.apply(action, sourceTime);
      if (outcome.kind === "source-time-refused") {
        const fields = { channel: item.channel, kind: action.kind, target: describeAction(action), sourceTime, receivedAt: item.receivedAt, detail: outcome.detail };
        if (sourceTime === action.sourceTime && item.receivedAt !== action.sourceTime) {
          counters.skewed++;
          // The skew between the message's time (the backend's clock) and the relay's receipt.
          options.log("warn", "source_time_skew", { ...fields, skewSeconds: Math.round((action.sourceTime - item.receivedAt) * 1000) / 1000 });
          sourceTime = item.receivedAt;
          continue;
        }
        if (sourceTime !== null && isEviction(action)) {
          options.log("error", "eviction_without_source_time", fields);
          sourceTime = null;
          continue;
        }
        counters.rejected++;
        options.log("error", "edge_rejected", { channel: item.channel, kind: action.kind, target: describeAction(action), status: 400, detail: outcome.detail });
        return;
      }
      if (outcome.kind === "applied") {
        counters.applied += outcome.calls;
        if (!edgeHealthy) {
          edgeHealthy = true;
          options.log("info", "edge_recovered", {});
        }
        return;
      }
      if (outcome.kind === "rejected") {
        counters.rejected++;
        options.log("error", "edge_rejected", { channel: item.channel, kind: action.kind, target: describeAction(action), status: outcome.status, detail: outcome.detail });
        return;
      }
      counters.retried++;
      if (edgeHealthy) {
        edgeHealthy = false;
        // Once per outage: a long outage must not flood the log.
        options.log("warn", "edge_unavailable", { channel: item.channel, detail: outcome.detail, depth: queue.length });
      }
      await sleep(delay);
      delay = Math.min(delay * 2, options.retryMaxMs);
    }
  }

  async function run(): Promise<void> {
    while (!stopped) {
      const item = queue.shift();
      if (item === undefined) break;
      await applyWithRetry(item);
      queueOverflowPurges();
    }
  }

  /** One worker at a time, so actions are applied strictly in queue order. */
  function kick(): void {
    if (running !== undefined || stopped || queue.length === 0) return;
    running = run().finally(() => {
      running = undefined;
      kick();
    });
  }

  return {
    enqueue(actions, channel, receivedAt = options.now()) {
      if (stopped || actions.length === 0) return;
      if (queue.length + actions.length > options.maxQueue) {
        counters.dropped += actions.length;
        for (const action of actions) {
          if (!overflowed.has(action.family)) options.log("warn", "queue_full", { channel, family: action.family, depth: queue.length });
          overflowed.add(action.family);
        }
      } else {
        for (const action of actions) queue.push({ action, channel, receivedAt });
      }
      queueOverflowPurges();
      kick();
    },
    get depth() {
      return queue.length;
    },
    get edgeHealthy() {
      return edgeHealthy;
    },
    counters,
    async idle() {
      while (running !== undefined) await running;
    },
    async stop() {
      stopped = true;
      wakeSleeper?.();
      await running;
    },
  };
}
