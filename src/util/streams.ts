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
