/**
 * How the backend's FastAPI 0.109 / pydantic 2.6 reads query parameters, for the few shapes the
 * edge routes need. Each parser accepts only inputs whose meaning is certain; anything else is
 * `undefined` and the caller lets the request pass through, so the origin gives its own answer
 * (a FastAPI 422 whose bytes depend on its versions, or a 500) rather than the edge guessing.
 */
import { isoToUnixDate } from "../keys/la-time";

/**
 * A scalar query parameter as FastAPI reads it: Starlette's `QueryParams` keeps the last
 * occurrence of a repeated name (`{k: v for k, v in items}`), and `+` decodes to a space in both
 * Starlette and URLSearchParams. `null` = absent.
 */
export function lastQueryValue(params: URLSearchParams, name: string): string | null {
  const all = params.getAll(name);
  return all.length === 0 ? null : (all[all.length - 1] ?? null);
}

/** pydantic's str→bool spellings (lax mode, case-insensitive). Other spellings are a 422 at the origin. */
const PY_TRUE: ReadonlySet<string> = new Set(["1", "on", "t", "true", "y", "yes"]);
const PY_FALSE: ReadonlySet<string> = new Set(["0", "off", "f", "false", "n", "no"]);

export type Parsed<T> = { ok: true; value: T } | { ok: false };

const NOT_PARSED = { ok: false } as const;

/** `Optional[bool]` query param: absent → `null`; unsure spelling → not parsed. */
export function parseOptionalPyBool(raw: string | null): Parsed<boolean | null> {
  if (raw === null) return { ok: true, value: null };
  const lower = raw.toLowerCase();
  if (PY_TRUE.has(lower)) return { ok: true, value: true };
  if (PY_FALSE.has(lower)) return { ok: true, value: false };
  return NOT_PARSED;
}

/** Digits only, no leading zeros, within the safe-integer range (pydantic's int parse is wider). */
const SAFE_INT = /^-?(?:0|[1-9]\d{0,14})$/;

/** `Optional[int]` query param, restricted to the unambiguous decimal spelling. */
export function parseOptionalInt(raw: string | null): Parsed<number | null> {
  if (raw === null) return { ok: true, value: null };
  if (!SAFE_INT.test(raw) || raw === "-0") return NOT_PARSED;
  return { ok: true, value: Number(raw) };
}

/** Plain decimal floats only: no exponent, `inf`, `nan`, underscores or whitespace. */
const PLAIN_FLOAT = /^-?\d{1,15}(?:\.\d{1,15})?$/;

/** `Optional[float]` query param, restricted to plain decimal spellings. */
export function parseOptionalFloat(raw: string | null): Parsed<number | null> {
  if (raw === null) return { ok: true, value: null };
  if (!PLAIN_FLOAT.test(raw)) return NOT_PARSED;
  return { ok: true, value: Number(raw) };
}

/**
 * Python's `date.fromisoformat` for the strict `YYYY-MM-DD` form, as a unix date. Python 3.11
 * also accepts other ISO 8601 forms (`20231101`, week dates), so a non-strict value is "not
 * parsed" here (pass through), never "invalid".
 */
export function parseStrictIsoDate(raw: string): number | undefined {
  return isoToUnixDate(raw);
}
