/** Building blocks shared by the decoders: key checks against the registry, refusals, actions. */
import { parseKey } from "../../src/keys";
import type { FamilyEntry } from "../../src/keys/types";
import type { Decoded, EdgeAction, RefusalReason } from "../actions";
import { isRecord, json, type ByteReader } from "./reader";

export type Checked<T> = { ok: true; value: T } | { ok: false; decoded: Decoded };

export function refuse(reason: RefusalReason, message: string): Decoded {
  return { ok: false, reason, message };
}

export function refused<T>(reason: RefusalReason, message: string): Checked<T> {
  return { ok: false, decoded: refuse(reason, message) };
}

export function actions(...list: EdgeAction[]): Decoded {
  return { ok: true, actions: list };
}

/** A message with nothing to do at the edge; the reason goes to the log. */
export function skip(reason: string): Decoded {
  return { ok: true, actions: [], skipped: reason };
}

/** The key as the backend builds it must be one the edge's registry accepts (the one parser). */
export function checkKey(key: string, expectedFamily: string): Checked<{ key: string; family: FamilyEntry }> {
  const parsed = parseKey(key);
  if (!parsed.ok) return refused("bad_key", parsed.failure.message);
  if (parsed.value.family.name !== expectedFamily) {
    return refused("bad_key", `key belongs to ${parsed.value.family.name}, not ${expectedFamily}`);
  }
  return { ok: true, value: { key: parsed.value.key, family: parsed.value.family } };
}

/**
 * A fill: the key must parse and the value must pass the family's codec (the edge's 422 check); a
 * negative answer of a family whose keys anonymous requests name is skipped.
 */
export function fill(
  key: string,
  expectedFamily: string,
  value: Uint8Array,
  sourceTime: number,
  expiresAt?: number,
): Decoded {
  const checked = checkKey(key, expectedFamily);
  if (!checked.ok) return checked.decoded;
  const validation = checked.value.family.codec.validate(value);
  if (!validation.ok) return refuse("bad_value", `${checked.value.family.codec.name}: ${validation.reason}`);
  // A negative answer about a key anyone can make up (a `not_found` email lookup) is never written
  // edge-wide: the edge keeps such answers in the colo that asked (docs/relay.md, docs/security.md §5).
  if (checked.value.family.anonymousKeys?.isNegative(value) === true) return skip(`a negative answer of ${checked.value.family.name} stays colo-local at the edge`);
  return actions({
    kind: "put",
    key: checked.value.key,
    family: checked.value.family.name,
    value,
    sourceTime,
    ...(expiresAt !== undefined ? { expiresAt } : {}),
  });
}

export function evict(key: string, expectedFamily: string, sourceTime: number): Decoded {
  const checked = checkKey(key, expectedFamily);
  if (!checked.ok) return checked.decoded;
  return actions({ kind: "delete", key: checked.value.key, family: checked.value.family.name, sourceTime });
}

/** A finite, non-negative unix time from a JSON header, or `undefined`. */
export function unixTime(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** The u64-BE length prefix the edge's `u64-*` codecs expect in front of a blob. */
export function withU64Length(blob: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + blob.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(blob.byteLength));
  out.set(blob, 8);
  return out;
}

/** UTF-8 JSON text that must be an object (headers, JSON messages). */
export function jsonObject(bytes: Uint8Array): Checked<Record<string, unknown>> {
  const parsed = json(bytes);
  if (!isRecord(parsed)) return refused("bad_encoding", "not a UTF-8 JSON object");
  return { ok: true, value: parsed };
}

/** The push-cache header: a u32-prefixed JSON object. */
export function readJsonHeader(reader: ByteReader): Checked<Record<string, unknown>> {
  const bytes = reader.prefixed("u32");
  if (bytes === undefined) return refused("truncated", "header length prefix runs past the message");
  return jsonObject(bytes);
}
