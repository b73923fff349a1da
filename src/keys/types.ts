/**
 * The shape of a key-family registry entry (docs/design.md §2). Everything about a family lives in its
 * entry; callers get the resolved entry from `parseKey` / `getFamily`, never a name to look up again.
 */

export type Sensitivity = "public" | "resource" | "user" | "admin" | "secret";

export type CodecName =
  | "json"
  | "gzip-json"
  | "blocks"
  | "u64-json"
  | "u64-gzip-json"
  | "flag"
  | "text"
  | "float"
  | "bytes32"
  | "bytes";

export type Validation = { ok: true } | { ok: false; reason: string };

export interface Codec {
  readonly name: CodecName;
  /** Pure check of stored bytes; never throws. */
  validate(bytes: Uint8Array): Validation;
}

export type Expiry =
  | { kind: "fixed"; seconds: number }
  | { kind: "random"; minSeconds: number; maxSeconds: number }
  | { kind: "la-midnight" }
  | { kind: "absolute"; fallbackSeconds: number }
  | { kind: "none" };

/**
 * `iso-date` is a strict `YYYY-MM-DD` calendar date (home screen images); `filters` is the
 * content_files mobile playlist filter identifier `w=…,h=…,pr=…,bmin=…,bmax=…` (A #7).
 */
export type ParamKind = "uid" | "unix-date" | "int" | "enum" | "text" | "bool-py" | "iso-date" | "filters";

export interface ParamSpec {
  readonly name: string;
  readonly kind: ParamKind;
  /** uid families: the expected `oseh_<prefix>_` prefix, when the backend's is known. */
  readonly uidPrefix?: string;
  /** uid params the backend fills from more than one table (e.g. `u_rc` and `g_rc`); any of these. */
  readonly uidPrefixes?: readonly string[];
  /** enum / bool-py params: the allowed spellings, exactly. */
  readonly values?: readonly string[];
  /** unix-date params: the backend also writes Python's `None` here (top sharers start). */
  readonly allowNone?: boolean;
  /** int params: inclusive bounds and a required step (profile picture times are even). */
  readonly min?: number;
  readonly max?: number;
  readonly multipleOf?: number;
  /** text params: the whole value must match (anchored; never matches `:`), and a length cap. */
  readonly pattern?: RegExp;
  readonly maxLength?: number;
  /** text params: the empty string is a value the backend builds (B #28: an empty Accept-Language). */
  readonly allowEmpty?: boolean;
  /** Absent from the main pattern; set only when a `variants` form matched (see FamilyVariant). */
  readonly optional?: boolean;
}

/**
 * A second key form that belongs to the same family, selected by the family's optional enum
 * param `variant` (B #31: `client_flows:{slug}:full` next to `client_flows:{slug}`).
 */
export interface FamilyVariant {
  readonly pattern: string;
  /** The value `parseKey` gives the `variant` param for this form; `buildKey` reads it back. */
  readonly variant: string;
}

/**
 * A family whose keys a request with no credential names (docs/routes.md "Negatives"): any client
 * can make up any number of them, so their negative answers must cost the edge nothing shared.
 */
export interface AnonymousKeys {
  /** The values that say "nothing here" about a key a client made up (never a real resource's answer). */
  isNegative(bytes: Uint8Array): boolean;
  /** The backend file that gives those values their meaning. */
  readonly source: string;
}

export interface FamilyEntry {
  /** The pattern as the backend builds it, e.g. `journeys:external:{uid}`. Unique. */
  readonly name: string;
  readonly params: readonly ParamSpec[];
  readonly codec: Codec;
  readonly expiry: Expiry;
  readonly sensitivity: Sensitivity;
  /** The edge route that serves it (`GET /api/1/...`), or null. */
  readonly route: string | null;
  /** Redis pub/sub channel that fills/evicts it, if any. */
  readonly channel: string | null;
  /** One line: why this entry looks the way it does (survey reference, docs/families.md §Sources). */
  readonly note: string;
  /** Extra key forms of the same family; parsed into the optional `variant` param. */
  readonly variants?: readonly FamilyVariant[];
  /**
   * Keys anonymous requests name (the email image route, `?public=true` playlists). Their negative
   * answers — the origin's `absent` and the values `isNegative` picks — stay in the colo that
   * asked (L0/L1): never KV, never the shield (docs/security.md §5; src/origin/load.ts).
   */
  readonly anonymousKeys?: AnonymousKeys;
  /**
   * The backend file whose route caches this family's negative answer. Only then may the edge
   * remember the origin's `absent` for a moment (src/cache/fill-guard.ts); where the backend asks
   * its database on every miss, so does the edge (docs/routes.md "Remembered absences").
   */
  readonly absenceCachedBy?: string;
}

export interface ParsedKey {
  readonly family: FamilyEntry;
  readonly params: Readonly<Record<string, string>>;
  readonly key: string;
}

export type KeyFailure =
  | { reason: "key_too_long"; message: string }
  | { reason: "unknown_family"; message: string }
  | { reason: "malformed_key"; message: string };
