/**
 * `u64-json` and `u64-gzip-json` values (docs/block-format.md §5, §6) as the backend builds them,
 * for the dev origin and the golden vectors; the edge only decodes them (src/render/u64.ts).
 */
import { readAll } from "../../../src/util/bytes";
import { U64_PREFIX_BYTES } from "../../../src/render/u64";
import { ryuFloat } from "./json";

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

