/**
 * `u64-json` (transcripts, docs/block-format.md §5) and `u64-gzip-json` (top sharers, §6):
 * an 8-byte big-endian length, then exactly that many bytes of JSON or gzip. The route serves
 * the payload with Content-Length taken from the prefix, so a prefix that disagrees with the
 * actual length must be refused, not served.
 */
import { readAll } from "../util/bytes";
import { ryuFloat } from "./encode-json";

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

/** u64-BE length + payload. */
export function frameU64(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(U64_PREFIX_BYTES + payload.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(payload.length));
  out.set(payload, U64_PREFIX_BYTES);
  return out;
}

export interface TranscriptPhrase {
  starts_at: number;
  ends_at: number;
  phrase: string;
}

export interface Transcript {
  uid: string;
  /** In db order: starts_at, ends_at, phrase uid (§5). */
  phrases: readonly TranscriptPhrase[];
}

/**
 * pydantic `to_json(Transcript)`: compact, ryu floats (an integer 0 from the db is `0.0`), raw
 * UTF-8 strings — which is `JSON.stringify` for well-formed strings (§1.2).
 */
export function transcriptJson(transcript: Transcript): string {
  const phrases = transcript.phrases.map(
    (p) => `{"starts_at":${ryuFloat(p.starts_at)},"ends_at":${ryuFloat(p.ends_at)},"phrase":${JSON.stringify(p.phrase)}}`,
  );
  return `{"uid":${JSON.stringify(transcript.uid)},"phrases":[${phrases.join(",")}]}`;
}

/** The `transcripts:{uid}` value: u64 length + the JSON blob (§5). */
export function encodeTranscript(transcript: Transcript): Uint8Array {
  return frameU64(new TextEncoder().encode(transcriptJson(transcript)));
}

export interface TopSharer {
  sub: string;
  links_created: number;
  link_views_total: number;
  link_views_unique: number;
  link_attributable_users: number;
}

export interface TopSharersResponse {
  top_sharers: readonly TopSharer[];
  /** Request time in unix seconds (a float in the backend; printed ryu-style, `1700000000.0`). */
  checked_at: number;
}

/** pydantic `to_json(ReadTopSharersResponse)` (§6); the counts are ints. */
export function topSharersJson(response: TopSharersResponse): string {
  const rows = response.top_sharers.map(
    (s) =>
      `{"sub":${JSON.stringify(s.sub)},"links_created":${String(s.links_created)},"link_views_total":${String(s.link_views_total)}` +
      `,"link_views_unique":${String(s.link_views_unique)},"link_attributable_users":${String(s.link_attributable_users)}}`,
  );
  return `{"top_sharers":[${rows.join(",")}],"checked_at":${ryuFloat(response.checked_at)}}`;
}

/**
 * The top-sharers value: u64 length + gzip of the JSON (§6). Deflate output differs between
 * implementations, so only the decompressed JSON is comparable with the backend's.
 */
export async function encodeTopSharers(response: TopSharersResponse): Promise<Uint8Array> {
  const json = new Blob([topSharersJson(response)]).stream().pipeThrough(new CompressionStream("gzip"));
  return frameU64(await readAll(json));
}

/** Inflates a gzip member (tests and the dev origin; the hit path serves gzip bytes as-is). */
export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  return readAll(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")));
}
