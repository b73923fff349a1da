/**
 * One interface for every storage tier (DESIGN §3). A miss is `undefined`, never an error.
 * All times are unix seconds; `now` is always passed in, never read from the platform.
 */

export interface Envelope {
  /** Registry pattern of the family, e.g. `journeys:external:{uid}`. */
  family: string;
  storedAt: number;
  /** Unix seconds after which the value is stale. */
  expiresAt: number;
  codec: string;
  size: number;
  /** Lowercase hex sha256 of the value bytes. */
  sha256: string;
}

export interface StoredValue {
  bytes: Uint8Array;
  envelope: Envelope;
}

/**
 * Expected write failures, as values (STYLE §5). `message` is safe to show an admin caller; it
 * never contains value bytes.
 */
export type StorageFailure =
  | { reason: "too_large"; message: string; size: number; limit: number }
  | { reason: "metadata_too_large"; message: string; size: number; limit: number }
  | { reason: "invalid_key"; message: string }
  | { reason: "invalid_envelope"; message: string }
  | { reason: "rate_limited"; message: string; attempts: number }
  | { reason: "backend_error"; message: string };

/**
 * A tier's put either stored the value, or refused it before writing anything. Extends the
 * original `Promise<void>` compatibly for callers (they may ignore the result); a refusal is a
 * value so the admin API can map it to 413/503 in one switch.
 */
export type PutResult = { ok: true } | { ok: false; failure: StorageFailure };

export interface Tier {
  readonly name: "l1" | "l2";
  /** Returns the value even when expired; freshness is the caller's decision (from the envelope). */
  get(key: string): Promise<StoredValue | undefined>;
  put(key: string, value: StoredValue, now: number): Promise<PutResult>;
  delete(key: string): Promise<void>;
}
