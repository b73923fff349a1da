/**
 * What the storage tiers share (docs/storage-schema.md §Tiers): the envelope and stored value,
 * write refusals as values, and the local tiers' interface. A miss is `undefined`, never an error.
 * All times are unix seconds; `now` is always passed in, never read from the platform.
 *
 * - KV (L2, ./kv-tier.ts) holds whole values under the family key.
 * - `GenerationalTier`: a copy local to a colo (L1) or an isolate (L0) whose entries also carry the
 *   family's purge generation, so a purge elsewhere makes them unreachable within a known bound.
 * - R2 (./r2-tier.ts) keeps media bytes under an object key it chooses, and the family key holds
 *   a `Pointer` to it. Writing the object publishes nothing; only `commitPointer` does, which lets
 *   whoever orders writes (the family's shield) decide whether a fill that raced a purge may
 *   publish at all.
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
 * Bytes of an object from `offset`: `length` of them, or to the end when absent. The media routes'
 * resolved `Range` slices (src/media/range.ts) are these, with a length.
 */
export interface ByteRange {
  offset: number;
  length?: number;
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

/**
 * A local copy keyed under the family's purge generation as well as the key (L1, L0). The tiered
 * store resolves the generation once per read, so a back-fill that started before a purge lands
 * under the old, unreachable generation.
 */
export interface GenerationalTier {
  readonly name: "l0" | "l1";
  getAt(key: string, generation: string, now: number): Promise<StoredValue | undefined>;
  putAt(key: string, value: StoredValue, now: number, generation: string): Promise<PutResult>;
  deleteAt(key: string, generation: string): Promise<void>;
}

/** What a family key holds in R2: where its bytes are, and their envelope. */
export interface Pointer {
  objectKey: string;
  envelope: Envelope;
}

export type ObjectWriteResult = { ok: true; pointer: Pointer } | { ok: false; failure: StorageFailure };
