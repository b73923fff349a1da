/**
 * An admin PUT of a media value (`s3_files:{uid}`; docs/admin-api.md, docs/storage-schema.md §R2):
 * its bytes go where a fill's go. They stream into a fresh `objects/<uuid>` under the family
 * shield's lease (renewed while they flow), and the pointer is published through the shield as a
 * write, so the media routes serve what was PUT, fills in flight lose to it, and a DELETE or purge
 * that reaches the shield during the upload overtakes it. Nothing is published half-way: an
 * upload that fails or loses leaves no object behind.
 */
import { computeExpiresAt, type FamilyEntry } from "../keys";
import { newWriterObjectKey, type R2Tier, type StorageFailure } from "../storage";
import { describeError } from "../log";
import { readCapped } from "../util/bytes";
import { startFill } from "./fill";
import { discardUnpublished, settleCommit, UNLEASED, type TakeLease } from "./publish";

export interface MediaPut {
  body: ReadableStream<Uint8Array> | null;
  /**
   * The request's Content-Length, when it sent one: the body then streams to R2 as it arrives
   * (R2 takes a stream only with its length known). Without one it is read first, up to `maxBytes`.
   */
  size: number | undefined;
  /** The admin API's cap on a value. */
  maxBytes: number;
  /** Unix seconds, whole. */
  now: number;
  /** `X-Edge-Expires-At`, when the writer sent it. */
  writerExpiresAt?: number;
  /** `X-Edge-Source-Time`, when the writer sent it. */
  sourceTime?: number;
}

export type MediaPutResult =
  | { kind: "stored" }
  | { kind: "bad_request"; message: string }
  | { kind: "too_large"; message: string }
  /** Not applied: older than the key's newest write (`late`), or overtaken during the upload. */
  | { kind: "superseded"; reason: "late" | "overtaken" }
  /** The shield could not be reached, or failed mid-commit: nothing applied; a retry is safe. */
  | { kind: "unavailable"; message: string }
  /** R2 refused the bytes or the pointer (or the body broke off): nothing stored. */
  | { kind: "not_stored"; failure: StorageFailure };

export interface MediaPutDeps {
  r2: R2Tier;
  /** Absent without a shield: the pointer is published directly. */
  lease?: TakeLease;
  leaseMs: number;
  collabMaxSeconds: number;
}

export async function putMedia(deps: MediaPutDeps, key: string, family: FamilyEntry, input: MediaPut): Promise<MediaPutResult> {
  const { r2 } = deps;
  const refuse = async (result: MediaPutResult): Promise<MediaPutResult> => {
    await input.body?.cancel().catch(() => undefined);
    return result;
  };
  const expiry = computeExpiresAt(family, input.now, {
    collabMaxSeconds: deps.collabMaxSeconds,
    ...(input.writerExpiresAt === undefined ? {} : { writerExpiresAt: input.writerExpiresAt }),
  });
  if (!expiry.ok) return refuse({ kind: "bad_request", message: expiry.reason });

  let body: ReadableStream<Uint8Array>;
  let size: number;
  if (input.size === undefined) {
    // No length up front: held, at most the API's cap, as every other family's PUT is.
    const read = await readCapped(input.body, input.maxBytes);
    if (!read.ok) return { kind: "too_large", message: `value exceeds ${input.maxBytes} bytes` };
    body = new Blob([read.bytes]).stream();
    size = read.bytes.byteLength;
  } else {
    if (input.size > input.maxBytes) return refuse({ kind: "too_large", message: `value of ${input.size} bytes exceeds ${input.maxBytes}` });
    body = input.body ?? new Blob([]).stream();
    size = input.size;
  }

  const objectKey = newWriterObjectKey();
  let lease = UNLEASED;
  if (deps.lease !== undefined) {
    try {
      lease = await deps.lease(key, family, input.now, { ttlMs: deps.leaseMs, objectKey });
    } catch (error) {
      await body.cancel().catch(() => undefined);
      return { kind: "unavailable", message: `write not applied: ${describeError(error)}` };
    }
  }
  const writer = r2.openObject({ family: family.name, codec: family.codec.name, storedAt: input.now, expiresAt: expiry.expiresAt, size }, objectKey);
  if (!writer.ok) {
    // Nothing written; the lease lapses on its own.
    await body.cancel().catch(() => undefined);
    return { kind: "not_stored", failure: writer.failure };
  }
  // A fill's pump with nobody reading: R2 sets the pace, so nothing is held whatever the size.
  const upload = startFill(body, writer, r2, () => lease.progress());
  void upload.client.cancel("an admin PUT has no reader").catch(() => undefined);
  const written = await upload.written;
  // A failed write has deleted its object already.
  if (!written.ok) return { kind: "not_stored", failure: written.failure };

  const { pointer } = written;
  const write = { valueExpiresAt: expiry.expiresAt, ...(input.sourceTime === undefined ? {} : { sourceTime: input.sourceTime }) };
  const commit = await settleCommit(key, () => lease.commitWrite(() => r2.commitPointer(key, pointer, input.now), input.now, write));
  if (!commit.ok) {
    const published = await discardUnpublished(r2, key, pointer.objectKey, true);
    return published ? { kind: "stored" } : { kind: "unavailable", message: "write not applied: the shield failed during the commit" };
  }
  const { answer } = commit;
  if (answer.applied && answer.result.ok) return { kind: "stored" };
  await discardUnpublished(r2, key, pointer.objectKey, false);
  if (!answer.applied) return { kind: "superseded", reason: answer.reason };
  return answer.result.ok ? { kind: "stored" } : { kind: "not_stored", failure: answer.result.failure };
}
