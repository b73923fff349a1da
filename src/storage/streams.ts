/**
 * Moving between whole values and streamed ones (docs/storage-schema.md §Tiers). A tier that can
 * only hold whole bytes (KV, L1, L0) still speaks the streaming interface through these, and a
 * streamed body is checked against its envelope before anything is stored from it.
 */
import { readCapped } from "../util/bytes";
import { sha256Hex } from "./envelope";
import type { ByteRange, StorageFailure, StoredValue, StreamedValue } from "./tier";

/** The concrete `{ offset, length }` of `range` inside a value of `size` bytes, or null past the end. */
export function resolveRange(size: number, range: ByteRange | undefined): { offset: number; length: number } | null {
  if (range === undefined) return { offset: 0, length: size };
  const { offset } = range;
  if (!Number.isSafeInteger(offset) || offset < 0 || (offset >= size && size > 0) || (size === 0 && offset > 0)) return null;
  const rest = size - offset;
  const length = range.length === undefined ? rest : Math.min(rest, range.length);
  if (!Number.isSafeInteger(length) || length < 0) return null;
  return { offset, length };
}

/** Passes on only bytes [offset, offset + length) of `body`, cancelling the rest. */
export function sliceStream(body: ReadableStream<Uint8Array>, offset: number, length: number): ReadableStream<Uint8Array> {
  let position = 0;
  const end = offset + length;
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (position >= end) {
          await reader.cancel().catch(() => undefined);
          controller.close();
          return;
        }
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        const from = Math.max(0, offset - position);
        const to = Math.min(value.byteLength, end - position);
        position += value.byteLength;
        if (to > from) {
          controller.enqueue(value.subarray(from, to));
          return;
        }
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** A whole value as a stream (optionally a range of it); null when the range is past the end. */
export function streamOf(value: StoredValue, range?: ByteRange): StreamedValue | null {
  const resolved = resolveRange(value.bytes.byteLength, range);
  if (resolved === null) return null;
  const bytes = value.bytes.subarray(resolved.offset, resolved.offset + resolved.length);
  return {
    body: new Blob([bytes]).stream(),
    envelope: value.envelope,
    ...(range === undefined ? {} : { range: resolved }),
  };
}

/**
 * Reads a whole streamed value (never a range) and checks it against its envelope: at most
 * `maxBytes`, exactly `envelope.size` bytes, and the envelope's sha256. Nothing is returned for a
 * body that disagrees, so a tier storing the result never stores a torn or substituted value.
 */
export async function collectStreamed(
  value: StreamedValue,
  maxBytes: number,
): Promise<{ ok: true; value: StoredValue } | { ok: false; failure: StorageFailure }> {
  if (value.range !== undefined) {
    await value.body.cancel().catch(() => undefined);
    return { ok: false, failure: { reason: "invalid_envelope", message: "a byte range cannot be stored as a value" } };
  }
  if (value.envelope.size > maxBytes) {
    await value.body.cancel().catch(() => undefined);
    return {
      ok: false,
      failure: {
        reason: "too_large",
        message: `value is ${value.envelope.size} bytes, over the ${maxBytes}-byte limit`,
        size: value.envelope.size,
        limit: maxBytes,
      },
    };
  }
  const read = await readCapped(value.body, maxBytes);
  if (!read.ok) {
    return {
      ok: false,
      failure: { reason: "too_large", message: `value is over the ${maxBytes}-byte limit`, size: read.size, limit: maxBytes },
    };
  }
  if (read.bytes.byteLength !== value.envelope.size) {
    return {
      ok: false,
      failure: {
        reason: "invalid_envelope",
        message: `envelope size ${value.envelope.size} does not match the ${read.bytes.byteLength} streamed bytes`,
      },
    };
  }
  if ((await sha256Hex(read.bytes)) !== value.envelope.sha256) {
    return { ok: false, failure: { reason: "invalid_envelope", message: "streamed bytes do not match the envelope's sha256" } };
  }
  return { ok: true, value: { bytes: read.bytes, envelope: value.envelope } };
}
