/**
 * One interface for every storage tier (docs/storage-schema.md §Tiers). A miss is `undefined`,
 * never an error. All times are unix seconds; `now` is always passed in, never read from the
 * platform.
 *
 * The family hierarchy, most general first:
 * - `Tier`: whole values (`Uint8Array`) under the family key. Every tier is one.
 * - `GenerationalTier`: a copy local to a colo (L1) or an isolate (L0) whose entries also carry the
 *   family's purge generation, so a purge elsewhere makes them unreachable within a known bound.
 * - `StreamingTier`: values whose bytes stream (and may be read by byte range), never held whole.
 * - `AddressedTier`: the bytes live under an object key the tier chooses (content-addressed, e.g.
 *   R2 media), and the family key holds a pointer to it. Writing the object publishes nothing;
 *   only `commitPointer` does, which lets whoever orders writes (the family's shield) decide
 *   whether a fill that raced a purge may publish at all.
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
 * A value whose bytes arrive as a stream. The envelope describes the whole value and is known
 * before the first byte. A stream belongs to the request that opened it: it is never shared
 * between requests (the in-isolate single flight refuses one).
 */
export interface StreamedValue {
  body: ReadableStream<Uint8Array>;
  envelope: Envelope;
  /** Present when `body` is a byte range of the value rather than all of it. */
  range?: { offset: number; length: number };
}

/** `length` absent = to the end of the value. */
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

/** l0 = isolate memory, l1 = Cache API (colo), l2 = KV (global), r2 = media object store. */
export type TierName = "l0" | "l1" | "l2" | "r2";

export interface Tier {
  readonly name: TierName;
  /**
   * Returns the value even when expired (freshness is the caller's decision, from the envelope),
   * unless the tier itself bounds an entry's life (L0 forgets entries by `now`).
   */
  get(key: string, now: number): Promise<StoredValue | undefined>;
  put(key: string, value: StoredValue, now: number): Promise<PutResult>;
  delete(key: string): Promise<void>;
}

/**
 * A local copy keyed under the family's purge generation as well as the key (L1, L0). The tiered
 * store resolves the generation once per read, so a back-fill that started before a purge lands
 * under the old, unreachable generation.
 */
export interface GenerationalTier extends Tier {
  readonly name: "l0" | "l1";
  getAt(key: string, generation: string, now: number): Promise<StoredValue | undefined>;
  putAt(key: string, value: StoredValue, now: number, generation: string): Promise<PutResult>;
  deleteAt(key: string, generation: string): Promise<void>;
}

export interface StreamingTier extends Tier {
  /** The bytes as a stream, or a range of them; `range` past the end is a miss. */
  getStream(key: string, now: number, range?: ByteRange): Promise<StreamedValue | undefined>;
  /**
   * Stores a streamed value whose envelope is complete (size and sha256 known up front, e.g. from
   * the origin). A body that does not match the envelope's size or sha256 stores nothing.
   */
  putStream(key: string, value: StreamedValue, now: number): Promise<PutResult>;
}

/** What a family key holds in an addressed tier: where its bytes are, and their envelope. */
export interface Pointer {
  objectKey: string;
  envelope: Envelope;
}

export type ObjectWriteResult = { ok: true; pointer: Pointer } | { ok: false; failure: StorageFailure };

/**
 * A tier whose object key differs from the family key. `put`/`putStream` are `putObject` followed
 * by `commitPointer`; a fill that must respect the ordering rule (docs/storage-schema.md
 * §Ordering) calls them apart: it streams the object while answering its client, then asks the
 * shield to commit the pointer, and the shield refuses when a purge, DELETE or PUT arrived after
 * the fill's lease was granted (the object, never readable by key, is then removed: see
 * docs/storage-schema.md §R2 "An object that is not published is removed").
 */
export interface AddressedTier extends StreamingTier {
  /** Writes the bytes under an object key of the tier's choosing; no family key sees them yet. */
  putObject(value: StreamedValue | StoredValue, now: number): Promise<ObjectWriteResult>;
  /** Makes `key` read the object; the only step that publishes. */
  commitPointer(key: string, pointer: Pointer, now: number): Promise<PutResult>;
  readPointer(key: string): Promise<Pointer | undefined>;
}
