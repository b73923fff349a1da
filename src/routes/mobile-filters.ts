/**
 * The mobile playlist filters of `GET /api/1/content_files/{uid}/{ios,android}.m3u8`, and their
 * stable identifier, built exactly as the backend does (A #7;
 * `content_files/routes/show_mobile_playlist.py`: `M3U8Size`, `M3U8VODFilters`):
 *
 *   `w=<int or empty>,h=<int or empty>,pr=<decimal or empty>,bmin=<int>,bmax=<int or empty>`
 *
 * - `w` and `h` are FastAPI floats rounded up with `math.ceil`; the size segments are filled only
 *   when both are given.
 * - `pr` is `str(Decimal(pr).normalize())` (`2.0`→`2`, `1.50`→`1.5`, `10`→`1E+1`), `1` when
 *   omitted with a size, and never validated without a size.
 * - `bmin` defaults to 90000 after validation (so a `bmax` below the default is not an error).
 * - Validation failures are the route's own 422 (not FastAPI's): `json.dumps` of
 *   `{"detail":[{"loc":["query",<field>],"msg":…,"type":…}]}` with pydantic 2.6's messages.
 *
 * Pure. Inputs outside the spellings handled here are `passthrough` (the origin answers).
 */
import { lastQueryValue, parseOptionalFloat, parseOptionalInt } from "./query";

/** `filters.min_bandwidth = 90_000` when the request gives none. */
export const DEFAULT_MIN_BANDWIDTH = 90_000;

/** Python's default decimal context: `normalize()` rounds to 28 significant digits. */
const DECIMAL_PRECISION = 28;
/** Far inside the default context's Emin/Emax (±999999), so `is_subnormal` and overflow can't apply. */
const MAX_DECIMAL_ADJUSTED_EXPONENT = 9_999;

export interface PyDecimal {
  negative: boolean;
  /** Significant digits without leading zeros; `"0"` for zero. */
  coefficient: string;
  exponent: number;
}

/** Sign, digits with an optional point, optional exponent; no whitespace, underscores, inf or nan. */
const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,6}))?$/;

/** `Decimal(text)` for the plain numeric spellings; `undefined` for anything else. */
export function parseDecimal(text: string): PyDecimal | undefined {
  const match = DECIMAL_TEXT.exec(text);
  if (match === null) return undefined;
  const intPart = match[2] ?? "";
  const fracPart = match[3] ?? "";
  if (intPart === "" && fracPart === "") return undefined;
  const digits = (intPart + fracPart).replace(/^0+/, "");
  return {
    negative: match[1] === "-",
    coefficient: digits === "" ? "0" : digits,
    exponent: Number(match[4] ?? "0") - fracPart.length,
  };
}

/** `Decimal.normalize()`: strip trailing zeros; zero keeps its sign and gets exponent 0. */
export function normalizeDecimal(d: PyDecimal): PyDecimal {
  if (d.coefficient === "0") return { negative: d.negative, coefficient: "0", exponent: 0 };
  let { coefficient, exponent } = d;
  while (coefficient.endsWith("0")) {
    coefficient = coefficient.slice(0, -1);
    exponent += 1;
  }
  return { negative: d.negative, coefficient, exponent };
}

/** Python's `Decimal.__str__` (to-scientific-string, `eng=False`). */
export function decimalToString(d: PyDecimal): string {
  const { coefficient, exponent } = d;
  const leftDigits = exponent + coefficient.length;
  const dotPlace = exponent <= 0 && leftDigits > -6 ? leftDigits : 1;
  let intPart: string;
  let fracPart: string;
  if (dotPlace <= 0) {
    intPart = "0";
    fracPart = `.${"0".repeat(-dotPlace)}${coefficient}`;
  } else if (dotPlace >= coefficient.length) {
    intPart = coefficient + "0".repeat(dotPlace - coefficient.length);
    fracPart = "";
  } else {
    intPart = coefficient.slice(0, dotPlace);
    fracPart = `.${coefficient.slice(dotPlace)}`;
  }
  const shown = leftDigits - dotPlace;
  const exp = shown === 0 ? "" : `E${shown > 0 ? "+" : "-"}${Math.abs(shown)}`;
  return `${d.negative ? "-" : ""}${intPart}${fracPart}${exp}`;
}

export interface ValidationItem {
  loc: readonly ["query", string];
  msg: string;
  type: string;
}

export interface MobileFilters {
  size: { width: number; height: number; pixelRatio: string } | null;
  minBandwidth: number;
  maxBandwidth: number | null;
}

export type FiltersPlan =
  | { kind: "ok"; filters: MobileFilters; stableIdentifier: string }
  | { kind: "invalid"; detail: readonly ValidationItem[] }
  | { kind: "passthrough"; reason: string };

function geItem(field: string, bound: number): ValidationItem {
  return { loc: ["query", field], msg: `Input should be greater than or equal to ${bound}`, type: "greater_than_equal" };
}

function valueErrorItem(field: string, message: string): ValidationItem {
  return { loc: ["query", field], msg: `Value error, ${message}`, type: "value_error" };
}

/** `w`/`h`: FastAPI float, then `math.ceil` (JS's `-0` prints as Python's `0`, and only errors see it). */
function ceilOrNull(value: number | null): number | null {
  return value === null ? null : Math.ceil(value) + 0;
}

/** Pure: the filters, the backend's 422 detail, or "let the origin decide". */
export function planMobileFilters(params: URLSearchParams): FiltersPlan {
  const w = parseOptionalFloat(lastQueryValue(params, "w"));
  const h = parseOptionalFloat(lastQueryValue(params, "h"));
  const bmin = parseOptionalInt(lastQueryValue(params, "bmin"));
  const bmax = parseOptionalInt(lastQueryValue(params, "bmax"));
  if (!w.ok || !h.ok || !bmin.ok || !bmax.ok) return { kind: "passthrough", reason: "filter spelling not handled at the edge" };
  const width = ceilOrNull(w.value);
  const height = ceilOrNull(h.value);
  const prRaw = lastQueryValue(params, "pr");

  // M3U8Size(...) is constructed (and raises) before M3U8VODFilters is, so its errors come alone.
  let size: MobileFilters["size"] = null;
  if (width !== null && height !== null) {
    const errors: ValidationItem[] = [];
    if (width < 1) errors.push(geItem("width", 1));
    if (height < 1) errors.push(geItem("height", 1));
    let pixelRatio = "1";
    if (prRaw !== null) {
      const parsed = parseDecimal(prRaw);
      // Decimal("abc") raises InvalidOperation, which pydantic does not catch (a 500 at the origin).
      if (parsed === undefined) return { kind: "passthrough", reason: "pr is not a plain decimal" };
      const normalized = normalizeDecimal(parsed);
      const adjusted = normalized.exponent + normalized.coefficient.length - 1;
      if (normalized.coefficient.length > DECIMAL_PRECISION || Math.abs(adjusted) > MAX_DECIMAL_ADJUSTED_EXPONENT) {
        return { kind: "passthrough", reason: "pr needs decimal-context rounding" };
      }
      if (normalized.negative || normalized.coefficient === "0") {
        errors.push(valueErrorItem("pixel_ratio_str", "must be a positive finite number"));
      }
      pixelRatio = decimalToString(normalized);
    }
    if (errors.length > 0) return { kind: "invalid", detail: errors };
    size = { width, height, pixelRatio };
  }

  const errors: ValidationItem[] = [];
  const minOk = bmin.value === null || bmin.value >= 0;
  if (!minOk) errors.push(geItem("min_bandwidth", 0));
  if (bmax.value !== null) {
    if (bmax.value < 0) errors.push(geItem("max_bandwidth", 0));
    // The v1-style validator sees min_bandwidth only when it validated.
    else if (minOk && bmin.value !== null && bmax.value < bmin.value) {
      errors.push(valueErrorItem("max_bandwidth", "max_bandwidth must be greater than min_bandwidth"));
    }
  }
  if (errors.length > 0) return { kind: "invalid", detail: errors };

  const filters: MobileFilters = { size, minBandwidth: bmin.value ?? DEFAULT_MIN_BANDWIDTH, maxBandwidth: bmax.value };
  return { kind: "ok", filters, stableIdentifier: stableIdentifier(filters) };
}

/** `M3U8VODFilters.stable_identifier`. */
export function stableIdentifier(filters: MobileFilters): string {
  const size = filters.size;
  return [
    size === null ? "w=" : `w=${size.width}`,
    size === null ? "h=" : `h=${size.height}`,
    size === null ? "pr=" : `pr=${size.pixelRatio}`,
    `bmin=${filters.minBandwidth}`,
    filters.maxBandwidth === null ? "bmax=" : `bmax=${filters.maxBandwidth}`,
  ].join(",");
}

/**
 * The route's 422 body: Python `json.dumps` (`", "` and `": "` separators, ASCII-only — every
 * field here is ASCII) of the detail list.
 */
export function filtersErrorBody(detail: readonly ValidationItem[]): string {
  const items = detail.map(
    (item) =>
      `{"loc": [${item.loc.map((part) => JSON.stringify(part)).join(", ")}], "msg": ${JSON.stringify(item.msg)}, "type": ${JSON.stringify(item.type)}}`,
  );
  return `{"detail": [${items.join(", ")}]}`;
}
