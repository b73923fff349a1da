/**
 * In-isolate coalescing of concurrent misses for one key (docs/design.md §3). Only plain values and bytes
 * may be shared: a Response, Request or stream belongs to the request that created it, and using
 * it from another request fails (`Cannot perform I/O on behalf of a different request`).
 */

/** In-flight loads by key, one map per isolate (src/isolate.ts). */
export type InFlight = Map<string, Promise<unknown>>;

function isIoObject(value: unknown): boolean {
  return value instanceof Response || value instanceof Request || value instanceof ReadableStream;
}

/**
 * Runs `load` once for concurrent callers of the same key; all of them get the same settled
 * value (or error). The entry is removed as soon as it settles, so a later miss loads again.
 * The load is handed to `waitUntil` so it outlives the request that started it, or the others
 * would see its continuations cancelled when that request ends.
 */
export function singleFlight<T>(
  inFlight: InFlight,
  key: string,
  load: () => Promise<T>,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<T> {
  const existing = inFlight.get(key);
  if (existing !== undefined) return existing as Promise<T>;
  const promise = (async () => {
    try {
      const value = await load();
      if (isIoObject(value)) {
        throw new TypeError("singleFlight shares values across requests: return bytes, not a Response or stream");
      }
      return value;
    } finally {
      inFlight.delete(key);
    }
  })();
  inFlight.set(key, promise);
  waitUntil(promise.catch(() => undefined));
  return promise;
}
