/**
 * L2: Workers KV, the global tier (docs/design.md §3). The KV key is the family key itself, so the
 * namespace mirrors the backend keyspace and can be listed by prefix; the value is the raw bytes
 * and the envelope rides in KV metadata. Layout: docs/storage-schema.md.
 */
import { checkStorable, isEnvelope, keyProblem, pickEnvelope } from "./envelope";
import { KV_MAX_TTL_SECONDS, KV_MIN_TTL_SECONDS } from "./limits";
import { realSleep, retryKvWrite, type Sleep } from "./retry";
import type { Envelope, PutResult, StoredValue } from "./tier";

export interface KvTierOptions {
  /**
   * Seconds a value stays in KV after `expiresAt` (the stale-if-error window), so a last good
   * value can still be served when the origin fails. Freshness itself comes from the envelope.
   */
  graceSeconds: number;
  /** Injected so tests of the 429 backoff never wait. */
  sleep?: Sleep;
  maxAttempts?: number;
  baseDelayMs?: number;
  /** Told about every 429 retry (for the stats counters); `family` is the value's, absent for deletes. */
  onRetry?: (retry: { key: string; family: string | undefined; attempt: number; delayMs: number }) => void;
}

/** Whole values under the family key (at most 25 MiB: a 429 retry must be able to send the bytes again). */
export interface KvTier {
  readonly name: "l2";
  /** The value even when expired (freshness is the caller's decision, from the envelope). */
  get(key: string, now: number): Promise<StoredValue | undefined>;
  put(key: string, value: StoredValue, now: number): Promise<PutResult>;
  /** Throws when KV keeps refusing after its 429 retries. */
  delete(key: string): Promise<void>;
  /**
   * The envelope alone: reads the value as a stream and cancels it, so checking whether a write
   * can be skipped costs one KV read and no value transfer.
   */
  getEnvelope(key: string): Promise<Envelope | undefined>;
}

/**
 * KV's GC backstop: `expirationTtl = min(1 year, max(60, expiresAt + grace − now))`. A TTL rather than an
 * absolute `expiration` so an injected clock that differs from KV's own never makes the put
 * throw; with a true clock it is the same instant as `max(now + 60, expiresAt + grace)`.
 */
export function kvExpirationTtl(envelope: Envelope, now: number, graceSeconds: number): number {
  return Math.min(KV_MAX_TTL_SECONDS, Math.max(KV_MIN_TTL_SECONDS, envelope.expiresAt + graceSeconds - now));
}

/** A stored value is only believed when its metadata is an envelope that matches the bytes. */
function toStoredValue(value: ArrayBuffer | null, metadata: unknown): StoredValue | undefined {
  if (value === null || !isEnvelope(metadata)) return undefined;
  if (metadata.size !== value.byteLength) return undefined;
  return { bytes: new Uint8Array(value), envelope: pickEnvelope(metadata) };
}

export function createKvTier(kv: KVNamespace, options: KvTierOptions): KvTier {
  const sleep = options.sleep ?? realSleep;
  const retryOptions = (key: string, family?: string) => ({
    sleep,
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.baseDelayMs !== undefined ? { baseDelayMs: options.baseDelayMs } : {}),
    onRetry: (attempt: number, delayMs: number) => options.onRetry?.({ key, family, attempt, delayMs }),
  });

  const put = async (key: string, value: StoredValue, now: number): Promise<PutResult> => {
    const checked = checkStorable(key, value);
    if (!checked.ok) return checked;
    const { metadata } = checked;
    const expirationTtl = kvExpirationTtl(metadata, now, options.graceSeconds);
    const outcome = await retryKvWrite(
      () => kv.put(key, value.bytes, { expirationTtl, metadata }),
      retryOptions(key, metadata.family),
    );
    if (outcome.ok) return { ok: true };
    if (outcome.rateLimited) {
      return {
        ok: false,
        failure: {
          reason: "rate_limited",
          message: `KV kept refusing the write (429) after ${outcome.attempts} attempts`,
          attempts: outcome.attempts,
        },
      };
    }
    return { ok: false, failure: { reason: "backend_error", message: `KV write failed: ${outcome.message}` } };
  };

  return {
    name: "l2",
    put,

    async get(key) {
      if (keyProblem(key) !== null) return undefined;
      const { value, metadata } = await kv.getWithMetadata<unknown>(key, { type: "arrayBuffer" });
      return toStoredValue(value, metadata);
    },

    async getEnvelope(key) {
      if (keyProblem(key) !== null) return undefined;
      const { value, metadata } = await kv.getWithMetadata<unknown>(key, { type: "stream" });
      if (value === null) return undefined;
      await value.cancel().catch(() => undefined);
      return isEnvelope(metadata) ? pickEnvelope(metadata) : undefined;
    },

    async delete(key) {
      // A key KV would refuse cannot have been stored, so deleting it is already done.
      if (keyProblem(key) !== null) return;
      const outcome = await retryKvWrite(() => kv.delete(key), retryOptions(key));
      if (!outcome.ok) throw new Error(`KV delete of a key failed after ${outcome.attempts} attempts: ${outcome.message}`);
    },
  };
}
