/**
 * Small pure helpers for fixtures: deterministic pseudo-randomness seeded by a key, the two
 * Python/pydantic text encoders the backend's values use (blocks-spec §1.2), gzip, framing.
 */

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** FNV-1a over UTF-16 code units: a stable 32-bit seed from a key. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: deterministic, so the same key always yields the same fixture bytes. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

const SECONDS_PER_DAY = 86400;

/** `YYYY-MM-DD` of a unix date (days since 1970-01-01 on the LA calendar, blocks-spec conventions). */
export function isoDate(unixDate: number): string {
  return new Date(unixDate * SECONDS_PER_DAY * 1000).toISOString().slice(0, 10);
}

/** Unix dates `[start, end)`, capped so a silly window cannot make a huge fixture. */
export const MAX_WINDOW_DAYS = 400;
export function dateRange(start: number, endExclusive: number): number[] {
  const out: number[] = [];
  for (let d = start; d < endExclusive && out.length < MAX_WINDOW_DAYS; d++) out.push(d);
  return out;
}

/**
 * Python `json.dumps` of a str with the default `ensure_ascii=True` (blocks-spec §1.2): every code
 * unit ≥ 0x7F and every C0 control without a short escape becomes a lowercase `\uXXXX`.
 */
export function pyJsonString(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    else if (c < 0x20 || c >= 0x7f) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += value[i];
  }
  return out + '"';
}

/**
 * Python `str(float)` for the values fixtures use (journey `duration_seconds`, blocks-spec §1.2):
 * integral values keep `.0`; exponent form below 1e-4 / from 1e16 with a signed 2-digit exponent.
 */
export function pyFloatRepr(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`pyFloatRepr: ${value} is not finite`);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    const [mantissa = "", exponent = "0"] = value.toExponential().split("e");
    const expNum = Number(exponent);
    const sign = expNum < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(expNum)).padStart(2, "0")}`;
  }
  const text = String(value);
  return Number.isInteger(value) ? `${text}.0` : text;
}

/**
 * pydantic-core (ryu) float text for the range fixtures use (1e-5 ≤ |x| < 1e16, blocks-spec §1.2):
 * shortest digits, integral values keep `.0`.
 */
export function ryuFloat(value: number): string {
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-5 || abs >= 1e16)) throw new Error(`ryuFloat: ${value} out of fixture range`);
  const text = String(value);
  return Number.isInteger(value) ? `${text}.0` : text;
}

/** Python `json.dumps` separators (`", "`, `": "`) for flat objects of strings and ints. */
export function pyDumpsFlat(entries: ReadonlyArray<readonly [string, string | number | null]>): string {
  const parts = entries.map(([k, v]) => {
    const val = typeof v === "string" ? pyJsonString(v) : v === null ? "null" : String(v);
    return `${pyJsonString(k)}: ${val}`;
  });
  return `{${parts.join(", ")}}`;
}

export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export function u32be(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

export function u64be(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), false);
  return out;
}

/** 32-character url-safe tail for generated uids (the backend's `token_urlsafe(16)` is 22 chars). */
export async function urlSafeDigest(text: string, length = 22): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(text)));
  let bin = "";
  for (const b of digest) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "").slice(0, length);
}

export async function sha256Bytes(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(text)));
}
