/**
 * What a pub/sub message asks of the edge. Decoders (relay/decode/) turn bytes into these; the
 * dispatcher (relay/dispatch.ts) turns them into admin API calls. Times are unix seconds.
 */

/** Store these exact bytes under a key (`PUT /_edge/v1/keys/{key}`). */
export interface PutAction {
  kind: "put";
  key: string;
  /** The registry pattern of the key's family (for counters, logs and outage purges). */
  family: string;
  value: Uint8Array;
  /** When the framing dates the value's end (`X-Edge-Expires-At`); else the family's own rule. */
  expiresAt?: number;
  /** The event's time (`X-Edge-Source-Time`): the framing's where it has one, else receipt. */
  sourceTime: number;
}

/** Remove one key (`DELETE /_edge/v1/keys/{key}`). */
export interface DeleteAction {
  kind: "delete";
  key: string;
  family: string;
  sourceTime: number;
}

/** Remove several keys of one family in one call (`POST /_edge/v1/purge {"keys":[…]}`). */
export interface PurgeKeysAction {
  kind: "purge-keys";
  keys: string[];
  family: string;
  sourceTime: number;
}

/** Remove every key of a family (`POST /_edge/v1/purge {"family":…}`, paged by cursor). */
export interface PurgeFamilyAction {
  kind: "purge-family";
  family: string;
  sourceTime: number;
}

export type EdgeAction = PutAction | DeleteAction | PurgeKeysAction | PurgeFamilyAction;

/**
 * The result of decoding one message: edge actions (possibly none, for a message that has no
 * effect at the edge, with the reason), or a refusal (the message does not parse).
 */
export type Decoded =
  | { ok: true; actions: EdgeAction[]; skipped?: string }
  | { ok: false; reason: RefusalReason; message: string };

export type RefusalReason =
  /** Shorter than its length prefixes say. */
  | "truncated"
  /** A field that must be JSON, UTF-8 or ASCII is not. */
  | "bad_encoding"
  /** Well-formed bytes with a value the backend never sends (unknown kind, missing field). */
  | "bad_field"
  /** The key the message names fails the edge's registry. */
  | "bad_key"
  /** The value fails the family's codec (the edge would refuse it with 422). */
  | "bad_value";

/** A pure decoder of one framing: never throws, whatever the bytes. */
export type Decoder = (message: Uint8Array, receivedAt: number) => Decoded;
