/**
 * What one request's handlers share: the parsed config, the tiered store, counters, the clock and
 * the execution context. Built once per request in src/index.ts; handlers take what they use.
 */
import type { Config } from "./config";
import type { Stats } from "./stats";
import type { TieredStore } from "./storage";

export interface EdgeContext {
  readonly config: Config;
  readonly store: TieredStore;
  readonly stats: Stats;
  /** Unix seconds. */
  readonly now: () => number;
  readonly waitUntil: (promise: Promise<unknown>) => void;
}

export interface EdgeContextOptions {
  config: Config;
  store: TieredStore;
  stats: Stats;
  now: () => number;
  ctx: { waitUntil(promise: Promise<unknown>): void };
}

export function createEdgeContext(options: EdgeContextOptions): EdgeContext {
  const { ctx } = options;
  return {
    config: options.config,
    store: options.store,
    stats: options.stats,
    now: options.now,
    waitUntil: (promise) => ctx.waitUntil(promise),
  };
}
