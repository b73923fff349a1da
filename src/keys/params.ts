/**
 * Validators for key params. Every accepted value is ASCII without `:` (so the key's segments
 * cannot be confused, e.g. `client_flows:{slug}` vs `client_flows:{slug}:full`) and is exactly the
 * text the backend would have built, so `buildKey(parseKey(k)) === k`.
 */
import { MAX_UNIX_DATE, isoToUnixDate } from "./la-time";
import type { ParamSpec } from "./types";

export type ParamCheck = { ok: true } | { ok: false; problem: string };

const OK: ParamCheck = { ok: true };

function problem(text: string): ParamCheck {
  return { ok: false, problem: text };
}

/**
 * Backend uids are `oseh_{prefix}_{secrets.token_urlsafe(16)}` (22 chars; docs/uid_prefixes.md).
 * Older rows and test fixtures use other lengths, so allow 1–64 url-safe characters.
 */
const UID_BODY_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const UID_PREFIX_PATTERN = /^[a-z0-9_]+$/;
/** Non-negative integers as Python `str(int)` prints them: no sign, no leading zeros. */
const CANONICAL_INT_PATTERN = /^(?:0|[1-9]\d*)$/;
/** Keeps ints exact in a JS number (and keys short). */
const MAX_INT_DIGITS = 15;
export const PYTHON_NONE = "None";

/** The characters a free-text param may contain when its spec gives no pattern of its own. */
export const DEFAULT_TEXT_PATTERN = /^[A-Za-z0-9_.-]+$/;
/** Default cap for free-text params: slugs are ≤ 255 (client_flows/routes/create.py). */
export const DEFAULT_TEXT_MAX_LENGTH = 255;

function describeValue(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/** The `oseh_{prefix}_` prefixes a uid param accepts; empty means any. */
export function uidPrefixesOf(spec: ParamSpec): readonly string[] {
  return spec.uidPrefixes ?? (spec.uidPrefix !== undefined ? [spec.uidPrefix] : []);
}

function validateUid(spec: ParamSpec, value: string): ParamCheck {
  const prefixes = uidPrefixesOf(spec);
  if (prefixes.length === 0) {
    return value.startsWith("oseh_") && UID_BODY_PATTERN.test(value.slice("oseh_".length))
      ? OK
      : problem("must be a uid: oseh_ followed by 1–64 characters of [A-Za-z0-9_-]");
  }
  for (const prefix of prefixes) {
    const head = `oseh_${prefix}_`;
    if (value.startsWith(head) && UID_BODY_PATTERN.test(value.slice(head.length))) return OK;
  }
  const expected = prefixes.map((p) => `"oseh_${p}_"`).join(" or ");
  return problem(`must be a uid starting with ${expected} followed by 1–64 characters of [A-Za-z0-9_-]`);
}

function validateCanonicalInt(value: string): number | undefined {
  if (value.length > MAX_INT_DIGITS || !CANONICAL_INT_PATTERN.test(value)) return undefined;
  return Number(value);
}

function validateUnixDate(spec: ParamSpec, value: string): ParamCheck {
  if (spec.allowNone === true && value === PYTHON_NONE) return OK;
  const date = validateCanonicalInt(value);
  if (date === undefined) {
    return problem(`must be a unix date (non-negative integer, no leading zeros)${spec.allowNone === true ? " or None" : ""}`);
  }
  return date <= MAX_UNIX_DATE ? OK : problem(`unix date is after 9999-12-31`);
}

function validateInt(spec: ParamSpec, value: string): ParamCheck {
  const int = validateCanonicalInt(value);
  if (int === undefined) return problem("must be a non-negative integer with no leading zeros");
  if (spec.min !== undefined && int < spec.min) return problem(`must be at least ${spec.min}`);
  if (spec.max !== undefined && int > spec.max) return problem(`must be at most ${spec.max}`);
  if (spec.multipleOf !== undefined && int % spec.multipleOf !== 0) return problem(`must be a multiple of ${spec.multipleOf}`);
  return OK;
}

function validateEnum(spec: ParamSpec, value: string): ParamCheck {
  const values = spec.values ?? [];
  return values.includes(value) ? OK : problem(`must be one of ${values.join(", ")}`);
}

function validateText(spec: ParamSpec, value: string): ParamCheck {
  const maxLength = spec.maxLength ?? DEFAULT_TEXT_MAX_LENGTH;
  if (value.length === 0) return spec.allowEmpty === true ? OK : problem("must not be empty");
  if (value.length > maxLength) return problem(`must be at most ${maxLength} characters`);
  const pattern = spec.pattern ?? DEFAULT_TEXT_PATTERN;
  return pattern.test(value) && !value.includes(":") ? OK : problem(`must match ${pattern.source}`);
}

function validateIsoDate(value: string): ParamCheck {
  return isoToUnixDate(value) === undefined ? problem("must be a real calendar date YYYY-MM-DD") : OK;
}

/**
 * content_files mobile playlist filters (A #7): exactly
 * `w=<int|>,h=<int|>,pr=<decimal|>,bmin=<int>,bmax=<int|>`, where w, h and pr are all set or all
 * empty, and pr is Python `str(Decimal(pr).normalize())` (so `2`, `1.5`, `1E+1`; never `2.0`).
 */
const FILTERS_PATTERN =
  /^w=(?<w>[1-9]\d{0,5})?,h=(?<h>[1-9]\d{0,5})?,pr=(?<pr>[^,]*),bmin=(?<bmin>0|[1-9]\d{0,9}),bmax=(?<bmax>0|[1-9]\d{0,9})?$/;
/** A plain or scientific decimal, the only spellings `str(Decimal)` produces for a finite value. */
const DECIMAL_PATTERN = /^(?<int>\d+)(?:\.(?<frac>\d+))?(?:E(?<exp>[+-]\d{1,4}))?$/;
const MAX_PIXEL_RATIO_LENGTH = 16;

/**
 * True when `text` is exactly Python's `str(Decimal(x).normalize())` of a positive x: trailing
 * zeros folded into the exponent, then `Decimal.__str__` (plain when the exponent is ≤ 0 and the
 * adjusted exponent ≥ −6, else one digit before the point and `E±n`). So `2`, `1.5`, `0.000001`,
 * `1E+1`, `1.5E+2`, `1E-7` — never `2.0`, `10`, `15E+0`, `1.5E+1` (that is `15`) or `0.0000001`.
 */
function isNormalizedPositiveDecimal(text: string): boolean {
  const groups = DECIMAL_PATTERN.exec(text)?.groups;
  if (groups === undefined) return false;
  const frac = groups["frac"] ?? "";
  let digits = `${groups["int"] ?? ""}${frac}`.replace(/^0+/, "");
  if (digits.length === 0) return false;
  let exponent = Number(groups["exp"] ?? "0") - frac.length;
  const trimmed = digits.replace(/0+$/, "");
  exponent += digits.length - trimmed.length;
  digits = trimmed;
  const leftDigits = exponent + digits.length;
  const dotPlace = exponent <= 0 && leftDigits > -6 ? leftDigits : 1;
  let body: string;
  if (dotPlace <= 0) body = `0.${"0".repeat(-dotPlace)}${digits}`;
  else if (dotPlace >= digits.length) body = `${digits}${"0".repeat(dotPlace - digits.length)}`;
  else body = `${digits.slice(0, dotPlace)}.${digits.slice(dotPlace)}`;
  const suffix = leftDigits === dotPlace ? "" : `E${leftDigits - dotPlace > 0 ? "+" : "-"}${Math.abs(leftDigits - dotPlace)}`;
  return `${body}${suffix}` === text;
}

function validateFilters(value: string): ParamCheck {
  const match = FILTERS_PATTERN.exec(value);
  const groups = match?.groups;
  if (groups === undefined) return problem("must be w=…,h=…,pr=…,bmin=…,bmax=… with integer sizes and bitrates");
  const { w, h, pr, bmin, bmax } = groups;
  const sized = w !== undefined && h !== undefined;
  if (sized !== (w !== undefined || h !== undefined)) return problem("w and h are both set or both empty");
  if (sized) {
    if (pr === undefined || pr.length === 0 || pr.length > MAX_PIXEL_RATIO_LENGTH || !isNormalizedPositiveDecimal(pr)) {
      return problem("pr must be str(Decimal.normalize()) of a positive number when w and h are set (2, 1.5, 1E+1)");
    }
  } else if (pr !== undefined && pr.length > 0) {
    return problem("pr must be empty when w and h are empty");
  }
  // No bmax >= bmin check: the backend validates the request before defaulting bmin to 90000,
  // so `?bmax=50000` alone is keyed `bmin=90000,bmax=50000` (A #7).
  return OK;
}

/** Checks one param value against its spec; never throws. */
export function validateParam(spec: ParamSpec, value: string): ParamCheck {
  let check: ParamCheck;
  switch (spec.kind) {
    case "uid":
      check = validateUid(spec, value);
      break;
    case "unix-date":
      check = validateUnixDate(spec, value);
      break;
    case "int":
      check = validateInt(spec, value);
      break;
    case "enum":
    case "bool-py":
      check = validateEnum(spec, value);
      break;
    case "text":
      check = validateText(spec, value);
      break;
    case "iso-date":
      check = validateIsoDate(value);
      break;
    case "filters":
      check = validateFilters(value);
      break;
    default:
      return spec.kind satisfies never;
  }
  return check.ok ? check : problem(`param ${spec.name} ${describeValue(value)}: ${check.problem}`);
}

/** Guards registry definitions: a uid prefix must itself be plain. */
export function isPlainUidPrefix(prefix: string): boolean {
  return UID_PREFIX_PATTERN.test(prefix);
}
