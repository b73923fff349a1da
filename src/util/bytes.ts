/** Byte helpers shared by the renderer, the origin module, the admin API and the dev origin. */

/** One Uint8Array from many; no copy when there is only one part. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  let total = 0;
  for (const part of parts) total += part.byteLength;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

export type CappedRead = { ok: true; bytes: Uint8Array } | { ok: false; size: number };

/**
 * Reads a body fully but stops as soon as it passes `maxBytes`, so an oversized upload costs at
 * most `maxBytes` of memory and is refused instead of being half-stored.
 */
export async function readCapped(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<CappedRead> {
  if (body === null) return { ok: true, bytes: new Uint8Array(0) };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return { ok: false, size };
    }
    chunks.push(value);
  }
  return { ok: true, bytes: chunks.length === 0 ? new Uint8Array(0) : concatBytes(chunks) };
}

/** The whole stream; only for bodies that are small by construction (encoders, tests). */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const read = await readCapped(stream, Number.POSITIVE_INFINITY);
  return read.ok ? read.bytes : new Uint8Array(0);
}
