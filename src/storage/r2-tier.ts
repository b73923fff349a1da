/**
 * The R2 tier (binding `MEDIA`): media bytes (`s3_files:{uid}`), which KV cannot hold (over
 * 25 MiB) nor read by range. Layout (docs/storage-schema.md §R2):
 * - `objects/<uuid>`: the bytes, written once and never overwritten, with the envelope (but its
 *   sha256, learnt only once the bytes have passed; R2 cannot rename) in the object's custom
 *   metadata. The uuid is fresh per write, so an object key never names two byte strings.
 * - `pointers/<family key>`: an empty object whose custom metadata is the envelope plus the
 *   object key. Only `commitPointer` writes it, so an object that is still being written, or one
 *   whose fill lost to a purge, is never readable by key.
 * R2 is strongly consistent (read-after-write, everywhere), so a committed pointer is seen at
 * once by every colo, and a deleted one is gone at once.
 */
import { isEnvelope, keyProblem, pickEnvelope } from "./envelope";
import { MEDIA_MAX_OBJECT_BYTES } from "./limits";
import { concatBytes } from "../util/bytes";
import type { ByteRange, Envelope, ObjectWriteResult, Pointer, PutResult, StorageFailure } from "./tier";

const OBJECT_PREFIX = "objects/";
const POINTER_PREFIX = "pointers/";
/** `objects/<uuid>`: an object one writer streams, and so the only kind a writer may remove. */
const WRITER_OBJECT_KEY = /^objects\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Whether `objectKey` names an object of one streamed write (a fresh uuid, never shared), which
 * its writer or its lease's shield may delete when it is not published. Any other object key
 * (none this code writes) may back other pointers: only the expiry rule removes those.
 */
export function isWriterObjectKey(objectKey: string): boolean {
  return WRITER_OBJECT_KEY.test(objectKey);
}

/** A fresh key for a streamed write, known before its first byte (its lease names it). */
export function newWriterObjectKey(): string {
  return `${OBJECT_PREFIX}${crypto.randomUUID()}`;
}
/** Zeros written at a time when completing a failed body (see `finish`). */
const PAD_CHUNK_BYTES = 64 * 1024;
/**
 * Origin bodies arrive in chunks of a few KiB, and each write into an R2 upload costs a round of
 * the upload's pipe: chunks are gathered to this size first (the only bytes a writer holds).
 */
const WRITE_BATCH_BYTES = 256 * 1024;

/** An envelope before its bytes have been seen: size and sha256 are learnt while writing. */
export type PendingEnvelope = Omit<Envelope, "sha256">;

/** Bytes of a new object, fed in order by one writer (a fill serving its client meanwhile). */
export interface ObjectWriter {
  readonly objectKey: string;
  /** Resolves once R2 has taken the chunk (backpressure); false once the write has failed. */
  write(chunk: Uint8Array): Promise<boolean>;
  /** Ends the write: the pointer to commit, or why nothing was stored. */
  close(): Promise<ObjectWriteResult>;
  /** Abandons the write (the source failed); nothing is stored. */
  fail(reason?: unknown): Promise<ObjectWriteResult>;
}

/**
 * Objects behind pointers: an object is written (a writer fed chunk by chunk, as a fill or an
 * admin PUT streams it) without being readable by key, and published only by `commitPointer`.
 */
export interface R2Tier {
  readonly name: "r2";
  readPointer(key: string): Promise<Pointer | undefined>;
  /** Makes `key` read the object; the only step that publishes. */
  commitPointer(key: string, pointer: Pointer, now: number): Promise<PutResult>;
  /**
   * The pointer only: the value is unreadable at once. Its object may still be streaming to a
   * reader; the expiry rule removes it (docs/storage-schema.md §R2).
   */
  delete(key: string): Promise<void>;
  /** The object's bytes (or a range of them) as a stream; undefined when the object is gone. */
  readObject(pointer: Pointer, range?: ByteRange): Promise<ReadableStream<Uint8Array> | undefined>;
  /**
   * A new object of exactly `envelope.size` bytes (a FixedLengthStream enforces it), hashed on
   * the way: for a fill, which learns the sha256 only once the bytes have passed. Publishes nothing.
   * `objectKey` (from `newWriterObjectKey`, so a lease can name it first) defaults to a fresh one.
   */
  openObject(envelope: PendingEnvelope, objectKey?: string): ({ ok: true } & ObjectWriter) | { ok: false; failure: StorageFailure };
  /**
   * Deletes a streamed write's object that was never published (its commit lost or failed).
   * Refuses anything but `objects/<uuid>` (`isWriterObjectKey`): those may be shared.
   */
  discardObject(objectKey: string): Promise<void>;
  /** One page of family keys that have a pointer, under `prefix` (purges). */
  listKeys(prefix: string, cursor: string | undefined, limit: number): Promise<{ keys: string[]; cursor: string | null }>;
}

function envelopeMetadata(envelope: Envelope): Record<string, string> {
  const e = pickEnvelope(envelope);
  return { family: e.family, storedAt: String(e.storedAt), expiresAt: String(e.expiresAt), codec: e.codec, size: String(e.size), sha256: e.sha256 };
}

function envelopeFrom(meta: Record<string, string> | undefined): Envelope | undefined {
  if (meta === undefined) return undefined;
  const number = (text: string | undefined) => (text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : NaN);
  const envelope = {
    family: meta["family"],
    storedAt: number(meta["storedAt"]),
    expiresAt: number(meta["expiresAt"]),
    codec: meta["codec"],
    size: number(meta["size"]),
    sha256: meta["sha256"],
  };
  return isEnvelope(envelope) ? envelope : undefined;
}

function backendError(error: unknown): { ok: false; failure: StorageFailure } {
  return { ok: false, failure: { reason: "backend_error", message: `R2: ${error instanceof Error ? error.message : String(error)}` } };
}

function hex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function createR2Tier(bucket: R2Bucket): R2Tier {
  const pointerKey = (key: string) => `${POINTER_PREFIX}${key}`;

  async function readPointer(key: string): Promise<Pointer | undefined> {
    const head = await bucket.head(pointerKey(key));
    const envelope = envelopeFrom(head?.customMetadata);
    const objectKey = head?.customMetadata?.["object"];
    if (envelope === undefined || objectKey === undefined || !objectKey.startsWith(OBJECT_PREFIX)) return undefined;
    return { objectKey, envelope };
  }

  async function commitPointer(key: string, pointer: Pointer): Promise<PutResult> {
    if (!isEnvelope(pointer.envelope) || !pointer.objectKey.startsWith(OBJECT_PREFIX)) {
      return { ok: false, failure: { reason: "invalid_envelope", message: "a pointer needs a whole envelope and an object key" } };
    }
    const badKey = keyProblem(key);
    if (badKey !== null) return { ok: false, failure: { reason: "invalid_key", message: badKey } };
    try {
      await bucket.put(pointerKey(key), null, { customMetadata: { ...envelopeMetadata(pointer.envelope), object: pointer.objectKey } });
      return { ok: true };
    } catch (error) {
      return backendError(error);
    }
  }

  async function readObject(pointer: Pointer, range?: ByteRange): Promise<ReadableStream<Uint8Array> | undefined> {
    const object = await bucket.get(pointer.objectKey, range === undefined ? {} : { range });
    return object === null ? undefined : (object.body as ReadableStream<Uint8Array>);
  }

  function openObject(pending: PendingEnvelope, objectKey = newWriterObjectKey()): { ok: true } & ObjectWriter | { ok: false; failure: StorageFailure } {
    if (pending.size > MEDIA_MAX_OBJECT_BYTES) {
      return { ok: false, failure: { reason: "too_large", message: `object is ${pending.size} bytes, over the ${MEDIA_MAX_OBJECT_BYTES}-byte media limit`, size: pending.size, limit: MEDIA_MAX_OBJECT_BYTES } };
    }
    // Never over an object some pointer may already name.
    if (!isWriterObjectKey(objectKey)) return { ok: false, failure: { reason: "invalid_key", message: "a streamed write needs a fresh objects/<uuid> key" } };
    const digest = new crypto.DigestStream("SHA-256");
    const digestWriter = digest.getWriter();
    // Rejects when the write is abandoned; that failure is reported by `close`/`fail` instead.
    digest.digest.catch(() => undefined);
    // A known length is what lets R2 accept a stream; the object appears only once it is complete.
    const fixed = new FixedLengthStream(pending.size);
    const out = fixed.writable.getWriter();
    // The object's metadata lacks only the sha256, learnt at the end; the pointer has it all.
    const { sha256: _unknown, ...known } = envelopeMetadata({ ...pending, sha256: "" });
    const stored = bucket.put(objectKey, fixed.readable, { customMetadata: known });
    let storeError: unknown;
    stored.catch((error: unknown) => {
      storeError ??= error;
    });
    let written = 0;
    let problem: unknown;
    let batch: Uint8Array[] = [];
    let batched = 0;

    async function flush(): Promise<void> {
      if (batched === 0) return;
      const bytes = batch.length === 1 ? (batch[0] as Uint8Array) : concatBytes(batch);
      batch = [];
      batched = 0;
      await digestWriter.write(bytes);
      await out.write(bytes);
    }

    async function finish(): Promise<void> {
      await flush();
      // An R2 put is never left half-sent: the rest of a body that failed is zeros, and the
      // finished object is then deleted (an aborted upload is R2's to clean up, and noisy).
      for (let left = pending.size - written; left > 0 && storeError === undefined; left = pending.size - written) {
        const n = Math.min(PAD_CHUNK_BYTES, left);
        await out.write(new Uint8Array(n));
        written += n;
      }
      await out.close();
      await stored;
    }

    return {
      ok: true,
      objectKey,
      async write(chunk) {
        if (problem !== undefined || storeError !== undefined) return false;
        if (written + chunk.byteLength > pending.size) {
          problem = new Error(`body is longer than its ${pending.size} bytes`);
          return false;
        }
        try {
          batch.push(chunk);
          batched += chunk.byteLength;
          written += chunk.byteLength;
          if (batched >= WRITE_BATCH_BYTES) await flush();
          return true;
        } catch (error) {
          storeError ??= error;
          return false;
        }
      },
      async fail(reason) {
        problem ??= reason ?? new Error("abandoned");
        return this.close();
      },
      async close() {
        if (problem === undefined && written < pending.size) problem = new Error(`body ended after ${written} of ${pending.size} bytes`);
        try {
          await finish();
        } catch (error) {
          storeError ??= error;
        }
        const failure = problem ?? storeError;
        if (failure !== undefined) {
          await digestWriter.abort(failure).catch(() => undefined);
          // Nothing points at it; deleting it is tidiness, not correctness.
          await bucket.delete(objectKey).catch(() => undefined);
          return backendError(failure);
        }
        await digestWriter.close();
        return { ok: true, pointer: { objectKey, envelope: { ...pending, sha256: hex(await digest.digest) } } };
      },
    };
  }

  return {
    name: "r2",
    readPointer,
    readObject,
    openObject,
    async discardObject(objectKey) {
      if (isWriterObjectKey(objectKey)) await bucket.delete(objectKey);
    },
    commitPointer: (key, pointer) => commitPointer(key, pointer),

    async listKeys(prefix, cursor, limit) {
      const page = await bucket.list({ prefix: pointerKey(prefix), limit, ...(cursor === undefined || cursor === "" ? {} : { cursor }) });
      return { keys: page.objects.map((o) => o.key.slice(POINTER_PREFIX.length)), cursor: page.truncated ? page.cursor : null };
    },

    async delete(key) {
      await bucket.delete(pointerKey(key));
    },
  };
}
