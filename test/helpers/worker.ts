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

let counter = 0;
/** A unique url-safe suffix so tests sharing one file's storage never collide. */
export function uniqueId(label = "t"): string {
  counter += 1;
  return `${label}${Date.now().toString(36)}${counter.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
