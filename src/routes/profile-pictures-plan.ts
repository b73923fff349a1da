/**
 * `POST /api/1/interactive_prompts/profile_pictures` (`interactive_prompts/routes/profile_pictures.py`),
 * the pure parts: the body as FastAPI and pydantic read it, the stored value as the route reads
 * it, and the answer as pydantic serializes it (docs/routes.md, "Interactive prompt profile
 * pictures").
 */
import { isPydanticString, plainIntMember, readJsonObject } from "./json-body";
import { isJsonContentType } from "./request-body";

/** The body is `{uid, jwt, prompt_time, limit}`: well under this, whatever the JWT. */
export const MAX_PROFILE_PICTURES_BODY_BYTES = 4096;

/** `limit: int = Field(ge=1, le=10)` (`profile_pictures.py:58-60`). */
const LIMIT_MIN = 1;
const LIMIT_MAX = 10;
/** `prompt_time = int(args.prompt_time / 2) * 2` (`profile_pictures.py:130`): 2-second bins. */
const BIN_SECONDS = 2;
/**
 * Past 2^53 halves, a double's integer part prints differently (JavaScript `1e+21` or rounded
 * digits, Python every digit of the int), so the key would not be the backend's.
 */
const MAX_EXACT_HALF = 2 ** 53;

/** A JSON number literal that is not negative (`ge=0`): no sign, any fraction or exponent. */
const NON_NEGATIVE_NUMBER = /^(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

export type ProfilePicturesPlan =
  /** `promptTime`: the key's `{prompt_time}`, as the backend prints the int. */
  | { kind: "serve"; uid: string; jwt: string; promptTime: string; limit: number }
  | { kind: "passthrough"; reason: string };

const pass = (reason: string): ProfilePicturesPlan => ({ kind: "passthrough", reason });

/**
 * Pure: the request model `ReadInteractivePromptProfilePicturesRequest` (`uid: str, jwt: str,
 * prompt_time: float ≥ 0, limit: int 1…10`, extra fields ignored). Only bodies whose reading is
 * certain are served: strings as JSON strings, `prompt_time` a plain non-negative JSON number,
 * `limit` a plain integer literal; anything else (a FastAPI 422, or a spelling pydantic may read
 * another way) passes through.
 */
export function planProfilePictures(text: string, contentType: string | null): ProfilePicturesPlan {
  if (!isJsonContentType(contentType)) return pass("body is not JSON (FastAPI 422)");
  const body = readJsonObject(text);
  if (!body.ok) return pass(body.reason);
  const { members } = body;
  const uid = members.get("uid")?.value;
  const jwt = members.get("jwt")?.value;
  if (!isPydanticString(uid)) return pass("uid is not a JSON string");
  if (!isPydanticString(jwt)) return pass("jwt is not a JSON string");
  const time = members.get("prompt_time");
  if (time === undefined || !NON_NEGATIVE_NUMBER.test(time.raw)) return pass("prompt_time is not a plain non-negative JSON number");
  const seconds = time.value as number;
  const half = Math.trunc(seconds / BIN_SECONDS);
  if (!Number.isFinite(seconds) || half > MAX_EXACT_HALF) return pass("prompt_time's halving is past 2^53");
  const limit = plainIntMember(members.get("limit"), LIMIT_MIN, LIMIT_MAX);
  if (limit === undefined) return pass("limit is not an integer literal in 1–10");
  return { kind: "serve", uid, jwt, promptTime: String(half * BIN_SECONDS), limit };
}

export type StoredPicturesRead = { ok: true; imageUids: readonly string[] } | { ok: false; reason: string };

const decoder = new TextDecoder();

/** Image uids are spliced into the body and signed into image JWTs, whose claims PyJWT writes with
 * `ensure_ascii`: only url-safe uids (every `oseh_if_…`) are certain to come out the same. */
const URL_SAFE = /^[A-Za-z0-9_-]+$/;

/**
 * Pure: the stored `StandardUserProfilePictures` (`{interactive_prompt_uid, prompt_time,
 * fetched_at, profile_pictures: [{user_sub, image_file_uid}]}`), read as the route's
 * `model_validate_json` reads it; a value it would refuse (its 500) passes through.
 */
export function readStoredPictures(bytes: Uint8Array): StoredPicturesRead {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch {
    return { ok: false, reason: "stored profile pictures are not JSON" };
  }
  if (typeof parsed !== "object" || parsed === null) return { ok: false, reason: "stored profile pictures are not an object" };
  const value = parsed as Record<string, unknown>;
  if (!isPydanticString(value.interactive_prompt_uid) || !Number.isSafeInteger(value.prompt_time) || typeof value.fetched_at !== "number") {
    return { ok: false, reason: "stored profile pictures lack interactive_prompt_uid, prompt_time or fetched_at" };
  }
  if (!Array.isArray(value.profile_pictures)) return { ok: false, reason: "stored profile_pictures is not a list" };
  const imageUids: string[] = [];
  for (const ref of value.profile_pictures as unknown[]) {
    const picture = typeof ref === "object" && ref !== null ? (ref as Record<string, unknown>) : {};
    if (!isPydanticString(picture.user_sub) || typeof picture.image_file_uid !== "string") return { ok: false, reason: "a stored picture lacks user_sub or image_file_uid" };
    if (!URL_SAFE.test(picture.image_file_uid)) return { ok: false, reason: "a stored image_file_uid is not url-safe" };
    imageUids.push(picture.image_file_uid);
  }
  return { ok: true, imageUids };
}

/**
 * Pure: the pictures to answer — `get_customizations` is a stub (nothing forced, nothing
 * suppressed, `profile_pictures.py:228-250`), so the first `limit` stored ones, in stored order.
 */
export function pickPictures(imageUids: readonly string[], limit: number): readonly string[] {
  return imageUids.slice(0, limit);
}

export interface PictureRef {
  uid: string;
  jwt: string;
}

/**
 * Pure: `ReadInteractivePromptProfilePicturesResponse(items=[{picture: ImageFileRef(uid, jwt)}])
 * .model_dump_json()` — pydantic's compact JSON, fields in model order. Its strings are
 * `JSON.stringify`'s for well-formed text (docs/block-format.md §1.2, pydantic-core row); these
 * are url-safe uids and JWTs.
 */
export function encodeProfilePictures(pictures: readonly PictureRef[]): string {
  const items = pictures.map((p) => `{"picture":{"uid":${JSON.stringify(p.uid)},"jwt":${JSON.stringify(p.jwt)}}}`);
  return `{"items":[${items.join(",")}]}`;
}
