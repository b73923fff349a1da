/**
 * The Redis side: one subscriber connection (ioredis), binary-safe (`messageBuffer`: payloads
 * are raw bytes, never decoded as text). It subscribes itself on every (re)connect rather than
 * relying on the client's auto-resubscribe, so it knows when a subscription is live again and
 * can report the interruption (messages published meanwhile were never delivered).
 */
import { Redis } from "ioredis";
import type { Logger } from "./log";

export type SubscriberState = "connecting" | "subscribed" | "disconnected";

export interface SubscriberOptions {
  redisUrl: string;
  channels: readonly string[];
  log: Logger;
  onMessage: (channel: string, message: Uint8Array) => void;
  /**
   * Called once the channels are subscribed: the first time (`"first"`), and again after every
   * lost connection (`"resumed"`).
   */
  onSubscribed: (kind: "first" | "resumed") => void;
  /** Reconnect delay cap (ms); reconnects back off from 100 ms up to this. */
  reconnectMaxMs: number;
}

export interface Subscriber {
  readonly state: SubscriberState;
  stop(): Promise<void>;
}

const RECONNECT_INITIAL_MS = 100;

export function createSubscriber(options: SubscriberOptions): Subscriber {
  let state: SubscriberState = "connecting";
  let everSubscribed = false;
  let lost = false;

  const redis = new Redis(options.redisUrl, {
    autoResubscribe: false,
    // Never give up reconnecting: the relay is useless without Redis, and a supervisor restart
    // would do no better.
    retryStrategy: (times) => Math.min(RECONNECT_INITIAL_MS * 2 ** Math.min(times, 16), options.reconnectMaxMs),
    maxRetriesPerRequest: null,
  });

  redis.on("messageBuffer", (channel: Buffer, message: Buffer) => {
    // A copy: the payload is a view into the client's read buffer, and its bytes may wait in
    // the queue for as long as the edge is down.
    options.onMessage(channel.toString("utf8"), Uint8Array.from(message));
  });

  redis.on("ready", () => {
    redis.subscribe(...options.channels).then(
      () => {
        state = "subscribed";
        const wasLost = lost;
        lost = false;
        options.log("info", "subscribed", { channels: options.channels.length, resumed: everSubscribed });
        if (!everSubscribed) options.onSubscribed("first");
        else if (wasLost) options.onSubscribed("resumed");
        everSubscribed = true;
      },
      (error: unknown) => {
        // The connection dropped between ready and the reply; the next ready subscribes again.
        options.log("warn", "subscribe_failed", { detail: error instanceof Error ? error.message : String(error) });
      },
    );
  });

  function markLost(detail: string): void {
    if (state === "subscribed") {
      options.log("warn", "redis_disconnected", { detail });
    } else if (state === "connecting") {
      // Not reachable at start: say so once; the client keeps retrying.
      options.log("warn", "redis_unreachable", { detail });
    }
    if (everSubscribed) lost = true;
    state = "disconnected";
  }

  redis.on("close", () => markLost("connection closed"));
  // ioredis reports every failed reconnect as an error; the state change above is logged once.
  redis.on("error", (error: Error) => markLost(error.message));

  return {
    get state() {
      return state;
    },
    async stop() {
      redis.removeAllListeners("close");
      redis.removeAllListeners("error");
      redis.on("error", () => undefined);
      redis.disconnect(false);
    },
  };
}
