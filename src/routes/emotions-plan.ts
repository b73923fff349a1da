/**
 * `POST /api/1/emotions/personalized` (`emotions/routes/retrieve_daily_emotions.py`), the pure
 * parts: the body as FastAPI and pydantic read it, the stored statistics as the route reads them,
 * the draw (`:86-121`), and the answer as pydantic serializes it (docs/routes.md, "Personalized
 * emotions"). Every draw comes from the injected RandomSource.
 */
import type { RandomSource } from "../util/random";
import { isPydanticString, plainIntMember, readJsonObject, type JsonMember } from "./json-body";
import { isJsonContentType } from "./request-body";

/** At most 5 lists of 16 words, plus the rest of the body: words are short. */
export const MAX_EMOTIONS_BODY_BYTES = 8192;

/** `num_emotions: int = Field(ge=1, le=16)`. */
const NUM_EMOTIONS_MIN = 1;
const NUM_EMOTIONS_MAX = 16;
/** `validate_recently_seen`: at most 5 lists, each of 1–16 words. */
const RECENTLY_SEEN_MAX_LISTS = 5;
const RECENTLY_SEEN_LIST_MIN = 1;
const RECENTLY_SEEN_LIST_MAX = 16;
/** `LocalTime`: `hour_24` 0–23, `minute` 0–59. */
const HOUR_MAX = 23;
const MINUTE_MAX = 59;
/** The words the exclusion never removes (`retrieve_daily_emotions.py:98`). */
const NEVER_EXCLUDED: ReadonlySet<string> = new Set(["calm", "relaxed", "sleepy"]);

export interface EmotionsRequest {
  readonly recentlySeen: readonly (readonly string[])[];
  readonly numEmotions: number;
}

export type EmotionsPlan = ({ kind: "serve" } & EmotionsRequest) | { kind: "passthrough"; reason: string };

const pass = (reason: string): EmotionsPlan => ({ kind: "passthrough", reason });

/** `recently_seen: List[List[str]]` (default `[]`) and its validator; undefined = the origin decides. */
function readRecentlySeen(member: JsonMember | undefined): string[][] | undefined {
  if (member === undefined) return [];
  const lists = member.value;
  if (!Array.isArray(lists) || lists.length > RECENTLY_SEEN_MAX_LISTS) return undefined;
  const out: string[][] = [];
  for (const list of lists as unknown[]) {
    if (!Array.isArray(list) || list.length < RECENTLY_SEEN_LIST_MIN || list.length > RECENTLY_SEEN_LIST_MAX) return undefined;
    if (!(list as unknown[]).every(isPydanticString)) return undefined;
    out.push(list as string[]);
  }
  return out;
}

/**
 * `local_time: Optional[LocalTime] = None`: only validated — the branch that reads it can never
 * run (`hour_24 >= 18 and hour_24 <= 4`, `retrieve_daily_emotions.py:123-133`). True when absent,
 * null, or an object whose two fields are plain integer literals in range.
 */
function isValidLocalTime(member: JsonMember | undefined): boolean {
  if (member === undefined || member.raw === "null") return true;
  const fields = readJsonObject(member.raw);
  if (!fields.ok) return false;
  return plainIntMember(fields.members.get("hour_24"), 0, HOUR_MAX) !== undefined && plainIntMember(fields.members.get("minute"), 0, MINUTE_MAX) !== undefined;
}

/**
 * Pure: `RetrieveDailyEmotionsRequest` as FastAPI and pydantic read it; only bodies whose reading
 * is certain are served (strings as JSON strings, ints as plain integer literals), the rest —
 * FastAPI's 422 included — pass through.
 */
export function planPersonalizedEmotions(text: string, contentType: string | null): EmotionsPlan {
  if (!isJsonContentType(contentType)) return pass("body is not JSON (FastAPI 422)");
  const body = readJsonObject(text);
  if (!body.ok) return pass(body.reason);
  const recentlySeen = readRecentlySeen(body.members.get("recently_seen"));
  if (recentlySeen === undefined) return pass("recently_seen is not at most 5 lists of 1–16 JSON strings");
  const numEmotions = plainIntMember(body.members.get("num_emotions"), NUM_EMOTIONS_MIN, NUM_EMOTIONS_MAX);
  if (numEmotions === undefined) return pass("num_emotions is not an integer literal in 1–16");
  if (!isValidLocalTime(body.members.get("local_time"))) return pass("local_time is not null or {hour_24, minute} integer literals in range");
  return { kind: "serve", recentlySeen, numEmotions };
}

export interface Emotion {
  readonly word: string;
  readonly antonym: string;
}

export interface EmotionStat {
  readonly emotion: Emotion;
  readonly numJourneys: number;
}

export type StoredStatsRead = { ok: true; stats: readonly EmotionStat[] } | { ok: false; reason: string };

const decoder = new TextDecoder();

/**
 * Pure: the stored `CachedEmotionContentStatistics` (`{"stats":[{"emotion":{"word","antonym"},
 * "num_journeys"}]}`, `emotions/lib/emotion_content.py:21-31`) as `model_validate_json` reads
 * it; a value it would refuse (its 500), or counts too large to weigh exactly, pass through.
 */
export function readStoredStats(bytes: Uint8Array): StoredStatsRead {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch {
    return { ok: false, reason: "stored emotion statistics are not JSON" };
  }
  const list = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>).stats : undefined;
  if (!Array.isArray(list)) return { ok: false, reason: "stored emotion statistics have no stats list" };
  const stats: EmotionStat[] = [];
  for (const item of list as unknown[]) {
    const stat = typeof item === "object" && item !== null ? (item as Record<string, unknown>) : {};
    const emotion = typeof stat.emotion === "object" && stat.emotion !== null ? (stat.emotion as Record<string, unknown>) : {};
    const { word, antonym } = emotion;
    if (!isPydanticString(word) || !isPydanticString(antonym)) return { ok: false, reason: "a stored emotion lacks its word or antonym" };
    if (!Number.isSafeInteger(stat.num_journeys)) return { ok: false, reason: "a stored num_journeys is not a safe integer" };
    stats.push({ emotion: { word, antonym }, numJourneys: stat.num_journeys as number });
  }
  return { ok: true, stats };
}

/** Python's `random.shuffle` (Fisher–Yates from the end), in place, with exact uniform draws. */
export function shuffleInPlace<T>(items: T[], random: RandomSource): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.below(i + 1);
    const held = items[i] as T;
    items[i] = items[j] as T;
    items[j] = held;
  }
}

/**
 * numpy's `choice(options, size, replace=False, p=w/sum(w))`: its legacy algorithm draws
 * uniforms and keeps each first appearance, which is successive sampling — each pick weighted
 * among those not yet picked — so the order of the picks is part of the distribution. Here with
 * integer weights and exact draws. `weights` are positive and sum to a safe integer.
 */
export function weightedSampleWithoutReplacement<T>(options: readonly T[], weights: readonly number[], size: number, random: RandomSource): T[] {
  const remaining = options.map((option, i) => ({ option, weight: weights[i] as number }));
  let total = remaining.reduce((sum, entry) => sum + entry.weight, 0);
  const picked: T[] = [];
  while (picked.length < size && remaining.length > 0) {
    let draw = random.below(total);
    let index = 0;
    while (draw >= (remaining[index] as { weight: number }).weight) {
      draw -= (remaining[index] as { weight: number }).weight;
      index++;
    }
    const [entry] = remaining.splice(index, 1) as [{ option: T; weight: number }];
    picked.push(entry.option);
    total -= entry.weight;
  }
  return picked;
}

export type EmotionsSelection = { ok: true; items: readonly Emotion[] } | { ok: false; reason: string };

/**
 * Pure given `random`: `retrieve_daily_emotions.py:86-121`. The words with journeys (a dict by
 * word: a repeated word keeps its first place and its last stat); the exclusion walks
 * `recently_seen` from the last list back, each list shuffled, never removing calm/relaxed/
 * sleepy, stopping as soon as at most `num_emotions` remain; then a uniform shuffle of what
 * remains when that is few enough, else the weighted draw. `local_time` changes nothing.
 */
export function selectEmotions(stats: readonly EmotionStat[], request: EmotionsRequest, random: RandomSource): EmotionsSelection {
  const lookup = new Map<string, EmotionStat>();
  for (const stat of stats) if (stat.numJourneys > 0) lookup.set(stat.emotion.word, stat);
  const { numEmotions, recentlySeen } = request;

  let exclusionEndsAt = recentlySeen.length;
  while (exclusionEndsAt > 0 && lookup.size > numEmotions) {
    exclusionEndsAt -= 1;
    const toExclude = [...(recentlySeen[exclusionEndsAt] as readonly string[])];
    shuffleInPlace(toExclude, random);
    for (const word of toExclude) {
      if (NEVER_EXCLUDED.has(word)) continue;
      lookup.delete(word);
      if (lookup.size <= numEmotions) break;
    }
  }

  if (lookup.size <= numEmotions) {
    const items = [...lookup.values()].map((stat) => stat.emotion);
    shuffleInPlace(items, random);
    return { ok: true, items };
  }
  const kept = [...lookup.values()];
  const total = kept.reduce((sum, stat) => sum + stat.numJourneys, 0);
  if (!Number.isSafeInteger(total)) return { ok: false, reason: "num_journeys sum past 2^53: not weighed exactly" };
  const items = weightedSampleWithoutReplacement(
    kept.map((stat) => stat.emotion),
    kept.map((stat) => stat.numJourneys),
    numEmotions,
    random,
  );
  return { ok: true, items };
}

/**
 * Pure: `RetrieveDailyEmotionsResponse(items=…).model_dump_json()` — `{"items":[{"word","antonym"}]}`
 * in pydantic's compact JSON, whose strings are `JSON.stringify`'s for well-formed text
 * (docs/block-format.md §1.2, pydantic-core row).
 */
export function encodeEmotions(items: readonly Emotion[]): string {
  return `{"items":[${items.map((e) => `{"word":${JSON.stringify(e.word)},"antonym":${JSON.stringify(e.antonym)}}`).join(",")}]}`;
}
