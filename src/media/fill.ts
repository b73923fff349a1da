/**
 * A media fill: the origin's bytes go to R2 and to the client in one pass. R2 sets the pace (each
 * chunk is written before the next is read); the client gets the same chunks through a queue of
 * at most FILL_CLIENT_BUFFER_BYTES. A client slower than R2 would make that queue grow, so
 * instead it is detached: it keeps what is queued, and once the object is complete it continues
 * from R2 at the byte where it left off. Memory stays bounded whatever the object's size and
 * however slow the client; a client that goes away does not stop the fill.
 *
 * R2 refusing the object (its upload fails) is a storage failure, not the client's: the fill stops
 * writing and the client gets the rest of the origin's bytes, read only as fast as it takes them
 * (there is no object to resume from). Found by the consistency checker (docs/reliability.md
 * "Consistency"): the client's answer used to break off after its head.
 */
import type { ObjectWriter, ObjectWriteResult, R2Tier } from "../storage";

/** The most of one fill's bytes held for a slow client before it is moved over to R2. */
export const FILL_CLIENT_BUFFER_BYTES = 4 * 1024 * 1024;

export interface Fill {
  /** The whole object, for the client. */
  client: ReadableStream<Uint8Array>;
  /** The written object (not yet committed), or the failure; never rejects. */
  written: Promise<ObjectWriteResult>;
}

/**
 * `progress` runs after each chunk R2 has taken: the write is alive (it renews the write's lease
 * and tells waiters to keep waiting, ./store.ts).
 */
export function startFill(origin: ReadableStream<Uint8Array>, writer: ObjectWriter, r2: R2Tier, progress: () => void = () => undefined): Fill {
  let mode: "live" | "detached" | "gone" = "live";
  /** False once R2 refused the object: the origin's bytes go to the client only. */
  let storing = true;
  /** While not storing: the pump waiting for the client to take bytes. */
  let wanted: (() => void) | undefined;
  let delivered = 0;
  let resume: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let clientController!: ReadableStreamDefaultController<Uint8Array>;
  let written!: Promise<ObjectWriteResult>;

  const client = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        clientController = controller;
      },
      async pull(controller) {
        // While live the pump pushes (waiting for this pull when nothing is stored); once
        // detached, the rest comes from the finished object.
        wanted?.();
        wanted = undefined;
        if (mode !== "detached") return;
        try {
          if (resume === undefined) {
            const result = await written;
            if (!result.ok) throw new Error(`media fill failed: ${result.failure.message}`);
            const rest = await r2.readObject(result.pointer, { offset: delivered });
            if (rest === undefined) throw new Error("media fill: the written object is gone");
            resume = rest.getReader();
          }
          const next = await resume.read();
          if (next.done) controller.close();
          else {
            delivered += next.value.byteLength;
            controller.enqueue(next.value);
          }
        } catch (error) {
          controller.error(error);
        }
      },
      cancel(reason) {
        mode = "gone";
        wanted?.();
        wanted = undefined;
        void resume?.cancel(reason).catch(() => undefined);
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: FILL_CLIENT_BUFFER_BYTES }),
  );

  written = (async (): Promise<ObjectWriteResult> => {
    const reader = origin.getReader();
    try {
      for (;;) {
        const next = await reader.read();
        if (next.done) break;
        if (storing && !(await writer.write(next.value))) {
          storing = false;
          // Nothing to resume a detached client from, nor anyone else to read for.
          if (mode !== "live") {
            await reader.cancel("object write failed").catch(() => undefined);
            break;
          }
        }
        if (storing) progress();
        if (mode !== "live") continue;
        if (!storing) {
          // The client's own pace, so its queue stays bounded.
          while (mode === "live" && (clientController.desiredSize ?? 0) <= 0) await new Promise<void>((resolve) => (wanted = resolve));
          if (mode !== "live") {
            await reader.cancel("client gone").catch(() => undefined);
            break;
          }
        } else if ((clientController.desiredSize ?? 0) <= 0) {
          mode = "detached";
          continue;
        }
        clientController.enqueue(next.value);
        delivered += next.value.byteLength;
      }
    } catch (error) {
      const failed = await writer.fail(error);
      if (mode === "live") clientController.error(error);
      return failed;
    }
    const result = await writer.close();
    // Live to the end, the client has had every byte the origin sent, whatever became of the
    // object; the range plan the store wraps it in checks their count against its Content-Length.
    if (mode === "live") clientController.close();
    return result;
  })();
  return { client, written };
}
