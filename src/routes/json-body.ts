/**
 * A JSON request body as the backend reads it — FastAPI 0.109 hands the bytes to `json.loads`
 * (Starlette's `Request.json`), then pydantic 2.6 validates the resulting dict in lax mode — for
 * the shapes the edge's POST routes need, keeping only what is certain:
 *
 * - text `JSON.parse` refuses (also `NaN`/`Infinity`, which `json.loads` accepts) is not read;
 * - a top-level key given twice is not read (`json.loads` keeps the last, silently);
 * - each member keeps its source text, so a number's spelling (`5` vs `5.0` vs `"5"`) can be
 *   judged, not just its value;
 * - nesting deeper than MAX_JSON_DEPTH is not read: `json.loads` recurses per level and raises
 *   RecursionError (FastAPI's 400) somewhere under Python's limit of 1000 frames.
 *
 * Anything not read is a passthrough: the origin gives its own answer (a FastAPI 422 or 400).
 */

/** The bodies read here nest at most 3 deep (emotions' `recently_seen`); this is far from Python's limit. */
export const MAX_JSON_DEPTH = 32;

export interface JsonMember {
  /** What `JSON.parse` makes of the member's text (the same value `json.loads` gives, for text JSON.parse accepts). */
  readonly value: unknown;
  /** The member's value exactly as written in the body. */
  readonly raw: string;
}

export type JsonObjectRead = { ok: true; members: ReadonlyMap<string, JsonMember> } | { ok: false; reason: string };

const WHITESPACE: ReadonlySet<string> = new Set([" ", "\t", "\n", "\r"]);
const SCALAR_END: ReadonlySet<string> = new Set([",", "}", "]", " ", "\t", "\n", "\r"]);

function skipWhitespace(text: string, at: number): number {
  let i = at;
  while (i < text.length && WHITESPACE.has(text[i] as string)) i++;
  return i;
}

/** The index after the string token starting at `at` (a `"`), in text known to be valid JSON. */
function stringEnd(text: string, at: number): number {
  let i = at + 1;
  for (;;) {
    const c = text[i];
    if (c === "\\") i += 2;
    else if (c === '"') return i + 1;
    else i++;
  }
}

/** The end of the value starting at `at`, and how deep it nests (0 for a scalar or a string). */
function valueEnd(text: string, at: number): { end: number; depth: number } {
  const first = text[at];
  if (first !== "{" && first !== "[" && first !== '"') {
    let i = at;
    while (i < text.length && !SCALAR_END.has(text[i] as string)) i++;
    return { end: i, depth: 0 };
  }
  let i = at;
  let depth = 0;
  let deepest = 0;
  do {
    const c = text[i];
    if (c === '"') {
      i = stringEnd(text, i);
      continue;
    }
    if (c === "{" || c === "[") deepest = Math.max(deepest, ++depth);
    else if (c === "}" || c === "]") depth--;
    i++;
  } while (depth > 0);
  return { end: i, depth: deepest };
}

/** Pure: the members of a JSON object body, or why the edge does not read it. */
export function readJsonObject(text: string): JsonObjectRead {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: "body is not JSON (FastAPI 422)" };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return { ok: false, reason: "body is not a JSON object (FastAPI 422)" };
  // From here the text is known to be one valid JSON object.
  const members = new Map<string, JsonMember>();
  let i = skipWhitespace(text, 0) + 1;
  i = skipWhitespace(text, i);
  while (text[i] !== "}") {
    const keyEnd = stringEnd(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWhitespace(text, skipWhitespace(text, keyEnd) + 1);
    const value = valueEnd(text, i);
    if (1 + value.depth > MAX_JSON_DEPTH) return { ok: false, reason: `body nests deeper than ${MAX_JSON_DEPTH} levels` };
    // `json.loads` keeps the last of two equal keys (after unescaping: `"a"` and `"\u0061"` are one).
    if (members.has(key)) return { ok: false, reason: `key ${JSON.stringify(key)} given twice` };
    const raw = text.slice(i, value.end);
    members.set(key, { value: JSON.parse(raw) as unknown, raw });
    i = skipWhitespace(text, value.end);
    if (text[i] === ",") i = skipWhitespace(text, i + 1);
  }
  return { ok: true, members };
}

/** A lone surrogate: pydantic-core holds strings as UTF-8, which cannot carry one; JavaScript keeps it. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Pure: whether pydantic's `str` accepts this JSON value as it is. */
export function isPydanticString(value: unknown): value is string {
  return typeof value === "string" && !LONE_SURROGATE.test(value);
}

/** A JSON integer literal: digits only, no sign, fraction or exponent. */
const PLAIN_INT = /^(?:0|[1-9]\d{0,14})$/;

/**
 * Pure: a member that pydantic's `int` reads as exactly this number, within `min…max`: only a
 * plain non-negative integer literal (`5`, never `5.0`, `5e0`, `"5"`, `true`), whose meaning is
 * certain. Anything else is undefined: the origin decides.
 */
export function plainIntMember(member: JsonMember | undefined, min: number, max: number): number | undefined {
  if (member === undefined || !PLAIN_INT.test(member.raw)) return undefined;
  const value = Number(member.raw);
  return value >= min && value <= max ? value : undefined;
}
