/**
 * Fill-only framings that push a computed blob for one key: transcripts, top sharers, the journey
 * subcategory view stats and the daily stats (F-DATE). docs/relay.md has the byte layouts.
 */
import { laMidnightStartOf } from "../../src/keys";
import { MAX_UNIX_DATE } from "../../src/keys/la-time";
import type { Decoded, Decoder } from "../actions";
import { fill, refuse, withU64Length } from "./common";
import { ByteReader, utf8 } from "./reader";

const TRANSCRIPTS = "transcripts:{uid}";
const TOP_SHARERS = "journey_share_links:top_sharers:{start}:{end}";
const SUBCATEGORY_VIEW_STATS = "journey_subcategory_view_stats:{unix_date}";
/** The top sharers' start date on the wire when the range is open (Python's None in the key). */
const NO_START_DATE = 0xffff_ffff;

/** u32 start date · u32 end date · u64-prefixed blob (top sharers and F-DATE). */
function readDateRange(message: Uint8Array): { start: number; end: number; blob: Uint8Array } | undefined {
  const reader = new ByteReader(message);
  const start = reader.u32();
  const end = reader.u32();
  const blob = reader.prefixed("u64");
  return start === undefined || end === undefined || blob === undefined ? undefined : { start, end, blob };
}

/**
 * `ps:transcripts`: u32 n · n bytes of UTF-8 uid · u64 k · k bytes of JSON (trailing bytes are
 * ignored, as by the backend). The stored value is the u64 length then the JSON.
 */
export function decodeTranscript(message: Uint8Array, receivedAt: number): Decoded {
  const reader = new ByteReader(message);
  const uidBytes = reader.prefixed("u32");
  const blob = uidBytes === undefined ? undefined : reader.prefixed("u64");
  if (uidBytes === undefined || blob === undefined) return refuse("truncated", "a length prefix runs past the message");
  const uid = utf8(uidBytes);
  if (uid === undefined) return refuse("bad_encoding", "uid is not UTF-8");
  return fill(`transcripts:${uid}`, TRANSCRIPTS, withU64Length(blob), receivedAt);
}

/**
 * `ps:journey_share_links:top_sharers`: u32 start (0xFFFFFFFF = None) · u32 end · u64 k · k bytes
 * of gzip JSON. The stored value is the u64 length then the gzip bytes.
 */
export function decodeTopSharers(message: Uint8Array, receivedAt: number): Decoded {
  const range = readDateRange(message);
  if (range === undefined) return refuse("truncated", "a length prefix runs past the message");
  const { start, end, blob } = range;
  const startText = start === NO_START_DATE ? "None" : String(start);
  return fill(`journey_share_links:top_sharers:${startText}:${end}`, TOP_SHARERS, withU64Length(blob), receivedAt);
}

/**
 * `ps:journey_subcategory_view_stats`: u32 unix date · the JSON to the end. The backend keeps it
 * until the LA midnight that ends that date, so that is the expiry the relay sends; a past date's
 * value is already expired there (stored with a negative lifetime) and is skipped here.
 */
export function decodeSubcategoryViewStats(message: Uint8Array, receivedAt: number): Decoded {
  const reader = new ByteReader(message);
  const unixDate = reader.u32();
  if (unixDate === undefined) return refuse("truncated", "no u32 unix date");
  if (unixDate > MAX_UNIX_DATE) return refuse("bad_field", `unix date ${unixDate} is past 9999-12-31`);
  const expiresAt = laMidnightStartOf(unixDate + 1);
  if (expiresAt <= receivedAt) {
    return { ok: true, actions: [], skipped: `unix date ${unixDate} has ended in Los Angeles` };
  }
  return fill(`journey_subcategory_view_stats:${unixDate}`, SUBCATEGORY_VIEW_STATS, reader.rest(), receivedAt, expiresAt);
}

/**
 * F-DATE (the `ps:stats:*:daily` channels): u32 start · u32 end (exclusive) · u64 k · k bytes of
 * gzip JSON, for `{prefix}:{start}:{end}`; the edge applies the family's LA-midnight expiry.
 */
export function dailyStatsDecoder(familyName: string): Decoder {
  const prefix = familyName.slice(0, familyName.indexOf("{"));
  return (message, receivedAt) => {
    const range = readDateRange(message);
    if (range === undefined) return refuse("truncated", "a length prefix runs past the message");
    return fill(`${prefix}${range.start}:${range.end}`, familyName, range.blob, receivedAt);
  };
}
