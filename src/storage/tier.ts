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

export interface Tier {
  readonly name: "l1" | "l2";
  /** Returns the value even when expired; freshness is the caller's decision (from the envelope). */
  get(key: string): Promise<StoredValue | undefined>;
  put(key: string, value: StoredValue, now: number): Promise<void>;
  delete(key: string): Promise<void>;
}
