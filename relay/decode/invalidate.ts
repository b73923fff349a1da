/**
 * The JSON and bare-id framings: emotion content statistics (a fill or a delete), entitlements
 * purges and interactive prompt meta evictions. docs/relay.md has the layouts.
 */
import type { Decoded } from "../actions";
import { evict, fill, jsonObject, refuse, unixTime } from "./common";
import { utf8 } from "./reader";

const EMOTION_STATS = "emotion_content_statistics";
const ENTITLEMENTS = "entitlements:{user_sub}";
const PROMPT_META = "interactive_prompts:{uid}:meta";

/**
 * F-JSON `ps:emotion_content_statistics:push_cache`: `{"replace_stats": null | [...]}`. null
 * deletes; a list is stored as the backend stores it, `{"stats": [...]}` (compact JSON, as
 * pydantic writes it and `JSON.stringify` does for these ints and strings).
 */
export function decodeEmotionStats(message: Uint8Array, receivedAt: number): Decoded {
  const doc = jsonObject(message);
  if (!doc.ok) return doc.decoded;
  const stats = doc.value.replace_stats;
  if (stats === null) return evict(EMOTION_STATS, EMOTION_STATS, receivedAt);
  if (!Array.isArray(stats)) return refuse("bad_field", "replace_stats must be null or a list");
  return fill(EMOTION_STATS, EMOTION_STATS, new TextEncoder().encode(JSON.stringify({ stats })), receivedAt);
}

/**
 * `ps:entitlements:purge`: `{"user_sub", "min_checked_at"}`. The backend drops the user's
 * entries checked before min_checked_at; the edge holds the user's entries as one value, so the
 * relay deletes it with min_checked_at as the source time (a copy the edge filled after that
 * time is newer, and the edge's ordering keeps it).
 */
export function decodeEntitlementsPurge(message: Uint8Array, _receivedAt: number): Decoded {
  const doc = jsonObject(message);
  if (!doc.ok) return doc.decoded;
  const { user_sub: sub, min_checked_at: minCheckedAt } = doc.value;
  const time = unixTime(minCheckedAt);
  if (typeof sub !== "string" || time === undefined) return refuse("bad_field", "needs user_sub and min_checked_at");
  return evict(`entitlements:${sub}`, ENTITLEMENTS, time);
}

/** `ps:interactive_prompts:meta:push_cache`: the UTF-8 uid, an eviction. */
export function decodePromptMetaEvict(message: Uint8Array, receivedAt: number): Decoded {
  const uid = utf8(message);
  if (uid === undefined) return refuse("bad_encoding", "uid is not UTF-8");
  return evict(`interactive_prompts:${uid}:meta`, PROMPT_META, receivedAt);
}

