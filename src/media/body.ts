/**
 * Turns a range plan (./range.ts) into a response body, pulling slices from a source one at a
 * time, so memory holds one chunk whatever the object's size. Two sources: an addressed store
 * that reads each slice by range (R2), and one forward pass over the whole object (a Cache API
 * copy, or the origin during a fill), which works because a plan's slices are in increasing
 * order. The client's `Range` never reaches a platform API: the slices are the edge's own.
 */
import type { RangePlan } from "./range";

/** The bytes `[offset, offset + length)` of the object, as a stream. */
export type SliceSource = (offset: number, length: number) => Promise<ReadableStream<Uint8Array>>;

/** A body that ended before its Content-Length: the client sees a broken response, not a short one. */
function truncated(what: string): Error {
  return new Error(`media body ended early: ${what}`);
}

/** The plan's body, from `source`; `release` runs once the body is done or cancelled. */
export function renderPlan(plan: RangePlan, source: SliceSource, release: () => void = () => undefined): ReadableStream<Uint8Array> {
  let index = 0;
  let current: { reader: ReadableStreamDefaultReader<Uint8Array>; left: number } | undefined;
  let released = false;
  const finish = () => {
    if (!released) {
      released = true;
      release();
    }
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            if (current !== undefined) {
              const next = await current.reader.read();
              if (next.done) {
                if (current.left > 0) throw truncated(`${current.left} bytes of a slice missing`);
                current = undefined;
                continue;
              }
              if (next.value.byteLength > current.left) throw truncated("a slice longer than asked");
              current.left -= next.value.byteLength;
              controller.enqueue(next.value);
              return;
            }
            const part = plan.body[index++];
            if (part === undefined) {
              controller.close();
              finish();
              return;
            }
            if (part.kind === "literal") {
              controller.enqueue(part.bytes);
              return;
            }
            current = { reader: (await source(part.offset, part.length)).getReader(), left: part.length };
          }
        } catch (error) {
          controller.error(error);
          await current?.reader.cancel(error).catch(() => undefined);
          finish();
        }
      },
      async cancel(reason) {
        await current?.reader.cancel(reason).catch(() => undefined);
        finish();
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Slices of one forward pass over `whole`: each call must start at or after the end of the last
 * one. Bytes between slices are read and dropped; `release` cancels the rest of `whole`.
 */
export function forwardSlices(whole: ReadableStream<Uint8Array>): { source: SliceSource; release: () => void } {
  const reader = whole.getReader();
  let position = 0;
  let pending: Uint8Array | undefined;

  async function nextChunk(): Promise<Uint8Array | undefined> {
    if (pending !== undefined) {
      const chunk = pending;
      pending = undefined;
      return chunk;
    }
    const next = await reader.read();
    return next.done ? undefined : next.value;
  }

  const source: SliceSource = async (offset, length) => {
    const end = offset + length;
    return new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          while (position < end) {
            const chunk = await nextChunk();
            if (chunk === undefined) {
              controller.close(); // renderPlan sees the missing bytes
              return;
            }
            const from = Math.max(0, offset - position);
            const to = Math.min(chunk.byteLength, end - position);
            if (to < chunk.byteLength) pending = chunk.subarray(to);
            position += to;
            if (to > from) {
              controller.enqueue(chunk.subarray(from, to));
              return;
            }
          }
          controller.close();
        },
      },
      { highWaterMark: 0 },
    );
  };
  return { source, release: () => void reader.cancel("body done").catch(() => undefined) };
}
