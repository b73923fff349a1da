/**
 * Test helpers for the storage suites. The KV wrappers below forward every call to the real
 * miniflare KV; they only count calls or inject KV's own 429 error, which the simulator never
 * raises (it does not enforce 1 write/s/key).
 */
import { env } from "cloudflare:workers";
import { wrapBinding } from "../helpers/faults";
import { buildStoredValue } from "../../src/storage/envelope";
import type { StoredValue } from "../../src/storage/tier";

/**
 * The real miniflare KV namespace bound as CACHE. Typed here because test/env.d.ts's
 * `Cloudflare.Env` augmentation does not take effect under tsc (its `extends import(...).Env`
 * refers to itself); this cast stays valid once that file is fixed.
 */
export const KV: KVNamespace = (env as { CACHE: KVNamespace }).CACHE;

/** A fixed injected clock far from the real one: freshness must come from the envelope alone. */
export const NOW = 1_700_000_000;

export const BASE_URL = "https://edge.test/";

export function uniquePrefix(label: string): string {
  return `t:${label}:${crypto.randomUUID().slice(0, 8)}:`;
}

export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function valueOf(
  bytes: Uint8Array | string,
  fields: Partial<{ family: string; codec: string; expiresAt: number }> = {},
  now = NOW,
): Promise<StoredValue> {
  return buildStoredValue(
    typeof bytes === "string" ? bytesOf(bytes) : bytes,
    { family: fields.family ?? "test:{id}", codec: fields.codec ?? "bytes", expiresAt: fields.expiresAt ?? now + 100 },
    now,
  );
}

export const noSleep = async (): Promise<void> => undefined;

/** Records requested delays instead of waiting. */
export function recordingSleep(): { sleep: (ms: number) => Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return { delays, sleep: async (ms) => void delays.push(ms) };
}

/** Collects `waitUntil` promises so a test can await the background work deterministically. */
export function collectingWaitUntil(): { waitUntil: (p: Promise<unknown>) => void; settle: () => Promise<void>; count: () => number } {
  const pending: Promise<unknown>[] = [];
  return {
    waitUntil: (p) => void pending.push(p),
    count: () => pending.length,
    settle: async () => {
      while (pending.length > 0) await Promise.allSettled(pending.splice(0));
    },
  };
}

/** Counts KV operations per method, forwarding everything to the real namespace. */
export function countingKv(kv: KVNamespace): { kv: KVNamespace; counts: Map<string, number>; total: () => number } {
  const counts = new Map<string, number>();
  const proxy = wrapBinding(kv, (method, _args, forward) => {
    counts.set(method, (counts.get(method) ?? 0) + 1);
    return forward();
  });
  return { kv: proxy, counts, total: () => [...counts.values()].reduce((a, b) => a + b, 0) };
}

/** Throws KV's own 429 error for the first `failures` puts/deletes, then forwards to the real KV. */
export function rateLimitedKv(kv: KVNamespace, failures: number): { kv: KVNamespace; refused: () => number } {
  let refused = 0;
  const proxy = wrapBinding(kv, (method, _args, forward) => {
    if ((method === "put" || method === "delete") && refused < failures) {
      refused++;
      return Promise.reject(new Error(`KV ${method === "put" ? "PUT" : "DELETE"} failed: 429 Too Many Requests`));
    }
    return forward();
  });
  return { kv: proxy, refused: () => refused };
}
