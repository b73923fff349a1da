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
  const read = await readPrefix(body, maxBytes);
  if (read.complete) return { ok: true, bytes: read.bytes };
  await read.reader.cancel().catch(() => undefined);
  return { ok: false, size: read.size };
}

/**
 * A body read up to a cap: either all of it, or the chunks read so far (at most `maxBytes` plus
 * the one chunk that passed it) and the reader positioned after them, so the caller can refuse
 * the body, or send it on unchanged with `replayBody` (./streams.ts) without holding more than that. With a
 * `deadline` (a `Date.now()` value), a body not complete by then is cancelled: `timedOut`.
 */
export type PrefixRead =
  | { complete: true; bytes: Uint8Array }
  | { complete: false; size: number; head: Uint8Array[]; body: ReadableStream<Uint8Array>; reader: ReadableStreamDefaultReader<Uint8Array> };

export type TimedOut = { complete: false; timedOut: true };

export function readPrefix(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<PrefixRead> {
  return readPrefixUntil(body, maxBytes, undefined) as Promise<PrefixRead>;
}

/** `readPrefix` for documents that must arrive whole by `deadline` (a `Date.now()` value). */
export function readPrefixBy(body: ReadableStream<Uint8Array> | null, maxBytes: number, deadline: number): Promise<PrefixRead | TimedOut> {
  return readPrefixUntil(body, maxBytes, deadline);
}

async function readPrefixUntil(body: ReadableStream<Uint8Array> | null, maxBytes: number, deadline: number | undefined): Promise<PrefixRead | TimedOut> {
  if (body === null) return { complete: true, bytes: new Uint8Array(0) };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired =
    deadline === undefined
      ? undefined
      : new Promise<"expired">((resolve) => {
          timer = setTimeout(() => resolve("expired"), Math.max(0, deadline - Date.now()));
        });
  try {
    for (;;) {
      const next = expired === undefined ? await reader.read() : await Promise.race([reader.read(), expired]);
      if (next === "expired") {
        await reader.cancel(new DOMException("body did not arrive in time", "TimeoutError")).catch(() => undefined);
        return { complete: false, timedOut: true };
      }
      if (next.done) break;
      size += next.value.byteLength;
      chunks.push(next.value);
      if (size > maxBytes) return { complete: false, size, head: chunks, body, reader };
    }
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
  return { complete: true, bytes: chunks.length === 0 ? new Uint8Array(0) : concatBytes(chunks) };
}

/** The whole stream; only for bodies that are small by construction (encoders, tests). */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const read = await readCapped(stream, Number.POSITIVE_INFINITY);
  return read.ok ? read.bytes : new Uint8Array(0);
}
