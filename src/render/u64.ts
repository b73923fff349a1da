/**
 * `u64-json` (transcripts, docs/block-format.md §5) and `u64-gzip-json` (top sharers, §6):
 * an 8-byte big-endian length, then exactly that many bytes of JSON or gzip. The route serves
 * the payload with Content-Length taken from the prefix, so a prefix that disagrees with the
 * actual length must be refused, not served.
 */
import { readAll } from "../util/bytes";

export const U64_PREFIX_BYTES = 8;

export type U64Failure = { reason: "truncated" | "length_mismatch" | "not_gzip"; message: string };

export type U64Decoded = { ok: true; blob: Uint8Array; length: number } | { ok: false; failure: U64Failure };

function readLength(bytes: Uint8Array): { ok: true; length: number } | { ok: false; failure: U64Failure } {
  if (bytes.length < U64_PREFIX_BYTES) {
    return { ok: false, failure: { reason: "truncated", message: `value has ${bytes.length} bytes, the u64 prefix needs 8` } };
  }
  const declared = new DataView(bytes.buffer, bytes.byteOffset, U64_PREFIX_BYTES).getBigUint64(0);
  const actual = bytes.length - U64_PREFIX_BYTES;
  if (declared !== BigInt(actual)) {
    return { ok: false, failure: { reason: "length_mismatch", message: `u64 prefix says ${declared} bytes, ${actual} follow` } };
  }
  return { ok: true, length: actual };
}

/** Splits a `u64-json` value into its JSON blob (a view, not a copy). */
export function decodeU64Json(bytes: Uint8Array): U64Decoded {
  const read = readLength(bytes);
  if (!read.ok) return read;
  return { ok: true, blob: bytes.subarray(U64_PREFIX_BYTES), length: read.length };
}

const GZIP_MAGIC = [0x1f, 0x8b] as const;

/** Splits a `u64-gzip-json` value into its gzip member (served as-is with Content-Encoding: gzip). */
export function decodeU64Gzip(bytes: Uint8Array): U64Decoded {
  const decoded = decodeU64Json(bytes);
  if (!decoded.ok) return decoded;
  if (decoded.blob[0] !== GZIP_MAGIC[0] || decoded.blob[1] !== GZIP_MAGIC[1]) {
    return { ok: false, failure: { reason: "not_gzip", message: "payload does not start with the gzip magic bytes" } };
  }
  return decoded;
}

/** Inflates a gzip member (a presigned image playlist; the hit path serves gzip bytes as-is). */
export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  return readAll(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")));
}
