/**
 * Builds the edge's origin dependencies inside workerd against the dev origin started by
 * test/global-setup.ts (ORIGIN_URL = inject("originUrl")), with real KV and Cache API.
 */
import { env } from "cloudflare:workers";
import { createTokenMemory, createTokenService, type TokenService } from "../../src/auth/jwt";
import { parseConfig, type Config } from "../../src/config";
import { createIsolate } from "../../src/isolate";
import { getFamily, parseKey, type FamilyEntry } from "../../src/keys";
import { createOriginClient, type LoadDeps, type OriginClient, type ProxyDeps } from "../../src/origin";
import { createTieredStore, type TieredStore } from "../../src/storage";

export interface Harness {
  config: Config;
  store: TieredStore;
  origin: OriginClient;
  deps: LoadDeps;
  proxyDeps: (now: () => number) => ProxyDeps;
  /** Waits for everything handed to waitUntil (background writes, back-fills). */
  settle(): Promise<void>;
}

export interface HarnessOptions {
  originUrl?: string;
  originTimeoutMs?: number;
  l1?: boolean;
}

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
  const store = createTieredStore({
    kv: env.CACHE,
    ...(options.l1 === false ? {} : { cache: caches.default }),
    l1MaxAgeSeconds: config.l1MaxAgeSeconds,
    staleIfErrorSeconds: config.staleIfErrorSeconds,
    baseUrl: "http://edge.test",
    waitUntil,
    memory: isolate.storage,
  });
  const origin = createOriginClient({ tokens: isolate.tokens,
    config: { originUrl: config.originUrl, originTimeoutMs: config.originTimeoutMs, edgeOriginSecret: config.secrets.edgeOrigin },
  });
  const tokens: TokenService = createTokenService(config.secrets, config.previousSecrets, isolate.tokens);
  const deps: LoadDeps = { store, origin, collabMaxSeconds: config.collabMaxSeconds, waitUntil, guard: isolate.fillGuard };
  return {
    config,
    store,
    origin,
    deps,
    proxyDeps: (now) => ({ config, store, now, waitUntil, origin, tokens, templates: isolate.templates, guard: isolate.fillGuard }),
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
