/**
 * The three string/number encoders of docs/block-format.md §1.2. Getting the wrong one is the
 * main source of byte mismatches: JS `String(x)` matches neither Python float format, and
 * `JSON.stringify` is wrong for the journey text fields.
 */

/** Shortest round-trip digits of a finite, non-zero |x| and its decimal exponent (d.ddd × 10^exp). */
function shortestDigits(x: number): { digits: string; exp: number } {
  // toExponential() without an argument yields the shortest digits that round-trip, like
  // Python's repr and ryu.
  const text = Math.abs(x).toExponential();
  const e = text.indexOf("e");
  return { digits: text.slice(0, e).replace(".", ""), exp: Number(text.slice(e + 1)) };
}

function signOf(x: number): string {
  return x < 0 || Object.is(x, -0) ? "-" : "";
}

/**
 * Python `repr(float)` / `str(float)`: fixed notation for decimal exponents in [−4, 16), else
 * `d.ddde±XX` with at least two exponent digits; integral values keep `.0`. Used for the journey
 * `duration_seconds` (§2.2 block 11).
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const sign = signOf(x);
  if (x === 0) return `${sign}0.0`;
  const { digits, exp } = shortestDigits(x);
  if (exp >= -4 && exp < 16) return sign + fixed(digits, exp, true);
  const mantissa = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
  const expSign = exp < 0 ? "-" : "+";
  return `${sign}${mantissa}e${expSign}${String(Math.abs(exp)).padStart(2, "0")}`;
}

/** Digits placed around the decimal point for exponent `exp`; `.0` appended when integral. */
function fixed(digits: string, exp: number, keepPointZero: boolean): string {
  if (exp < 0) return `0.${"0".repeat(-exp - 1)}${digits}`;
  const intLen = exp + 1;
  if (digits.length <= intLen) return digits + "0".repeat(intLen - digits.length) + (keepPointZero ? ".0" : "");
  return `${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
}

/**
 * ryu 1.0.14's `format64` as used by serde_json 1.0.109 in production pydantic-core 2.16.3:
 * fixed notation while the decimal point position k satisfies −5 < k ≤ 16, else `de±x` with
 * no `+` and no padding (`1e16`, `1e-6`). Non-finite values serialize as `null` (serde_json).
 * Used for transcripts, top sharers and pub/sub headers (§1.2).
 */
export function ryuFloat(x: number): string {
  if (!Number.isFinite(x)) return "null";
  const sign = signOf(x);
  if (x === 0) return `${sign}0.0`;
  const { digits, exp } = shortestDigits(x);
  const point = exp + 1; // ryu's kk: digits × 10^(point − length)
  if (point > -5 && point <= 16) return sign + fixed(digits, exp, true);
  const mantissa = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
  return `${sign}${mantissa}e${exp}`;
}

const NAMED_ESCAPES: Readonly<Record<number, string>> = {
  0x22: '\\"',
  0x5c: "\\\\",
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
  0x08: "\\b",
  0x0c: "\\f",
};

/**
 * Python `json.dumps(s)` with the default `ensure_ascii=True`: named escapes, `\u00xx` for the
 * other C0 controls, and `\uxxxx` (lowercase hex) for every UTF-16 code unit ≥ 0x7F — DEL
 * included, astral characters as surrogate pairs. `/` is not escaped. Output is pure ASCII.
 */
export function pyJsonDumpsString(s: string): string {
  let out = '"';
  let runStart = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(runStart, i);
    out += NAMED_ESCAPES[c] ?? `\\u${c.toString(16).padStart(4, "0")}`;
    runStart = i + 1;
  }
  return `${out}${s.slice(runStart)}"`;
}

/** Python `json.dumps(x)` for `str | None`. */
export function pyJsonDumpsNullableString(s: string | null): string {
  return s === null ? "null" : pyJsonDumpsString(s);
}
