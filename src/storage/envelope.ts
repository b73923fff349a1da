/**
 * Pure helpers around the envelope (docs/design.md §3): building it, checking it, and deciding freshness
 * from it with an injected `now`. Nothing here does I/O except hashing.
 */
import { MAX_KEY_BYTES, MAX_METADATA_BYTES, MAX_VALUE_BYTES, RESERVED_KEY_PREFIX } from "./limits";
import type { Envelope, StorageFailure, StoredValue } from "./tier";

export type Freshness = "fresh" | "stale" | "expired";

/**
 * `fresh` until `expiresAt` (exclusive), then `stale` for `staleIfErrorSeconds` (the window in
 * which a last good value may still be served when the origin fails), then `expired`.
 */
export function classifyFreshness(envelope: Pick<Envelope, "expiresAt">, now: number, staleIfErrorSeconds: number): Freshness {
  if (now < envelope.expiresAt) return "fresh";
  if (now < envelope.expiresAt + staleIfErrorSeconds) return "stale";
  return "expired";
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  let out = "";
  for (const b of digest) out += HEX[b];
  return out;
}

/** Builds the value plus its envelope (size and sha256 computed here, so they cannot disagree). */
export async function buildStoredValue(
  bytes: Uint8Array,
  fields: { family: string; codec: string; expiresAt: number },
  now: number,
): Promise<StoredValue> {
  return {
    bytes,
    envelope: {
      family: fields.family,
      storedAt: now,
      expiresAt: fields.expiresAt,
      codec: fields.codec,
      size: bytes.byteLength,
      sha256: await sha256Hex(bytes),
    },
  };
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function isUnixSeconds(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/** Shape check for metadata read back from a tier; anything else is treated as a miss. */
export function isEnvelope(x: unknown): x is Envelope {
  if (typeof x !== "object" || x === null) return false;
  const e = x as Record<string, unknown>;
  return (
    typeof e.family === "string" &&
    e.family !== "" &&
    typeof e.codec === "string" &&
    isUnixSeconds(e.storedAt) &&
    isUnixSeconds(e.expiresAt) &&
    isUnixSeconds(e.size) &&
    typeof e.sha256 === "string" &&
    SHA256_HEX.test(e.sha256)
  );
}

/** Why this value must not be stored, or null. Size must match the bytes so reads can verify it. */
export function envelopeProblem(value: StoredValue): string | null {
  if (!isEnvelope(value.envelope)) return "envelope is malformed";
  // KV metadata travels in an HTTP header inside workerd, and L1 keeps these as headers too.
  if (!PRINTABLE_ASCII.test(value.envelope.family) || !PRINTABLE_ASCII.test(value.envelope.codec)) {
    return "envelope family and codec must be printable ASCII";
  }
  if (value.envelope.size !== value.bytes.byteLength) {
    return `envelope size ${value.envelope.size} does not match the ${value.bytes.byteLength} value bytes`;
  }
  return null;
}

/** The envelope fields only, in a fixed order, so metadata bytes are stable and measurable. */
export function pickEnvelope(e: Envelope): Envelope {
  return {
    family: e.family,
    storedAt: e.storedAt,
    expiresAt: e.expiresAt,
    codec: e.codec,
    size: e.size,
    sha256: e.sha256,
  };
}

const encoder = new TextEncoder();

export function utf8Length(text: string): number {
  return encoder.encode(text).byteLength;
}

/** Why KV would refuse this key, or null (KV: ≤ 512 UTF-8 bytes, not empty, not `.` or `..`). */
export function keyProblem(key: string): string | null {
  if (key === "" || key === "." || key === "..") return `key ${JSON.stringify(key)} is not allowed by KV`;
  const length = utf8Length(key);
  if (length > MAX_KEY_BYTES) return `key is ${length} bytes, over the ${MAX_KEY_BYTES}-byte KV limit`;
  return null;
}

export function isReservedKey(key: string): boolean {
  return key.startsWith(RESERVED_KEY_PREFIX);
}

/**
 * Checks a value against KV's limits before anything is written; both tiers apply it so they
 * hold the same values. Returns the metadata to store, or the refusal.
 */
export function checkStorable(
  key: string,
  value: StoredValue,
): { ok: true; metadata: Envelope } | { ok: false; failure: StorageFailure } {
  const badKey = keyProblem(key);
  if (badKey !== null) return { ok: false, failure: { reason: "invalid_key", message: badKey } };
  const size = value.bytes.byteLength;
  if (size > MAX_VALUE_BYTES) {
    return {
      ok: false,
      failure: {
        reason: "too_large",
        message: `value is ${size} bytes, over the ${MAX_VALUE_BYTES}-byte limit`,
        size,
        limit: MAX_VALUE_BYTES,
      },
    };
  }
  const badEnvelope = envelopeProblem(value);
  if (badEnvelope !== null) return { ok: false, failure: { reason: "invalid_envelope", message: badEnvelope } };
  const metadata = pickEnvelope(value.envelope);
  const metadataSize = utf8Length(JSON.stringify(metadata));
  if (metadataSize > MAX_METADATA_BYTES) {
    return {
      ok: false,
      failure: {
        reason: "metadata_too_large",
        message: `envelope is ${metadataSize} bytes of JSON, over KV's ${MAX_METADATA_BYTES}-byte metadata limit`,
        size: metadataSize,
        limit: MAX_METADATA_BYTES,
      },
    };
  }
  return { ok: true, metadata };
}
