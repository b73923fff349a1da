/**
 * Small pure helpers for fixtures: deterministic pseudo-randomness seeded by a key, dates,
 * Python `json.dumps` spacing, gzip. The backend's string and float encoders come from
 * ./encode/json.ts (docs/block-format.md §1.2).
 */
import { pyJsonDumpsString as pyJsonString } from "./encode/json";

export { ryuFloat } from "./encode/json";

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export { concatBytes } from "../../src/util/bytes";

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

/** `YYYY-MM-DD` of a unix date (days since 1970-01-01 on the LA calendar, docs/block-format.md conventions). */
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

/** A url-safe tail for generated uids (the backend's `token_urlsafe(16)` is 22 chars). */
export async function urlSafeDigest(text: string, length = 22): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(text)));
  let bin = "";
  for (const b of digest) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "").slice(0, length);
}

export async function sha256Bytes(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(text)));
}
