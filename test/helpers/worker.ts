/** Calls the Worker's own fetch with an injected clock (and random source), and waits for its background work. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createWorker, type WorkerOptions } from "../../src/index";
import type { RandomSource } from "../../src/util/random";

export interface CallOptions {
  /** Unix seconds the Worker sees. */
  now?: number | (() => number);
  env?: Record<string, unknown>;
  /** The routes' draws (crypto randomness when omitted). */
  random?: RandomSource;
}

export async function callWorker(input: Request | string, init?: RequestInit, options: CallOptions = {}): Promise<Response> {
  const { now } = options;
  const clock = typeof now === "function" ? now : now === undefined ? undefined : () => now;
  const workerOptions: WorkerOptions = {
    ...(clock === undefined ? {} : { now: clock }),
    ...(options.random === undefined ? {} : { random: options.random }),
  };
  return callOnce(createWorker(workerOptions), input, init, options);
}

/**
 * One Worker for many calls, as one isolate serves many requests: what it remembers between
 * requests (the admin API's admin bits, src/admin/admin-bit.ts) carries over. `callWorker` makes a
 * fresh Worker per call.
 */
export function createWorkerCaller(now: () => number): (input: Request | string, init?: RequestInit, options?: Pick<CallOptions, "env">) => Promise<Response> {
  const worker = createWorker({ now });
  return (input, init, options = {}) => callOnce(worker, input, init, options);
}

async function callOnce(worker: ReturnType<typeof createWorker>, input: Request | string, init: RequestInit | undefined, options: Pick<CallOptions, "env">): Promise<Response> {
  const request = typeof input === "string" ? new Request(input, init) : input;
  const ctx = createExecutionContext();
  const response = await worker.fetch!(
    request as Request<unknown, IncomingRequestCfProperties>,
    (options.env ?? env) as never,
    ctx,
  );
  // Read the body before waiting, so a streamed body's producer can finish; then settle waitUntil.
  const body = await response.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(response.status === 204 || response.status === 304 ? null : body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
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
