/**
 * The media store against real R2, the real shield and the dev origin: a slow client is moved to
 * R2 instead of being buffered for, a purge during a fill publishes nothing, and a second reader
 * during a fill waits for the object instead of downloading it again.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createTokenMemory } from "../../src/auth/jwt";
import { describe, expect, it } from "vitest";
import { inject } from "vitest";
import { devObjectSlice } from "../../dev/origin/fixtures/media";
import { parseConfig } from "../../src/config";
import { getFamily } from "../../src/keys";
import type { ReadScope } from "../../src/cache";
import { createStats } from "../../src/stats";
import { createMediaStore, FILL_CLIENT_BUFFER_BYTES, planRangeResponse } from "../../src/media";
import type { MediaFlights } from "../../src/media/store";
import { startFill } from "../../src/media/fill";
import { createOriginClient } from "../../src/origin";
import { createShieldClient } from "../../src/shield";
import { createR2Tier } from "../../src/storage";
import { readAll } from "../../src/util/bytes";
import { fillCount, freshId, setFault, wallNow } from "../dev-origin/helpers";
import { gateOrigin } from "../helpers/dev-origin";
import { captureConsoleErrors, eventRecords } from "../helpers/console";
import { wrapBinding } from "../helpers/faults";

const MEDIA = (env as { MEDIA: R2Bucket }).MEDIA;
const config = parseConfig({ ...(env as unknown as Record<string, unknown>), ORIGIN_URL: inject("originUrl") });
const S3 = getFamily("s3_files:{uid}");
if (S3 === undefined) throw new Error("s3_files is registered");
const whole = (size: number) => planRangeResponse({ range: null, ifRange: null, contentType: "audio/mp4", size });

/** One isolate's media fills in flight, shared by every store of this file as by an isolate's requests. */
const flights: MediaFlights = new Map();

function store(ctx: ExecutionContext, bucket: R2Bucket = MEDIA) {
  const shield = createShieldClient(env.FAMILY_SHIELD, { shards: config.shieldShards });
  const scope = (now: number): ReadScope => ({ now, waitUntil: (promise) => ctx.waitUntil(promise), stats: createStats(0, "media-test") });
  return {
    shield,
    scope,
    media: createMediaStore({
      r2: createR2Tier(bucket),
      origin: createOriginClient({ tokens: createTokenMemory(), config: { originUrl: config.originUrl, originTimeoutMs: config.originTimeoutMs, edgeOriginSecret: config.secrets.edgeOrigin } }),
      baseUrl: "https://edge.test",
      l1MaxAgeSeconds: 30,
      staleIfErrorSeconds: 300,
      collabMaxSeconds: config.collabMaxSeconds,
      leaseMs: config.mediaLeaseMs,
      flights,
      lease: (key, family, now, lease) => shield.lease(key, family, now, lease),
    }),
  };
}

/** A source of `size` bytes in 64 KiB chunks, counting how far it has been read. */
function countingSource(size: number) {
  const state = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= size) return controller.close();
      const n = Math.min(65536, size - state.pulled);
      controller.enqueue(new Uint8Array(n).fill(state.pulled / 65536));
      state.pulled += n;
    },
  });
  return { stream, state };
}

/** The real bucket, whose puts fail as a broken upload does: the body is cancelled, the put rejects. */
function refusingPuts(): R2Bucket {
  return wrapBinding(MEDIA, (method, args, forward) => {
    if (method !== "put") return forward();
    const error = new Error("R2 put failed: 500 Internal Server Error");
    const body = args[1];
    return body instanceof ReadableStream ? body.cancel(error).then(() => Promise.reject(error)) : Promise.reject(error);
  });
}

describe("media fill", () => {
  // The fills a test breaks on purpose are logged (src/media/store.ts): captured, not printed, and asserted.
  const logged = captureConsoleErrors(/^\{"msg":"media fill (failed|not stored)"/);

  it("a client that reads nothing does not hold the fill: R2 gets every byte, the client resumes from R2", async () => {
    const size = 3 * FILL_CLIENT_BUFFER_BYTES; // 12 MiB
    const r2 = createR2Tier(MEDIA);
    const writer = r2.openObject({ family: S3.name, codec: "bytes", storedAt: wallNow(), expiresAt: wallNow() + 900, size });
    expect(writer.ok).toBe(true);
    if (!writer.ok) return;
    const source = countingSource(size);
    const fill = startFill(source.stream, writer, r2);
    // Nobody reads the client: the whole object still goes to R2, and the client's queue stays
    // at the buffer bound instead of growing to the object's size.
    const written = await fill.written;
    expect(written.ok).toBe(true);
    expect(source.state.pulled).toBe(size);
    const bytes = await readAll(fill.client);
    expect(bytes.length).toBe(size);
    for (const at of [0, FILL_CLIENT_BUFFER_BYTES, size - 1]) expect(bytes[at]).toBe(Math.floor(at / 65536) & 0xff);
  });

  it("R2 refusing the upload does not fail the client: every byte comes from the origin, nothing is stored", async () => {
    const size = 3 * 65536 + 100;
    // The real bucket, whose puts fail as a broken upload does: the body is cancelled, the put rejects.
    const r2 = createR2Tier(refusingPuts());
    const writer = r2.openObject({ family: S3.name, codec: "bytes", storedAt: wallNow(), expiresAt: wallNow() + 900, size });
    expect(writer.ok).toBe(true);
    if (!writer.ok) return;
    const source = countingSource(size);
    const fill = startFill(source.stream, writer, r2);
    const bytes = await readAll(fill.client);
    expect(bytes.length).toBe(size);
    for (const at of [0, 65536, size - 1]) expect(bytes[at]).toBe(Math.floor(at / 65536) & 0xff);
    const written = await fill.written;
    expect(written.ok).toBe(false);
  });

  it("R2 refusing the upload of a large object: a client that reads nothing holds the origin at its buffer bound", async () => {
    const size = 3 * FILL_CLIENT_BUFFER_BYTES;
    const r2 = createR2Tier(refusingPuts());
    const writer = r2.openObject({ family: S3.name, codec: "bytes", storedAt: wallNow(), expiresAt: wallNow() + 900, size });
    expect(writer.ok).toBe(true);
    if (!writer.ok) return;
    const source = countingSource(size);
    const fill = startFill(source.stream, writer, r2);
    // Nothing to resume from: the origin is read only as fast as the client takes its bytes.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(source.state.pulled).toBeLessThanOrEqual(FILL_CLIENT_BUFFER_BYTES + 2 * 65536);
    const bytes = await readAll(fill.client);
    expect(bytes.length).toBe(size);
    expect(bytes[size - 1]).toBe(Math.floor((size - 1) / 65536) & 0xff);
    expect((await fill.written).ok).toBe(false);
  });

  it("R2 refusing a part's upload: the read is still answered whole, from the origin, and nothing is published", { timeout: 30000 }, async () => {
    const ctx = createExecutionContext();
    const { media, scope } = store(ctx, refusingPuts());
    const uid = `oseh_s3f_${freshId("r2refused")}`;
    const key = `s3_files:${uid}`;
    const read = await media.read(key, S3, scope(wallNow()), whole);
    expect(read).toMatchObject({ kind: "value", tier: "origin" });
    if (read.kind !== "value") return;
    expect(await readAll(read.value.body)).toEqual(devObjectSlice(uid, 0, 41_234));
    await waitOnExecutionContext(ctx);
    expect(eventRecords(logged.lines())).toEqual([expect.objectContaining({ msg: "media fill not stored", family: "s3_files:{uid}" })]);
    expect(await MEDIA.head(`pointers/${key}`)).toBeNull();
  });

  it("a purge that reaches the shield during a fill wins: the client is served, nothing is published", { timeout: 30000 }, async () => {
    const ctx = createExecutionContext();
    const { media, shield, scope } = store(ctx);
    const uid = `oseh_s3f_${freshId("p1MiB")}`;
    const key = `s3_files:${uid}`;
    const now = wallNow();
    const read = await media.read(key, S3, scope(now), whole);
    expect(read).toMatchObject({ kind: "value", state: "miss", tier: "origin", stored: true });
    if (read.kind !== "value") return;
    await shield.remove(key, S3, now); // an admin DELETE while the bytes stream
    expect(await readAll(read.value.body)).toEqual(devObjectSlice(uid, 0, 1024 * 1024));
    await waitOnExecutionContext(ctx);
    expect(await MEDIA.head(`pointers/${key}`)).toBeNull();
  });

  it("a second reader during a fill waits for the object: one origin download", { timeout: 30000 }, async () => {
    const ctx = createExecutionContext();
    const { media, scope } = store(ctx);
    const uid = `oseh_s3f_${freshId("c512KiB")}`;
    const key = `s3_files:${uid}`;
    const now = wallNow();
    const [first, second] = await Promise.all([media.read(key, S3, scope(now), whole), media.read(key, S3, scope(now), whole)]);
    const bodies = await Promise.all([first, second].map((r) => (r.kind === "value" ? readAll(r.value.body) : Promise.resolve(new Uint8Array()))));
    await waitOnExecutionContext(ctx);
    for (const body of bodies) expect(body).toEqual(devObjectSlice(uid, 0, 512 * 1024));
    expect(await fillCount(key)).toBe(1);
  });

  it("an origin failure after a PUT landed during the fill serves the PUT as the fresh value it is, not as stale", { timeout: 30000 }, async () => {
    // Found by the consistency check (docs/reliability.md "Consistency"): the read found no
    // pointer, asked the origin, an operator's PUT landed meanwhile, the origin failed; the
    // PUT's pointer, read again for a stale copy, was served labelled stale with the origin's error.
    const ctx = createExecutionContext();
    const { media, scope } = store(ctx);
    const uid = `oseh_s3f_${freshId("c64KiB")}`;
    const key = `s3_files:${uid}`;
    const now = wallNow();
    const gate = await gateOrigin({ key });
    await setFault(key, { kind: "status", status: 500 }, 1);
    const reading = media.read(key, S3, scope(now), whole);
    await gate.arrived();
    const bytes = new TextEncoder().encode("the operator's object");
    expect(await media.put(key, S3, { body: new Blob([bytes]).stream(), size: bytes.length, maxBytes: 1024 * 1024, now })).toEqual({ kind: "stored" });
    await gate.close();
    const read = await reading;
    expect(read).toMatchObject({ kind: "value", state: "hit" });
    if (read.kind !== "value") return;
    expect(read).not.toHaveProperty("originError");
    expect(await readAll(read.value.body)).toEqual(bytes);
    await waitOnExecutionContext(ctx);
    expect(eventRecords(logged.lines())).toEqual([expect.objectContaining({ msg: "media fill failed", status: 502 })]);
  });

  it("a purge that lands while a fill asks a failing origin leaves nothing to serve stale", { timeout: 30000 }, async () => {
    const ctx = createExecutionContext();
    const { media, shield, scope } = store(ctx);
    const uid = `oseh_s3f_${freshId("c64KiB")}`;
    const key = `s3_files:${uid}`;
    const stored = wallNow();
    const bytes = new TextEncoder().encode("an object past its expiry");
    expect(await media.put(key, S3, { body: new Blob([bytes]).stream(), size: bytes.length, maxBytes: 1024 * 1024, now: stored })).toEqual({ kind: "stored" });
    const pointer = await MEDIA.head(`pointers/${key}`);
    const expiresAt = Number((pointer?.customMetadata ?? {}).expiresAt ?? NaN);
    const now = expiresAt + 10; // past the expiry, within stale-if-error: the read starts with a stale copy in hand
    const gate = await gateOrigin({ key });
    await setFault(key, { kind: "status", status: 500 }, 1);
    const reading = media.read(key, S3, scope(now), whole);
    await gate.arrived();
    await shield.remove(key, S3, now); // an admin DELETE while the origin is asked
    await gate.close();
    expect(await reading).toMatchObject({ kind: "unavailable", reason: "origin_error" });
    await waitOnExecutionContext(ctx);
    expect(eventRecords(logged.lines())).toEqual([expect.objectContaining({ msg: "media fill failed", status: 502 })]);
  });
});
