/**
 * Helpers over the runtime's streams (Workers only; ./bytes.ts holds the platform-neutral ones).
 */
import type { PrefixRead } from "./bytes";

/**
 * An idle deadline for long streamed bodies (passthrough today, media later): the body may take
 * as long as it likes in total, but a peer that goes silent for `idleMs` between chunks is cut
 * off, so a stalled origin cannot hold a client connection and the isolate's resources forever.
 * (Whole small documents use a total deadline instead: `readPrefix(…, deadline)` in ./bytes.ts.)
 */

export function withIdleTimeout(body: ReadableStream<Uint8Array>, idleMs: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const idle = new Promise<"idle">((resolve) => {
          timer = setTimeout(() => resolve("idle"), idleMs);
        });
        try {
          const next = await Promise.race([reader.read(), idle]);
          if (next === "idle") {
            const reason = new DOMException(`no body bytes for ${idleMs} ms`, "TimeoutError");
            await reader.cancel(reason).catch(() => undefined);
            controller.error(reason);
          } else if (next.done) {
            controller.close();
          } else {
            controller.enqueue(next.value);
          }
        } finally {
          if (timer !== undefined) clearTimeout(timer);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * A body read past its cap (`readPrefix`): the bytes already read followed by the rest, as one stream: the original body, never
 * held (`Request.clone()` would tee and keep everything the slower branch has not read). The head
 * is written into a runtime identity stream and the rest of `body` piped after it, so past the
 * head no byte surfaces in JavaScript: between two runtime streams workerd pumps natively, with
 * the destination's backpressure, and the isolate's heap never sees the bytes (pulling each chunk
 * through a JS stream left ~110 MiB of garbage in the edge's workerd for one 64 MiB body,
 * docs/security.md §4). The pipe runs detached: a client that goes away, or an origin that answers
 * without reading the rest, ends it (the source is cancelled), never as an unhandled rejection.
 */
export function replayBody({ head, body, reader }: Extract<PrefixRead, { complete: false }>): ReadableStream<Uint8Array> {
  reader.releaseLock();
  const { readable, writable } = new IdentityTransformStream();
  const forward = async (): Promise<void> => {
    const writer = writable.getWriter();
    try {
      for (const chunk of head) await writer.write(chunk);
    } catch (error) {
      await body.cancel(error).catch(() => undefined);
      return;
    }
    writer.releaseLock();
    await body.pipeTo(writable);
  };
  forward().catch(() => undefined);
  return readable;
}
