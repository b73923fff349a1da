/**
 * Builds the edge's cache core inside workerd against the dev origin started by
 * test/global-setup.ts (ORIGIN_URL = inject("originUrl")), with real KV and Cache API.
 */
import { env } from "cloudflare:workers";
import { createTokenService, type TokenService } from "../../src/auth/jwt";
import { createCacheReader, createIsolateFiller, type CacheReader, type CacheResult, type Filler, type ReadOptions, type ReadScope } from "../../src/cache";
import { parseConfig, type Config } from "../../src/config";
import { createIsolate } from "../../src/isolate";
import { getFamily, parseKey, type FamilyEntry } from "../../src/keys";
import { createOriginClient, createOriginFill, type OriginClient } from "../../src/origin";
import type { ProxyDeps } from "../../src/routes";
import { createStats, type Stats } from "../../src/stats";
import { createTieredStore, type TieredStore } from "../../src/storage";

export interface Harness {
  config: Config;
  store: TieredStore;
  origin: OriginClient;
  reader: CacheReader;
  filler: Filler;
  /** The isolate's counters, as `/_edge/v1/stats` reports them. */
  stats: Stats;
  /** What one request at `now` lends a read: this harness's background work and counters. */
  scope(now: number): ReadScope;
  /** One read at `now`, as a request would make it. */
  read(key: string, family: FamilyEntry, now: number, options?: ReadOptions): Promise<CacheResult>;
  proxyDeps(now: () => number): ProxyDeps;
  /** This harness's background work: pending until `settle`. */
  waitUntil(promise: Promise<unknown>): void;
  /** Waits for everything handed to waitUntil (background writes, back-fills). */
  settle(): Promise<void>;
}

export interface HarnessOptions {
  originUrl?: string;
  originTimeoutMs?: number;
  l1?: boolean;
  /** Another store over the same bindings (a wrapped KV, a failing read). */
  store?: (store: TieredStore) => TieredStore;
  /** Another origin client over the real one (an answer the dev origin cannot give). */
  origin?: (origin: OriginClient) => OriginClient;
}

/** The in-isolate cache core (no shield) over real KV and Cache API, filling from the dev origin. */
export function createHarness(options: HarnessOptions = {}): Harness {
  const config: Config = {
    ...parseConfig(env),
    ...(options.originUrl === undefined ? {} : { originUrl: options.originUrl }),
    ...(options.originTimeoutMs === undefined ? {} : { originTimeoutMs: options.originTimeoutMs }),
  };
  // One isolate per harness: its L0, in-flight fills and tokens.
  const isolate = createIsolate();
  const pending: Promise<unknown>[] = [];
  const waitUntil = (promise: Promise<unknown>) => {
    pending.push(promise);
  };
  const tiered = createTieredStore({
    kv: env.CACHE,
    ...(options.l1 === false ? {} : { cache: caches.default }),
    l1MaxAgeSeconds: config.l1MaxAgeSeconds,
    staleIfErrorSeconds: config.staleIfErrorSeconds,
    baseUrl: "http://edge.test",
    memory: isolate.storage,
  });
  const store = options.store?.(tiered) ?? tiered;
  const client = createOriginClient({ tokens: isolate.tokens,
    config: { originUrl: config.originUrl, originTimeoutMs: config.originTimeoutMs, edgeOriginSecret: config.secrets.edgeOrigin },
  });
  const origin = options.origin?.(client) ?? client;
  const tokens: TokenService = createTokenService(config.secrets, config.previousSecrets, isolate.tokens);
  const filler = createIsolateFiller(store, createOriginFill({ origin, collabMaxSeconds: config.collabMaxSeconds }), isolate.fills);
  const reader = createCacheReader({ store, filler, guard: isolate.fillGuard, disabled: new Set(), refreshes: isolate.refreshes });
  const stats = createStats(0, isolate.id);
  const scope = (now: number): ReadScope => ({ now, waitUntil, stats });
  return {
    config,
    store,
    origin,
    reader,
    filler,
    stats,
    scope,
    read: (key, family, now, readOptions) => reader.read(key, family, scope(now), readOptions),
    proxyDeps: (now) => ({ config, origin, tokens, templates: isolate.templates, reader, filler, scope: scope(now()), clock: now }),
    waitUntil,
    async settle() {
      while (pending.length > 0) await Promise.allSettled(pending.splice(0));
    },
  };
}

export function familyOf(key: string): FamilyEntry {
  const parsed = parseKey(key);
  if (!parsed.ok) throw new Error(`test key does not parse: ${parsed.failure.message}`);
  return parsed.value.family;
}

export function family(name: string): FamilyEntry {
  const entry = getFamily(name);
  if (entry === undefined) throw new Error(`no family ${name}`);
  return entry;
}

/** Real time: the dev origin checks tokens against the wall clock. Tests move forward from it. */
export const wallNow = (): number => Math.floor(Date.now() / 1000);

/** `header.payload.signature` JWTs in a body, replaced by their stable claims (sub, aud, iss). */
export function normaliseJwts(text: string): string {
  return text.replace(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, (token) => {
    const payload = JSON.parse(atob((token.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
    const lifetime = typeof payload.exp === "number" && typeof payload.iat === "number" ? payload.exp - payload.iat : "?";
    return `JWT(${String(payload.sub)},${String(payload.aud)},${String(payload.iss)},${lifetime})`;
  });
}
