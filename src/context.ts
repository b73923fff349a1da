/**
 * What one request's handlers share: the parsed config, the tiered store, the isolate's origin
 * client, token service and compiled templates, counters, the clock and the execution context.
 * Built per request in src/index.ts from what the isolate keeps (src/isolate.ts); handlers take
 * what they use.
 */
import type { TokenService } from "./auth/jwt";
import type { Config } from "./config";
import type { FillDeps, Filler, OriginClient } from "./origin";
import type { FillGuard } from "./origin/fill-guard";
import type { TemplateCache } from "./render/templates";
import type { ShieldClient } from "./shield";
import type { MediaStore } from "./media";
import type { Stats } from "./stats";
import type { TieredStore } from "./storage";
import type { RandomSource } from "./util/random";

export interface EdgeContext {
  readonly config: Config;
  readonly store: TieredStore;
  readonly origin: OriginClient;
  readonly tokens: TokenService;
  readonly templates: TemplateCache;
  /** The isolate's remembered absences and fill budget (src/origin/fill-guard.ts). */
  readonly guard: FillGuard;
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
  origin: OriginClient;
  tokens: TokenService;
  templates: TemplateCache;
  guard: FillGuard;
  shield?: ShieldClient;
  media?: MediaStore;
  stats: Stats;
  now: () => number;
  random: RandomSource;
  ctx: { waitUntil(promise: Promise<unknown>): void };
}

function fillDepsOf(options: EdgeContextOptions): FillDeps {
  return { origin: options.origin, collabMaxSeconds: options.config.collabMaxSeconds };
}

export function createEdgeContext(options: EdgeContextOptions): EdgeContext {
  const { ctx } = options;
  return {
    config: options.config,
    store: options.store,
    origin: options.origin,
    tokens: options.tokens,
    templates: options.templates,
    guard: options.guard,
    ...(options.shield === undefined ? {} : { shield: options.shield, filler: options.shield.filler(options.store, fillDepsOf(options)) }),
    media: options.media,
    stats: options.stats,
    now: options.now,
    random: options.random,
    waitUntil: (promise) => ctx.waitUntil(promise),
  };
}
