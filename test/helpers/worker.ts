/**
 * Calls the Worker's own fetch with an injected clock, and waits for its background work.
 *
 * The Worker keeps per-isolate state in one object (src/isolate.ts). Calls share this file's
 * isolate unless told otherwise, as requests to one isolate do; a test that plays several
 * isolates creates one per simulated isolate (`createIsolate()`) and passes it with each call
 * (`simulatedIsolate` below bundles one with its colo cache).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createWorker } from "../../src/index";
import { createIsolate, type Isolate } from "../../src/isolate";
import type { RandomSource } from "../../src/util/random";

export interface CallOptions {
  /** Unix seconds the Worker sees. */
  now?: number | (() => number);
  env?: Record<string, unknown>;
  /** Defaults to this test file's isolate. */
  isolate?: Isolate;
  /** The colo cache; defaults to `caches.default`. */
  colo?: Cache;
  /** The routes' draws (crypto randomness when omitted). */
  random?: RandomSource;
}

/** This test file's isolate: what the Worker keeps between requests. */
export const fileIsolate: Isolate = createIsolate();

/** The Worker answered `status`, but its body broke off while being read: a client sees a broken response. */
export class BrokenBody extends Error {
  constructor(readonly status: number, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "BrokenBody";
  }
}

export async function callWorker(input: Request | string, init?: RequestInit, options: CallOptions = {}): Promise<Response> {
  const { now } = options;
  const clock = typeof now === "function" ? now : now === undefined ? undefined : () => now;
  const colo = options.colo;
  const worker = createWorker({
    isolate: options.isolate ?? fileIsolate,
    ...(clock === undefined ? {} : { now: clock }),
    ...(colo === undefined ? {} : { colo: () => colo }),
    ...(options.random === undefined ? {} : { random: options.random }),
  });
  const request = typeof input === "string" ? new Request(input, init) : input;
  const ctx = createExecutionContext();
  const response = await worker.fetch!(
    request as Request<unknown, IncomingRequestCfProperties>,
    (options.env ?? env) as never,
    ctx,
  );
  // Read the body before waiting, so a streamed body's producer can finish; then settle waitUntil.
  let body: ArrayBuffer;
  try {
    body = await response.arrayBuffer();
  } catch (error) {
    throw new BrokenBody(response.status, error);
  }
  await waitOnExecutionContext(ctx);
  return new Response(response.status === 204 || response.status === 304 ? null : body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/**
 * One Worker for many calls with `now`, as one isolate serves many requests: what it remembers
 * between requests carries over, and nothing another test's calls left behind is in it.
 */
export function createWorkerCaller(now: () => number): (input: Request | string, init?: RequestInit, options?: Pick<CallOptions, "env">) => Promise<Response> {
  const isolate = createIsolate();
  return (input, init, options = {}) => callWorker(input, init, { ...options, now, isolate });
}

/** One simulated isolate in one simulated colo: its own Worker state and its own Cache API. */
export interface SimulatedIsolate {
  readonly isolate: Isolate;
  readonly colo: Cache;
  call(input: Request | string, init?: RequestInit, options?: Omit<CallOptions, "isolate" | "colo">): Promise<Response>;
}

/**
 * A long-lived isolate for a test that plays several: `colo` names its colo's cache
 * (`caches.open(colo)`), so isolates given the same name share one colo.
 */
export async function simulatedIsolate(colo: string): Promise<SimulatedIsolate> {
  const isolate = createIsolate();
  const cache = await caches.open(colo);
  return { isolate, colo: cache, call: (input, init, options = {}) => callWorker(input, init, { ...options, isolate, colo: cache }) };
}

/**
 * The test environment as production runs it (wrangler.toml's top level, not `[env.dev]`): the
 * `FAMILY_SHIELD` binding kept, L0 on at production's 8 MiB, L1 on, edge mode, no family disabled,
 * production's timeouts — each pinned here so a test does not inherit `[env.dev]` or `.dev.vars`.
 * `overrides` change what a test needs changed (a longer ORIGIN_TIMEOUT_MS, a wrapped binding).
 */
export function productionEnv(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...(env as unknown as Record<string, unknown>),
    L0_MAX_BYTES: "8388608",
    L1_CACHE: "on",
    EDGE_MODE: "edge",
    EDGE_DISABLED_FAMILIES: "",
    ORIGIN_TIMEOUT_MS: "5000",
    L1_MAX_AGE_SECONDS: "30",
    STALE_IF_ERROR_SECONDS: "300",
    MEDIA_LEASE_MS: "120000",
    SOURCE_TIME_WINDOW_SECONDS: "3600",
    ...overrides,
  };
}

let counter = 0;
/** A unique url-safe suffix so tests sharing one file's storage never collide. */
export function uniqueId(label = "t"): string {
  counter += 1;
  return `${label}${Date.now().toString(36)}${counter.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
