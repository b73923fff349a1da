/**
 * KV allows one write per second per key and answers faster writes with
 * `KV PUT failed: 429 Too Many Requests` (deletes count as writes). Cloudflare's advice is to
 * retry with exponential backoff; the sleep is injected so tests never wait.
 */
import { KV_RETRY_BASE_DELAY_MS, KV_WRITE_MAX_ATTEMPTS } from "./limits";

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function isKvRateLimited(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /\b429\b/.test(message);
}

export interface RetryOptions {
  sleep: Sleep;
  maxAttempts?: number;
  baseDelayMs?: number;
  /** Called before each retry (for the `retries429` counter). */
  onRetry?: (attempt: number, delayMs: number) => void;
}

export type RetryOutcome<T> =
  | { ok: true; value: T; attempts: number }
  | { ok: false; rateLimited: true; attempts: number; message: string }
  | { ok: false; rateLimited: false; attempts: number; message: string };

/** Runs `op`, retrying only KV 429s: delays base, 2·base, 4·base … for at most `maxAttempts` tries. */
export async function retryKvWrite<T>(op: () => Promise<T>, options: RetryOptions): Promise<RetryOutcome<T>> {
  const maxAttempts = options.maxAttempts ?? KV_WRITE_MAX_ATTEMPTS;
  const baseDelayMs = options.baseDelayMs ?? KV_RETRY_BASE_DELAY_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return { ok: true, value: await op(), attempts: attempt };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!isKvRateLimited(error)) return { ok: false, rateLimited: false, attempts: attempt, message };
      if (attempt >= maxAttempts) return { ok: false, rateLimited: true, attempts: attempt, message };
      const delayMs = baseDelayMs * 2 ** (attempt - 1);
      options.onRetry?.(attempt, delayMs);
      await options.sleep(delayMs);
    }
  }
}
