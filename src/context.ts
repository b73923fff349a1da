/**
 * What one request's handlers share: the parsed config, the tiered store, counters, the clock and
 * the execution context. Built once per request in src/index.ts; handlers take what they use.
 */
import type { Config } from "./config";
import { originClientFor, type FillDeps, type Filler } from "./origin";
import type { ShieldClient } from "./shield";
import type { MediaStore } from "./media";
import type { Stats } from "./stats";
import type { TieredStore } from "./storage";
import type { RandomSource } from "./util/random";

export interface EdgeContext {
  readonly config: Config;
  readonly store: TieredStore;
  /** The family shields; absent without the binding (fills then coalesce per isolate). */
  readonly shield?: ShieldClient;
  /** Makes fills after a miss: the shields' when bound. */
  readonly filler?: Filler;
  /** Media bytes (R2); absent without the MEDIA binding. */
  readonly media: MediaStore | undefined;
  readonly stats: Stats;
  /** Unix seconds. */
  readonly now: () => number;
  /** The routes' draws (personalized emotions); crypto randomness unless a test injects one. */
  readonly random: RandomSource;
  readonly waitUntil: (promise: Promise<unknown>) => void;
}

export interface EdgeContextOptions {
  config: Config;
  store: TieredStore;
  shield?: ShieldClient;
  media?: MediaStore;
  stats: Stats;
  now: () => number;
  random: RandomSource;
  ctx: { waitUntil(promise: Promise<unknown>): void };
}

function fillDepsOf(config: Config): FillDeps {
  return { origin: originClientFor(config), collabMaxSeconds: config.collabMaxSeconds };
}

export function createEdgeContext(options: EdgeContextOptions): EdgeContext {
  const { ctx } = options;
  return {
    config: options.config,
    store: options.store,
    ...(options.shield === undefined ? {} : { shield: options.shield, filler: options.shield.filler(options.store, fillDepsOf(options.config)) }),
    media: options.media,
    stats: options.stats,
    now: options.now,
    random: options.random,
    waitUntil: (promise) => ctx.waitUntil(promise),
  };
}
