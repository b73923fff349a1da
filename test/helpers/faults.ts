/**
 * Fault wrappers around the REAL bindings (miniflare's KV namespace and Cache API): every call is
 * forwarded to the real object unless the plan says to fail it the way the platform does. They
 * wrap, never replace — what a test stores through them is really stored.
 */
import { vi } from "vitest";

/** Decides per call: `undefined` forwards to the real method; anything else is what the call does instead. */
export type Intercept = (method: string, args: unknown[], forward: () => unknown) => unknown;

/** A Proxy over `target` whose method calls go through `intercept`. */
export function wrapBinding<T extends object>(target: T, intercept: Intercept): T {
  return new Proxy(target, {
    get(object, prop, receiver) {
      const original = Reflect.get(object, prop, receiver) as unknown;
      if (typeof original !== "function") return original;
      return (...args: unknown[]) => {
        // Reflect.apply, not `.apply`: on a Durable Object stub every property name is an RPC
        // method, `apply` included.
        const forward = () => Reflect.apply(original as (...a: unknown[]) => unknown, object, args);
        return intercept(String(prop), args, forward);
      };
    },
  });
}

/** KV's own error texts, so the code under test sees what production would. */
export const KV_ERRORS = {
  get: "KV GET failed: 500 Internal Server Error",
  put: "KV PUT failed: 500 Internal Server Error",
  delete: "KV DELETE failed: 500 Internal Server Error",
  list: "KV LIST failed: 500 Internal Server Error",
  rateLimited: "KV PUT failed: 429 Too Many Requests",
} as const;

export interface KvFaultPlan {
  /** `get` and `getWithMetadata` reject (value keys only, or every key with "all"). */
  get?: "values" | "all";
  /** `put` rejects with a 500, or with KV's 429 for the first `n` puts (`{ rateLimited: n }`). */
  put?: "error" | { rateLimited: number };
  delete?: "error" | { afterCalls: number };
  list?: "error" | { emptyPages: number };
}

/** Reserved keys (the L1 generations) start with this; "values" get faults spare them. */
const RESERVED_PREFIX = "_edge:";
const EMPTY_PAGE_CURSOR = "empty-page:";

/**
 * The real KV namespace with `plan`'s faults. `{ emptyPages: n }` makes the first `n` list calls
 * answer an empty page with `list_complete: false` (KV does this when a page's keys have all
 * expired); its cursor leads back to where that page started, so nothing is skipped.
 */
export function faultyKv(kv: KVNamespace, plan: KvFaultPlan): { kv: KVNamespace; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  let emptyPagesLeft = typeof plan.list === "object" ? plan.list.emptyPages : 0;
  let rateLimitedLeft = typeof plan.put === "object" ? plan.put.rateLimited : 0;
  const wrapped = wrapBinding(kv, (method, args, forward) => {
    const seen = (calls.get(method) ?? 0) + 1;
    calls.set(method, seen);
    const key = typeof args[0] === "string" ? args[0] : "";
    switch (method) {
      case "get":
      case "getWithMetadata":
        if (plan.get === "all" || (plan.get === "values" && !key.startsWith(RESERVED_PREFIX))) return Promise.reject(new Error(KV_ERRORS.get));
        return forward();
      case "put":
        if (plan.put === "error") return Promise.reject(new Error(KV_ERRORS.put));
        if (rateLimitedLeft > 0) {
          rateLimitedLeft -= 1;
          return Promise.reject(new Error(KV_ERRORS.rateLimited));
        }
        return forward();
      case "delete":
        if (plan.delete === "error" || (typeof plan.delete === "object" && seen > plan.delete.afterCalls)) {
          return Promise.reject(new Error(KV_ERRORS.delete));
        }
        return forward();
      case "list": {
        if (plan.list === "error") return Promise.reject(new Error(KV_ERRORS.list));
        const options = { ...((args[0] ?? {}) as KVNamespaceListOptions) };
        const cursor = options.cursor ?? "";
        if (cursor.startsWith(EMPTY_PAGE_CURSOR)) {
          const inner = cursor.slice(EMPTY_PAGE_CURSOR.length);
          if (inner === "") delete options.cursor;
          else options.cursor = inner;
        }
        if (emptyPagesLeft > 0) {
          emptyPagesLeft -= 1;
          return Promise.resolve({ keys: [], list_complete: false, cursor: `${EMPTY_PAGE_CURSOR}${options.cursor ?? ""}`, cacheStatus: null });
        }
        return kv.list(options);
      }
      default:
        return forward();
    }
  });
  return { kv: wrapped, calls };
}

export interface CacheFaultPlan {
  match?: boolean;
  put?: boolean;
  delete?: boolean;
}

/** The Cache API's error under subrequest limits; any throw is what the tiers must survive. */
export const CACHE_ERROR = "Cache API failed: too many subrequests";

/** The real `caches.default` with `plan`'s methods rejecting. */
export function faultyCache(cache: Cache, plan: CacheFaultPlan): { cache: Cache; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const wrapped = wrapBinding(cache, (method, _args, forward) => {
    calls.set(method, (calls.get(method) ?? 0) + 1);
    if ((method === "match" && plan.match) || (method === "put" && plan.put) || (method === "delete" && plan.delete)) {
      return Promise.reject(new Error(CACHE_ERROR));
    }
    return forward();
  });
  return { cache: wrapped, calls };
}

/**
 * Makes `caches.default` (what the Worker reads per request) the faulty wrapper of the real one
 * until the returned restore is called.
 */
export function breakDefaultCache(plan: CacheFaultPlan): { calls: Map<string, number>; restore: () => void } {
  const real = caches.default;
  const { cache, calls } = faultyCache(real, plan);
  const spy = vi.spyOn(caches, "default", "get").mockReturnValue(cache);
  return { calls, restore: () => spy.mockRestore() };
}

/**
 * The real `FAMILY_SHIELD` namespace whose objects' stubs go through `intercept` (method = the
 * RPC method: `lease`, `commitLease`, …): each call reaches the real Durable Object unless the
 * intercept answers it instead. Hand it to the Worker as its env's `FAMILY_SHIELD`.
 */
export function wrapShieldNamespace<T extends object>(namespace: T, intercept: Intercept): T {
  return wrapBinding(namespace, (method, _args, forward) => (method === "get" ? wrapBinding(forward() as object, intercept) : forward()));
}

/** A pull-through copy of `body` that adds every byte the reader takes to `read.bytes`. */
export function countBytes(body: ReadableStream<Uint8Array>, read: { bytes: number }): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await reader.read();
        if (next.done) {
          controller.close();
          return;
        }
        read.bytes += next.value.byteLength;
        controller.enqueue(next.value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
