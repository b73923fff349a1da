/**
 * The push-cache framings that carry a whole stored value (or its eviction) for one key:
 * journey templates, interactive prompt templates and profile pictures. docs/relay.md has the
 * byte layouts and the backend's habits the decoders follow.
 */
import type { Decoded } from "../actions";
import { evict, fill, readJsonHeader, refuse, unixTime } from "./common";
import { ByteReader, ascii } from "./reader";

const JOURNEYS = "journeys:external:{uid}";
const PROMPTS = "interactive_prompts:external:{uid}";
const PROFILE_PICTURES = "interactive_prompts:profile_pictures:{uid}:{prompt_time}";

/**
 * `ps:journeys:external:push_cache`: u32 H · H bytes of JSON `{uid, min_checked_at, have_updated}`
 * · (when have_updated) the block template to the end. The jobs server writes the header with
 * `json.dumps` (spaces), so it is parsed, never byte-matched. min_checked_at is the source time;
 * the backend's receiver never compares it, and its 48 h lifetime runs from the write.
 */
export function decodeJourneyPushCache(message: Uint8Array, _receivedAt: number): Decoded {
  const reader = new ByteReader(message);
  const header = readJsonHeader(reader);
  if (!header.ok) return header.decoded;
  const { uid, min_checked_at: minCheckedAt, have_updated: haveUpdated } = header.value;
  const time = unixTime(minCheckedAt);
  if (typeof uid !== "string" || time === undefined || typeof haveUpdated !== "boolean") {
    return refuse("bad_field", "header needs uid (string), min_checked_at (unix seconds), have_updated (bool)");
  }
  const key = `journeys:external:${uid}`;
  if (!haveUpdated) return evict(key, JOURNEYS, time);
  return fill(key, JOURNEYS, reader.rest(), time);
}

/**
 * `ps:interactive_prompts:push_cache`: u8 kind (0 evicts; the backend treats any other byte as a
 * fill) · u32 U · U ASCII bytes of uid · (fill) the block template to the end. No time inside.
 */
export function decodePromptPushCache(message: Uint8Array, receivedAt: number): Decoded {
  const reader = new ByteReader(message);
  const kind = reader.u8();
  const uidBytes = reader.prefixed("u32");
  if (kind === undefined || uidBytes === undefined) return refuse("truncated", "uid length prefix runs past the message");
  const uid = ascii(uidBytes);
  if (uid === undefined) return refuse("bad_encoding", "uid is not ASCII");
  const key = `interactive_prompts:external:${uid}`;
  if (kind === 0) return evict(key, PROMPTS, receivedAt);
  return fill(key, PROMPTS, reader.rest(), receivedAt);
}

/**
 * `ps:interactive_prompts:profile_pictures:push_cache`: u32 L · L bytes of JSON
 * `{uid, prompt_time, min_checked_at, have_updated}` · (when have_updated) the JSON list to the
 * end. min_checked_at (when the list was fetched) is the source time; the lifetime (120 s) runs
 * from the write, as in the backend's receiver, so it is the edge's own rule.
 */
export function decodeProfilePicturesPushCache(message: Uint8Array, _receivedAt: number): Decoded {
  const reader = new ByteReader(message);
  const header = readJsonHeader(reader);
  if (!header.ok) return header.decoded;
  const { uid, prompt_time: promptTime, min_checked_at: minCheckedAt, have_updated: haveUpdated } = header.value;
  const time = unixTime(minCheckedAt);
  if (
    typeof uid !== "string" ||
    typeof promptTime !== "number" ||
    !Number.isSafeInteger(promptTime) ||
    time === undefined ||
    typeof haveUpdated !== "boolean"
  ) {
    return refuse("bad_field", "header needs uid, prompt_time (int), min_checked_at (unix seconds), have_updated (bool)");
  }
  const key = `interactive_prompts:profile_pictures:${uid}:${promptTime}`;
  if (!haveUpdated) return evict(key, PROFILE_PICTURES, time);
  return fill(key, PROFILE_PICTURES, reader.rest(), time);
}
