import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createR2Tier } from "../../src/storage/r2-tier";
import { NOW, uniquePrefix, valueOf } from "./helpers";
import { describeTierContract, r2Subject } from "./tier-contract";

const MEDIA = (env as { MEDIA: R2Bucket }).MEDIA;

describeTierContract("R2 tier", () => r2Subject(createR2Tier(MEDIA)), { checksWholeValues: false });

function chunked(bytes: Uint8Array, chunk = 1000): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

const pending = (size: number) => ({ family: "s3_files:{uid}", codec: "bytes", storedAt: NOW, expiresAt: NOW + 900, size });

/** What a fill does: feed the object writer chunk by chunk, then close it. */
async function writeObject(tier: ReturnType<typeof createR2Tier>, body: ReadableStream<Uint8Array>, size: number) {
  const writer = tier.openObject(pending(size));
  if (!writer.ok) return writer;
  const reader = body.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    if (!(await writer.write(next.value))) break;
  }
  return writer.close();
}

describe("R2 tier", () => {
  it("keeps the bytes under a fresh object key with the envelope in its metadata, behind a pointer that has it all", async () => {
    const tier = createR2Tier(MEDIA);
    const key = `${uniquePrefix("layout")}s3_files:oseh_s3f_x`;
    const value = await valueOf("object bytes");
    expect(await r2Subject(tier).put(key, value, NOW)).toEqual({ ok: true });
    const pointer = await tier.readPointer(key);
    expect(pointer?.objectKey).toMatch(/^objects\/[0-9a-f-]{36}$/);
    expect(pointer?.envelope).toEqual(value.envelope);
    // The object learns its sha256 only once its bytes have passed: the pointer carries it.
    const head = await MEDIA.head(pointer?.objectKey ?? "");
    expect(head?.customMetadata).toMatchObject({ family: "test:{id}", size: "12" });
    expect(head?.customMetadata?.["sha256"]).toBeUndefined();
  });

  it("a streamed object is hashed on the way and published only by commitPointer", async () => {
    const tier = createR2Tier(MEDIA);
    const key = `${uniquePrefix("stream")}s3_files:oseh_s3f_y`;
    const bytes = crypto.getRandomValues(new Uint8Array(10_000));
    const written = await writeObject(tier, chunked(bytes), bytes.length);
    expect(written.ok).toBe(true);
    if (!written.ok) return;
    expect(written.pointer.envelope.sha256).toBe((await valueOf(bytes)).envelope.sha256);
    expect(await tier.readPointer(key)).toBeUndefined();
    expect(await tier.commitPointer(key, written.pointer, NOW)).toEqual({ ok: true });
    const ranged = await tier.readObject(written.pointer, { offset: 100, length: 50 });
    expect(new Uint8Array(await new Response(ranged).arrayBuffer())).toEqual(bytes.slice(100, 150));
    // To the end, as a fill's client resumes from the finished object.
    const rest = await tier.readObject(written.pointer, { offset: 9_990 });
    expect(new Uint8Array(await new Response(rest).arrayBuffer())).toEqual(bytes.slice(9_990));
    expect((await r2Subject(tier).read(key, NOW))?.value.bytes).toEqual(bytes);
  });

  it("a body shorter or longer than the envelope's size stores nothing", async () => {
    const tier = createR2Tier(MEDIA);
    const bytes = new Uint8Array(5000);
    for (const size of [4999, 5001]) {
      const before = (await MEDIA.list({ prefix: "objects/" })).objects.length;
      const written = await writeObject(tier, chunked(bytes), size);
      expect(written).toMatchObject({ ok: false, failure: { reason: "backend_error" } });
      expect((await MEDIA.list({ prefix: "objects/" })).objects.length).toBe(before);
    }
  });

  it("a pointer with malformed metadata, or naming no object, is a miss", async () => {
    const tier = createR2Tier(MEDIA);
    const key = `${uniquePrefix("bad")}s3_files:oseh_s3f_z`;
    await MEDIA.put(`pointers/${key}`, null, { customMetadata: { family: "x", object: "objects/nope" } });
    expect(await tier.readPointer(key)).toBeUndefined();
    const value = await valueOf("v");
    await tier.commitPointer(key, { objectKey: "objects/never-written", envelope: value.envelope }, NOW);
    expect(await r2Subject(tier).read(key, NOW)).toBeUndefined();
  });
});
