/**
 * Wiring only: parse the environment once, build the per-request dependencies, and hand the
 * request to the admin API, an edge route, or the origin (passthrough + delegated render).
 */
import { ADMIN_BASE, createAdminApi } from "./admin/api";
import { authorizeAdminIdTokenAtOrigin } from "./admin/admin-bit";
import { createTokenService, type TokenService } from "./auth/jwt";
import { ConfigError, parseConfig, type Config, type Env } from "./config";
import { failureResponse } from "./errors";
import { createIsolate, type Isolate } from "./isolate";
import type { Stats } from "./stats";
import { createR2Tier, createTieredStore } from "./storage";
import { createMediaStore } from "./media";
import { createEdgeContext, type EdgeContext } from "./context";
import { createShieldClient, type ShieldClient } from "./shield";
import { createOriginClient, handleProxied, type OriginClient } from "./origin";
import { matchEdgeRoute, routeEdgeRequest } from "./routes";
import { observeRequest } from "./observe";
import { errorFields, logEvent } from "./observe/log";
import { disabledFamiliesOf, switchProblems, withDisabledFamilies } from "./rollout/switches";
import { createCryptoRandom, type RandomSource } from "./util/random";

export interface WorkerOptions {
  /** Unix seconds. Tests inject a fixed clock; production reads the platform clock. */
  now?: () => number;
  /**
   * What the Worker keeps for the isolate's lifetime (src/isolate.ts). One is made when absent, so
   * the default export has exactly one per isolate; tests pass one per simulated isolate.
   */
  isolate?: Isolate;
  /**
   * The colo's cache (L1), read per request; `caches.default` when absent. Tests give each
   * simulated colo its own (`caches.open(name)`).
   */
  colo?: () => Cache;
  /** The routes' draws. Tests inject a deterministic source; production uses crypto randomness. */
  random?: RandomSource;
}

const systemClock = (): number => Date.now() / 1000;

/** The Durable Object class the `FAMILY_SHIELD` binding names (wrangler.toml). */
export { FamilyShield } from "./shield";

/** What is built once per isolate per environment object: the parsed config and its clients. */
interface Wiring {
  config: Config;
  origin: OriginClient;
  tokens: TokenService;
  /** The shields' client, or none without the binding (fills then coalesce per isolate). */
  shield?: ShieldClient;
}

function wire(env: Env, isolate: Isolate): Wiring {
  const config = parseConfig(env);
  // EDGE_DISABLED_FAMILIES patterns are checked against the registry, which config.ts cannot
  // import; a typo is as fatal as a missing secret.
  const problems = switchProblems(config);
  if (problems.length > 0) throw new ConfigError(problems);
  const origin = createOriginClient({
    config: { originUrl: config.originUrl, originTimeoutMs: config.originTimeoutMs, edgeOriginSecret: config.secrets.edgeOrigin },
    tokens: isolate.tokens,
  });
  const tokens = createTokenService(config.secrets, config.previousSecrets, isolate.tokens);
  if (env.FAMILY_SHIELD === undefined) {
    // Said once per isolate, since every fill is then per isolate.
    if (isolate.firstTime("no-shield")) {
      logEvent("FAMILY_SHIELD binding absent", { effect: "fills coalesce per isolate only, and purges do not order fills across the edge" }, "warn");
    }
    return { config, origin, tokens };
  }
  return { config, origin, tokens, shield: createShieldClient(env.FAMILY_SHIELD, { shards: config.shieldShards }) };
}

/**
 * docs/design.md §7: edge answers carry `Server-Timing`. Routes set their own; proxied and delegated
 * answers get the time until their headers were ready (a streamed body keeps flowing after).
 */
function withServerTiming(response: Response, startedAt: number): Response {
  if (response.headers.has("Server-Timing")) return response;
  const value = `edge;dur=${Math.max(0, Date.now() - startedAt)}`;
  try {
    response.headers.set("Server-Timing", value);
    return response;
  } catch {
    // Immutable headers (a Response straight from fetch): copy them once.
    const headers = new Headers(response.headers);
    headers.set("Server-Timing", value);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}

export function createWorker(options: WorkerOptions = {}): ExportedHandler<Env> {
  const now = options.now ?? systemClock;
  const isolate = options.isolate ?? createIsolate();
  const colo = options.colo ?? (() => caches.default);
  const random = options.random ?? createCryptoRandom();

  return {
    async fetch(request, env, ctx): Promise<Response> {
      let wiring: Wiring;
      try {
        wiring = isolate.memo("wiring", env, (e) => wire(e, isolate));
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        // The names of what is missing, never any value: this is what an operator needs to fix it.
        logEvent("misconfigured", { message: error.message });
        return failureResponse({ type: "misconfigured", message: error.message });
      }
      const { config } = wiring;
      const url = new URL(request.url);
      const observer = observeRequest({
        method: request.method,
        route: routeLabel(request.method, url.pathname),
        isolateStats: isolate.stats(now),
        startedAtMs: Date.now(),
        log: config.requestLog ? (line) => console.log(line) : null,
        metrics: env.METRICS,
        environment: config.environment,
      });
      const response = await answer(request, url, env, ctx, wiring, observer.stats);
      observer.finish(response);
      return response;
    },
  } satisfies ExportedHandler<Env>;

  async function answer(request: Request, url: URL, env: Env, ctx: ExecutionContext, wiring: Wiring, stats: Stats): Promise<Response> {
    const { config, shield } = wiring;
    const r2 = (env.MEDIA as R2Bucket | undefined) === undefined ? undefined : createR2Tier(env.MEDIA);
    // What the tiered store and the media store share: the colo cache and its rules.
    const local = {
      ...(config.l1Enabled ? { cache: colo() } : {}),
      l1MaxAgeSeconds: config.l1MaxAgeSeconds,
      staleIfErrorSeconds: config.staleIfErrorSeconds,
      baseUrl: url.origin,
      waitUntil: (promise: Promise<unknown>) => ctx.waitUntil(promise),
    };
    const store = createTieredStore({ kv: env.CACHE, ...(r2 === undefined ? {} : { media: r2 }), l0MaxBytes: config.l0MaxBytes, memory: isolate.storage, ...local });
    // The request path sees disabled families as never stored (EDGE_DISABLED_FAMILIES); the
    // admin API keeps the whole store, so an operator can still inspect and purge them.
    const requestStore = withDisabledFamilies(store, disabledFamiliesOf(config));
    const media =
      r2 === undefined
        ? undefined
        : createMediaStore({
            ...local,
            r2,
            origin: wiring.origin,
            collabMaxSeconds: config.collabMaxSeconds,
            stats,
            leaseMs: config.mediaLeaseMs,
            flights: isolate.mediaFlights,
            ...(shield === undefined ? {} : { lease: (key, family, at, lease) => shield.lease(key, family, at, lease) }),
          });
    const edge: EdgeContext = createEdgeContext({
      config,
      store: requestStore,
      origin: wiring.origin,
      tokens: wiring.tokens,
      templates: isolate.templates,
      guard: isolate.fillGuard,
      ...(shield === undefined ? {} : { shield }),
      ...(media === undefined ? {} : { media }),
      stats,
      now,
      random,
      ctx,
    });

    try {
      if (url.pathname === ADMIN_BASE || url.pathname.startsWith(`${ADMIN_BASE}/`)) {
        const admin = createAdminApi({
          config,
          store,
          guard: isolate.fillGuard,
          ...(shield === undefined ? {} : { shield }),
          ...(media === undefined ? {} : { media }),
          stats,
          now,
          authorizeIdToken: (token, at) =>
            authorizeAdminIdTokenAtOrigin(token, { tokens: wiring.tokens, origin: wiring.origin, memo: isolate.adminBits }, at),
          authLimiter: env.ADMIN_AUTH_LIMITER,
        });
        return await admin(request);
      }
      // The rest of /_edge/ is the edge's own namespace (L1 cache keys live under /_edge/l1/):
      // never forwarded, never served.
      if (url.pathname.startsWith("/_edge/")) {
        return failureResponse({ type: "not_found", message: "no such edge route" });
      }
      const startedAt = Date.now();
      // EDGE_MODE=passthrough: no edge route runs; handleProxied forwards without a token.
      const response =
        (config.mode === "edge" ? await routeEdgeRequest(request, url, edge) : undefined) ??
        (await handleProxied(request, {
          config,
          store: requestStore,
          stats,
          now,
          origin: wiring.origin,
          tokens: wiring.tokens,
          templates: isolate.templates,
          guard: isolate.fillGuard,
          waitUntil: edge.waitUntil,
          ...(edge.filler === undefined ? {} : { filler: edge.filler }),
        }));
      return withServerTiming(response, startedAt);
    } catch (error) {
      // The route label, not the path (it may carry ids); the error's name and message, no objects.
      logEvent("unhandled error", { method: request.method, route: routeLabel(request.method, url.pathname), ...errorFields(error) });
      return failureResponse({ type: "internal", message: "internal error" });
    }
  }
}

/** The log's route label: a template or admin route, never the raw path (it may carry ids). */
function routeLabel(method: string, pathname: string): string {
  if (pathname === ADMIN_BASE || pathname.startsWith(`${ADMIN_BASE}/`)) {
    const first = pathname.slice(ADMIN_BASE.length + 1).split("/")[0] ?? "";
    return `${ADMIN_BASE}/${first}${pathname.length > ADMIN_BASE.length + 1 + first.length ? "/…" : ""}`;
  }
  if (pathname.startsWith("/_edge/")) return "/_edge/…";
  return matchEdgeRoute(method, pathname)?.route.path ?? "passthrough";
}

export default createWorker();
