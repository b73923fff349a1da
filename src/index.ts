/**
 * Wiring only: parse the environment once per isolate, build what serves it once (the clients,
 * the admin API, and per colo the store and the cache core over it), then for each request match
 * its route once and hand it to the admin API, an edge route, or the origin (passthrough +
 * delegated render), with only what is the request's own: its clock reading, its background work
 * and its counters.
 */
import { ADMIN_BASE, createAdminApi, type AdminRequest } from "./admin/api";
import { authorizeAdminIdTokenAtOrigin } from "./admin/admin-bit";
import { createTokenService, type TokenService } from "./auth/jwt";
import { createCacheReader, createIsolateFiller, createPhases, type FetchFill, type Served } from "./cache";
import { createDirectWriter } from "./cache/writer";
import { ConfigError, readConfig, type Config, type Env } from "./config";
import type { Edge } from "./context";
import { failureResponse } from "./errors";
import { createIsolate, type Isolate } from "./isolate";
import { errorFields, logEvent } from "./log";
import { createMediaStore } from "./media";
import { observeRequest } from "./observe";
import { createOriginClient, createOriginFill, type OriginClient } from "./origin";
import { parseFamilyPatterns } from "./rollout/switches";
import { answerEdgeRoute, createRouteIo, matchEdgeRoute, stamp, type Answer, type MatchedRoute } from "./routes";
import type { Stats } from "./stats";
import { createShieldClient, createShieldFiller, createShieldWriter, type ShieldClient } from "./shield";
import { createR2Tier, createTieredStore, type R2Tier } from "./storage";
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

/**
 * Hosts whose colo stores one isolate keeps: L1 entries live under the request's own host, and a
 * Worker is reached on a handful (its routes, workers.dev). Past it the oldest store is rebuilt on
 * its next request, which costs a few closures, never a cached value.
 */
const MAX_HOSTS_PER_COLO = 8;

/** What is built once per isolate per environment object: the parsed config and its clients. */
interface Wiring {
  config: Config;
  origin: OriginClient;
  tokens: TokenService;
  /** The shields' client, or none without the binding (fills then coalesce per isolate). */
  shield: ShieldClient | undefined;
  r2: R2Tier | undefined;
  fetchFill: FetchFill;
  disabled: ReadonlySet<string>;
  admin: (request: Request, context: AdminRequest) => Promise<Response>;
  /** The colo's `Edge` for requests to `baseUrl`'s host, built on its first request. */
  edgeAt(colo: Cache | undefined, baseUrl: string): Edge;
}

/** The wiring for `env`, or what is wrong with it (a misconfigured deploy answers 500 until fixed). */
function wire(env: Env, isolate: Isolate): { ok: true; wiring: Wiring } | { ok: false; problem: ConfigError } {
  const read = readConfig(env);
  if (!read.ok) return { ok: false, problem: new ConfigError(read.problems) };
  const { config } = read;
  // EDGE_DISABLED_FAMILIES patterns are checked against the registry, which config.ts cannot
  // import; a typo is as fatal as a missing secret.
  const switches = parseFamilyPatterns(config.disabledFamilyPatterns);
  if (switches.problems.length > 0) return { ok: false, problem: new ConfigError(switches.problems) };
  const origin = createOriginClient({
    config: { originUrl: config.originUrl, originTimeoutMs: config.originTimeoutMs, edgeOriginSecret: config.secrets.edgeOrigin },
    tokens: isolate.tokens,
  });
  const tokens = createTokenService(config.secrets, config.previousSecrets, isolate.tokens);
  const fetchFill = createOriginFill({ origin, collabMaxSeconds: config.collabMaxSeconds });
  let shield: ShieldClient | undefined;
  if (env.FAMILY_SHIELD === undefined) {
    // Said once per isolate, since every fill is then per isolate.
    if (isolate.firstTime("no-shield")) {
      logEvent("FAMILY_SHIELD binding absent", { effect: "fills coalesce per isolate only, and purges do not order fills across the edge" }, "warn");
    }
  } else {
    shield = createShieldClient(env.FAMILY_SHIELD, { shards: config.shieldShards });
  }
  const r2 = (env.MEDIA as R2Bucket | undefined) === undefined ? undefined : createR2Tier(env.MEDIA);
  const admin = createAdminApi({
    config,
    authorizeIdToken: (token, at) => authorizeAdminIdTokenAtOrigin(token, { tokens, origin, memo: isolate.adminBits }, at),
    ...(env.ADMIN_AUTH_LIMITER === undefined ? {} : { authLimiter: env.ADMIN_AUTH_LIMITER }),
  });

  const wiring: Omit<Wiring, "edgeAt"> = { config, origin, tokens, shield, r2, fetchFill, disabled: switches.names, admin };
  const byColo = new WeakMap<Cache, Map<string, Edge>>();
  const withoutColo = new Map<string, Edge>();
  const edgeAt = (colo: Cache | undefined, baseUrl: string): Edge => {
    let hosts = colo === undefined ? withoutColo : byColo.get(colo);
    if (hosts === undefined) {
      hosts = new Map();
      byColo.set(colo as Cache, hosts);
    }
    const host = new URL(baseUrl).origin;
    let edge = hosts.get(host);
    if (edge === undefined) {
      edge = buildEdge(wiring, env, isolate, colo, host);
      hosts.set(host, edge);
      if (hosts.size > MAX_HOSTS_PER_COLO) hosts.delete(hosts.keys().next().value as string);
    }
    return edge;
  };
  return { ok: true, wiring: { ...wiring, edgeAt } };
}

/** The colo's store and the cache core over it: the shields' filler and writer when bound, else the in-isolate and direct ones. */
function buildEdge(wiring: Omit<Wiring, "edgeAt">, env: Env, isolate: Isolate, colo: Cache | undefined, baseUrl: string): Edge {
  const { config, shield, r2 } = wiring;
  // What the tiered store and the media store share: the colo cache and its rules.
  const local = {
    ...(colo === undefined ? {} : { cache: colo }),
    l1MaxAgeSeconds: config.l1MaxAgeSeconds,
    staleIfErrorSeconds: config.staleIfErrorSeconds,
    baseUrl,
  };
  const store = createTieredStore({ kv: env.CACHE, ...(r2 === undefined ? {} : { media: r2 }), l0MaxBytes: config.l0MaxBytes, memory: isolate.storage, ...local });
  const filler = shield === undefined ? createIsolateFiller(store, wiring.fetchFill, isolate.fills) : createShieldFiller(shield, store, wiring.fetchFill, isolate.fills);
  const writer = shield === undefined ? createDirectWriter(store) : createShieldWriter(shield, store);
  const media =
    r2 === undefined
      ? undefined
      : createMediaStore({
          ...local,
          r2,
          origin: wiring.origin,
          collabMaxSeconds: config.collabMaxSeconds,
          leaseMs: config.mediaLeaseMs,
          flights: isolate.mediaFlights,
          ...(shield === undefined ? {} : { lease: (key, family, at, lease) => shield.lease(key, family, at, lease) }),
        });
  return {
    config,
    origin: wiring.origin,
    tokens: wiring.tokens,
    templates: isolate.templates,
    guard: isolate.fillGuard,
    store,
    reader: createCacheReader({ store, filler, guard: isolate.fillGuard, disabled: wiring.disabled, refreshes: isolate.refreshes }),
    filler,
    writer,
    media,
    shield,
  };
}

/** Which part of the Worker answers a request: matched once, its label the log's route. */
type RequestRoute =
  | { kind: "admin"; label: string }
  /** The rest of `/_edge/`: the edge's own namespace (L1 cache keys live under /_edge/l1/), never forwarded, never served. */
  | { kind: "reserved"; label: string }
  | { kind: "edge"; label: string; matched: MatchedRoute }
  | { kind: "proxied"; label: string };

/** The request's route; its label is a template or admin route, never the raw path (it may carry ids). */
function routeOf(method: string, pathname: string, mode: Config["mode"]): RequestRoute {
  if (pathname === ADMIN_BASE || pathname.startsWith(`${ADMIN_BASE}/`)) {
    const first = pathname.slice(ADMIN_BASE.length + 1).split("/")[0] ?? "";
    return { kind: "admin", label: `${ADMIN_BASE}/${first}${pathname.length > ADMIN_BASE.length + 1 + first.length ? "/…" : ""}` };
  }
  if (pathname.startsWith("/_edge/")) return { kind: "reserved", label: "/_edge/…" };
  const matched = matchEdgeRoute(method, pathname);
  if (matched === undefined) return { kind: "proxied", label: "passthrough" };
  // EDGE_MODE=passthrough: no edge route runs; the request is proxied without a token.
  return mode === "edge" ? { kind: "edge", label: matched.route.path, matched } : { kind: "proxied", label: matched.route.path };
}

export function createWorker(options: WorkerOptions = {}): ExportedHandler<Env> {
  const now = options.now ?? systemClock;
  const isolate = options.isolate ?? createIsolate();
  const colo = options.colo ?? (() => caches.default);
  const random = options.random ?? createCryptoRandom();

  return {
    async fetch(request, env, ctx): Promise<Response> {
      const wired = isolate.memo("wiring", env, (e) => wire(e, isolate));
      if (!wired.ok) {
        // The names of what is missing, never any value: this is what an operator needs to fix it.
        logEvent("misconfigured", { message: wired.problem.message });
        return failureResponse({ type: "misconfigured", message: wired.problem.message });
      }
      const { wiring } = wired;
      const { config } = wiring;
      const url = new URL(request.url);
      const route = routeOf(request.method, url.pathname, config.mode);
      const observer = observeRequest({
        method: request.method,
        route: route.label,
        isolateStats: isolate.stats(now),
        startedAtMs: Date.now(),
        log: config.requestLog ? (line) => console.log(line) : null,
        metrics: env.METRICS,
        environment: config.environment,
      });
      const waitUntil = (promise: Promise<unknown>) => ctx.waitUntil(promise);
      let answer: Answer;
      try {
        answer = await answerRequest(request, url, route, wiring, observer.stats, waitUntil);
      } catch (error) {
        // The route label, not the path (it may carry ids); the error's name and message, no objects.
        logEvent("unhandled error", { method: request.method, route: route.label, ...errorFields(error) });
        answer = { response: failureResponse({ type: "internal", message: "internal error" }), served: OWN };
      }
      observer.finish(answer.response.status, answer.served);
      return answer.response;
    },
  } satisfies ExportedHandler<Env>;

  async function answerRequest(
    request: Request,
    url: URL,
    route: RequestRoute,
    wiring: Wiring,
    stats: Stats,
    waitUntil: (promise: Promise<unknown>) => void,
  ): Promise<Answer> {
    const edge = wiring.edgeAt(wiring.config.l1Enabled ? colo() : undefined, url.origin);
    switch (route.kind) {
      case "admin":
        return { response: await wiring.admin(request, { edge, stats, now, waitUntil }), served: OWN };
      case "reserved":
        return { response: failureResponse({ type: "not_found", message: "no such edge route" }), served: OWN };
      case "edge":
      case "proxied": {
        const startedAt = Date.now();
        const phases = createPhases();
        const io = createRouteIo(edge, { scope: { now: now(), waitUntil, stats, phases }, random, clock: now });
        const answer = route.kind === "edge" ? await answerEdgeRoute(route.matched, request, url, io) : await io.passthrough(request);
        return { response: stamp(answer, startedAt, phases), served: answer.served };
      }
      default:
        return route satisfies never;
    }
  }
}

const OWN: Served = { kind: "own" };

export default createWorker();
