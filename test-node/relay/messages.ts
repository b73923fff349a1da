/**
 * Builders of pub/sub messages in the backend's framings (docs/relay.md), for tests: each mirrors
 * the backend's publisher byte for byte (big-endian unsigned integers, length prefixes).
 */
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { concatBytes } from "../../src/util/bytes";

export const enc = (text: string): Uint8Array => new TextEncoder().encode(text);

export const concat = (...parts: Uint8Array[]): Uint8Array => concatBytes(parts);

export function u8(n: number): Uint8Array {
  return Uint8Array.of(n);
}
export function u16(n: number): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setUint16(0, n);
  return out;
}
export function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}
export function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}
/** `len(x).to_bytes(width) + x`. */
export const prefixed = (width: (n: number) => Uint8Array, bytes: Uint8Array): Uint8Array => concat(width(bytes.byteLength), bytes);

/** `gzip.compress(json, mtime=0)` of a JSON document. */
export const gzipJson = (value: unknown): Uint8Array => new Uint8Array(gzipSync(Buffer.from(JSON.stringify(value))));

export function fDate(start: number, end: number, data: Uint8Array): Uint8Array {
  return concat(u32(start), u32(end), prefixed(u64, data));
}

export function journeyHeader(header: string, template?: Uint8Array): Uint8Array {
  return concat(prefixed(u32, enc(header)), template ?? new Uint8Array());
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the fixture's shape is documented in test/fixtures/README.md
export type Vector = any;

/** The golden vectors (test/fixtures/blocks.json): real messages from the backend's publishers. */
export function loadVectors(): Vector[] {
  const path = new URL("../../test/fixtures/blocks.json", import.meta.url);
  return (JSON.parse(readFileSync(path, "utf8")) as { vectors: Vector[] }).vectors;
}

export const b64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "base64"));
