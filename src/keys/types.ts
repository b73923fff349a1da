/**
 * The shape of a key-family registry entry (DESIGN §2). Everything about a family lives in its
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

export type ParamKind = "uid" | "unix-date" | "int" | "enum" | "text" | "bool-py";

export interface ParamSpec {
  readonly name: string;
  readonly kind: ParamKind;
  /** uid families: the expected `oseh_<prefix>_` prefix, when the backend's is known. */
  readonly uidPrefix?: string;
  /** enum / bool-py params: the allowed spellings, exactly. */
  readonly values?: readonly string[];
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
  /** One line: why this entry looks the way it does (catalog reference). */
  readonly note: string;
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
