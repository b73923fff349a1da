/**
 * The relay assembled: Redis subscription → decoder of the channel's framing → queue → edge
 * admin API, plus counters and `GET /healthz`. `relay/main.ts` runs it from the environment;
 * tests run it with their own clock, logger and retry timings.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CHANNELS, COLLAB_FAMILIES, channelSpec } from "./channels";
import type { RelayConfig } from "./config";
import { createDispatcher, type DispatchCounters } from "./dispatch";
import { createEdgeClient } from "./edge-client";
import { hexPreview, type Logger } from "./log";
import { createSubscriber, type SubscriberState } from "./subscriber";

export interface RelayOptions {
  config: RelayConfig;
  log: Logger;
  /** Unix seconds. */
  now?: () => number;
  /** Edge retry backoff: first delay and cap (ms). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Redis reconnect backoff cap (ms). */
  reconnectMaxMs?: number;
  /**
   * Purge the collab families once first subscribed too, not only after a lost connection:
   * whatever was published while the relay was not running was missed just the same. On in
   * `npm run relay`; tests that share an edge switch it off.
   */
  purgeCollabOnStart: boolean;
}

export interface RelayCounters extends DispatchCounters {
  /** Messages received from Redis. */
  received: number;
  /** Messages that did not parse (logged with a hex preview and skipped). */
  malformed: number;
  /** Messages that parse but ask nothing of the edge (e.g. a past date). */
  skipped: number;
  /** Times the collab families were purged because messages may have been missed. */
  collabPurges: number;
}

export interface HealthReport {
  ok: boolean;
  redis: SubscriberState;
  edge: "ok" | "failing";
  queueDepth: number;
  counters: RelayCounters;
}

export interface Relay {
  /** The health endpoint's base URL, e.g. `http://127.0.0.1:8807`. */
  healthUrl: string;
  health(): HealthReport;
  /** Resolves when every message received so far has been applied or given up on. */
  idle(): Promise<void>;
  /**
   * Unsubscribes, gives the queue up to `drainMs` to reach the edge (a restart then loses
   * nothing that was already received), and closes.
   */
  stop(options?: { drainMs?: number }): Promise<void>;
}

const DEFAULT_RETRY_INITIAL_MS = 200;
const DEFAULT_RETRY_MAX_MS = 30_000;
const DEFAULT_RECONNECT_MAX_MS = 5_000;

export async function startRelay(options: RelayOptions): Promise<Relay> {
  const { config, log } = options;
  const now = options.now ?? (() => Date.now() / 1000);
  const counts = { received: 0, malformed: 0, skipped: 0, collabPurges: 0 };

  const dispatcher = createDispatcher({
    client: createEdgeClient({ edgeUrl: config.edgeUrl, adminSecret: config.edgeAdminSecret, now, timeoutMs: config.edgeTimeoutMs }),
    log,
    now,
    maxQueue: config.maxQueue,
    retryInitialMs: options.retryInitialMs ?? DEFAULT_RETRY_INITIAL_MS,
    retryMaxMs: options.retryMaxMs ?? DEFAULT_RETRY_MAX_MS,
  });

  function onMessage(channel: string, message: Uint8Array): void {
    counts.received++;
    const spec = channelSpec(channel);
    if (spec === undefined) return; // only subscribed channels arrive
    const receivedAt = now();
    const decoded = spec.decode(message, receivedAt);
    if (!decoded.ok) {
      counts.malformed++;
      log("warn", "malformed_message", { channel, reason: decoded.reason, detail: decoded.message, bytes: message.byteLength, hex: hexPreview(message) });
      return;
    }
    if (decoded.actions.length === 0) {
      counts.skipped++;
      log("info", "message_skipped", { channel, detail: decoded.skipped ?? "no action" });
      return;
    }
    dispatcher.enqueue(decoded.actions, channel, receivedAt);
  }

  function onSubscribed(kind: "first" | "resumed"): void {
    if (kind === "first" && !options.purgeCollabOnStart) return;
    counts.collabPurges++;
    // Messages published while the subscription was down (or the relay not running) were lost:
    // purge what they could have changed, behind everything already queued.
    const sourceTime = now();
    log("warn", "collab_purge", { reason: kind === "first" ? "started" : "resubscribed", families: COLLAB_FAMILIES.length });
    for (const family of COLLAB_FAMILIES) dispatcher.enqueue([{ kind: "purge-family", family, sourceTime }], `relay:${kind}`, sourceTime);
  }

  const subscriber = createSubscriber({
    redisUrl: config.redisUrl,
    channels: CHANNELS.map((spec) => spec.channel),
    log,
    onMessage,
    onSubscribed,
    reconnectMaxMs: options.reconnectMaxMs ?? DEFAULT_RECONNECT_MAX_MS,
  });

  function health(): HealthReport {
    const redis = subscriber.state;
    return {
      // A supervisor restart helps when Redis is unreachable from here, not when the edge is down
      // (the queue and the overflow purges handle that), so only the subscription decides.
      ok: redis === "subscribed",
      redis,
      edge: dispatcher.edgeHealthy ? "ok" : "failing",
      queueDepth: dispatcher.depth,
      counters: { ...counts, ...dispatcher.counters },
    };
  }

  const server: Server = createServer((request, response) => {
    if (request.method === "GET" && request.url === "/healthz") {
      const report = health();
      response.writeHead(report.ok ? 200 : 503, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      response.end(JSON.stringify(report));
      return;
    }
    response.writeHead(404, { "Content-Type": "application/json" });
    response.end(JSON.stringify({ type: "not_found", message: "only GET /healthz" }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.healthPort, config.healthHost, () => resolve());
  });
  const address = server.address() as AddressInfo;

  return {
    healthUrl: `http://${config.healthHost}:${address.port}`,
    health,
    idle: () => dispatcher.idle(),
    async stop(stopOptions = {}) {
      await subscriber.stop();
      const drainMs = stopOptions.drainMs ?? 0;
      if (drainMs > 0) {
        let timer: NodeJS.Timeout | undefined;
        const abandoned = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)));
        await Promise.race([dispatcher.idle(), abandoned]);
        clearTimeout(timer);
        if (dispatcher.depth > 0) log("warn", "stopped_with_queue", { depth: dispatcher.depth });
      }
      await dispatcher.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
