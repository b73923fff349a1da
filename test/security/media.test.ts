/**
 * The media findings of the attack review (docs/security.md §5), through the Worker's own fetch in
 * the production configuration (shield bound, L0 and L1 on, every setting pinned:
 * `productionEnv`, test/helpers/worker.ts), on the real R2, Cache API and Durable Objects, with
 * the dev origin over HTTP. Faults come from wrappers around the real bindings
 * (test/helpers/faults.ts).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { devObjectSize, devObjectSlice } from "../../dev/origin/fixtures/media";
import { createWorker } from "../../src/index";
import { clearFault, fillCount, freshId, setFault, wallNow } from "../dev-origin/helpers";
import { breakDefaultCache, CACHE_ERROR, countBytes, wrapBinding, wrapShieldNamespace } from "../helpers/faults";
import { adminToken } from "../helpers/tokens";
import { fileIsolate, productionEnv } from "../helpers/worker";
import { captureLogs } from "../reliability/helpers";
import { resourceToken } from "../routes/helpers";

const BASE = "https://edge.test";
const CONTENT_FILE = "oseh_cf_devAudio00000000000001";
const MEDIA = (env as unknown as { MEDIA: R2Bucket }).MEDIA;
const SHIELD = (env as unknown as { FAMILY_SHIELD: DurableObjectNamespace }).FAMILY_SHIELD;

afterEach(() => vi.restoreAllMocks());

/** A fresh content export part of `size` (a dev-origin marker like `64KiB`). */
function freshPart(size: string) {
  const tail = freshId(`p${size}x`);
  const objectUid = `oseh_s3f_${tail}`;
  return { path: `/api/1/content_files/exports/parts/oseh_cfep_${tail}.mp4`, objectUid, key: `s3_files:${objectUid}`, size: devObjectSize(objectUid) };
}

async function partHeaders(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return { authorization: `bearer ${await resourceToken("content", CONTENT_FILE, wallNow())}`, ...extra };
}

/**
 * One request through the Worker, in this file's isolate (as one isolate's requests share its
 * fills in flight); its background work is left running (`ctx`).
 */
async function begin(request: Request, testEnv: Record<string, unknown>): Promise<{ response: Response; ctx: ExecutionContext }> {
  const ctx = createExecutionContext();
  const response = await createWorker({ now: wallNow, isolate: fileIsolate }).fetch!(request as Request<unknown, IncomingRequestCfProperties>, testEnv as never, ctx);
  return { response, ctx };
}

/** One request, its body read and its background work settled. */
async function call(request: Request, testEnv: Record<string, unknown>): Promise<{ response: Response; bytes: Uint8Array }> {
  const { response, ctx } = await begin(request, testEnv);
  const bytes = new Uint8Array(await response.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { response, bytes };
}

/** Fails with `what` if `promise` has not settled within `ms`: a hang becomes an assertion. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** The real bucket, recording the object keys written through it (fills and PUTs). */
function recordingMedia() {
  const objects: string[] = [];
  const bucket = wrapBinding(MEDIA, (method, args, forward) => {
    if (method === "put" && String(args[0]).startsWith("objects/")) objects.push(String(args[0]));
    return forward();
  });
  return { bucket, objects };
}

/** Whether `bytes` are the object's `[offset, offset + length)`: toEqual walks a large array for seconds. */
function isSlice(bytes: Uint8Array, objectUid: string, offset: number, length: number): boolean {
  const expected = devObjectSlice(objectUid, offset, length);
  return bytes.byteLength === expected.byteLength && bytes.every((byte, i) => byte === expected[i]);
}

const get = (path: string, headers: Record<string, string>) => new Request(`${BASE}${path}`, { headers });
const pointerOf = async (key: string) => (await MEDIA.head(`pointers/${key}`))?.customMetadata?.["object"];

describe("a failed shield commit does not hang the key (finding 2)", () => {
  it("the first fill's commit rejects: a reader waiting on it is answered, by a fill of its own", { timeout: 30_000 }, async () => {
    const part = freshPart("256KiB");
    const media = recordingMedia();
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let commits = 0;
    let pointerReads = 0;
    let secondReaderLooked: () => void = () => undefined;
    const looked = new Promise<void>((resolve) => (secondReaderLooked = resolve));
    const testEnv = productionEnv({
      // The first commit is held until the second reader waits on the fill, then rejects as a
      // reset Durable Object's call does.
      FAMILY_SHIELD: wrapShieldNamespace(SHIELD, (method, _args, forward) => {
        if (method === "commitLease" && ++commits === 1) return gate.then(() => Promise.reject(new Error("Durable Object reset because its code was updated.")));
        return forward();
      }),
      MEDIA: wrapBinding(media.bucket, (method, args, forward) => {
        if (method === "head" && args[0] === `pointers/${part.key}` && ++pointerReads === 2) {
          return (forward() as Promise<unknown>).finally(() => secondReaderLooked());
        }
        return forward();
      }),
    });
    const { lines } = await captureLogs(async () => {
      const first = await begin(get(part.path, await partHeaders()), testEnv);
      expect(first.response.headers.get("cache-status")).toBe("oseh-edge; fwd=miss; stored");
      expect(isSlice(new Uint8Array(await first.response.arrayBuffer()), part.objectUid, 0, part.size)).toBe(true);

      // The first fill's bytes are all in R2 and its commit is held: a second reader finds no
      // pointer and waits for that fill.
      const second = begin(get(part.path, await partHeaders()), testEnv);
      await looked;
      await new Promise((resolve) => setTimeout(resolve, 50));
      openGate();
      const answered = await within(10_000, "the second reader", second);
      expect(answered.response.status).toBe(200);
      expect(answered.response.headers.get("cache-status")).toBe("oseh-edge; fwd=miss; stored");
      expect(isSlice(new Uint8Array(await answered.response.arrayBuffer()), part.objectUid, 0, part.size)).toBe(true);
      await within(10_000, "the first request's background work", waitOnExecutionContext(first.ctx));
      await within(10_000, "the second request's background work", waitOnExecutionContext(answered.ctx));
    });
    expect(await fillCount(part.key)).toBe(2);
    // The second fill is published; the first one's object, never published, is gone.
    expect(media.objects).toHaveLength(2);
    expect(await pointerOf(part.key)).toBe(media.objects[1]);
    expect(await MEDIA.head(media.objects[0] as string)).toBeNull();
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      { msg: "media commit failed", family: "s3_files:{uid}", error: "Error", message: "Durable Object reset because its code was updated." },
    ]);
  });

  it("a commit that never answers: a waiting reader stops waiting once the fill has made no progress for a lease length", { timeout: 30_000 }, async () => {
    const part = freshPart("128KiB");
    const media = recordingMedia();
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let commits = 0;
    const testEnv = productionEnv({
      MEDIA_LEASE_MS: "500",
      // The first commit hangs (an overloaded object) until the end of the test.
      FAMILY_SHIELD: wrapShieldNamespace(SHIELD, (method, _args, forward) => {
        if (method === "commitLease" && ++commits === 1) return gate.then(forward);
        return forward();
      }),
      MEDIA: media.bucket,
    });
    const first = await begin(get(part.path, await partHeaders()), testEnv);
    expect(new Uint8Array(await first.response.arrayBuffer()).byteLength).toBe(part.size);
    const second = await within(10_000, "the second reader", call(get(part.path, await partHeaders()), testEnv));
    expect(second.response.headers.get("cache-status")).toBe("oseh-edge; fwd=miss; stored");
    expect(isSlice(second.bytes, part.objectUid, 0, part.size)).toBe(true);
    expect(await fillCount(part.key)).toBe(2);
    // The held commit arrives after its lease lapsed: refused, its object removed.
    openGate();
    await within(10_000, "the first request's background work", waitOnExecutionContext(first.ctx));
    expect(await pointerOf(part.key)).toBe(media.objects[1]);
    expect(await MEDIA.head(media.objects[0] as string)).toBeNull();
  });
});

describe("admin PUT of s3_files goes to R2 (finding 6)", () => {
  const admin = async () => ({ authorization: `Bearer ${await adminToken(wallNow())}` });
  const keyPath = (key: string) => `${BASE}/_edge/v1/keys/${encodeURIComponent(key)}`;
  const SEVENTEEN = new TextEncoder().encode("seventeen bytes!!");

  it("after a fill, a PUT of 17 bytes is what the part route serves (hit from R2) and what the admin GET returns", { timeout: 30_000 }, async () => {
    const testEnv = productionEnv();
    const part = freshPart("64KiB");
    const filled = await call(get(part.path, await partHeaders()), testEnv);
    expect(filled.bytes.byteLength).toBe(part.size);
    // The old object is hot in this colo's cache too: the PUT must not be hidden by it.
    await call(get(part.path, await partHeaders()), testEnv);

    const put = await call(new Request(keyPath(part.key), { method: "PUT", body: SEVENTEEN, headers: { ...(await admin()), "content-length": "17" } }), testEnv);
    expect(put.response.status).toBe(204);

    const served = await call(get(part.path, await partHeaders()), testEnv);
    expect(served.response.status).toBe(200);
    expect(served.response.headers.get("cache-status")).toBe("oseh-edge; hit; detail=r2");
    expect(served.response.headers.get("content-length")).toBe("17");
    expect(served.bytes).toEqual(SEVENTEEN);
    const ranged = await call(get(part.path, await partHeaders({ range: "bytes=-3" })), testEnv);
    expect([ranged.response.status, new TextDecoder().decode(ranged.bytes)]).toEqual([206, "s!!"]);

    const read = await call(new Request(keyPath(part.key), { headers: await admin() }), testEnv);
    expect(read.response.status).toBe(200);
    expect(read.bytes).toEqual(SEVENTEEN);
    expect(read.response.headers.get("x-edge-family")).toBe("s3_files:{uid}");
    expect(await env.CACHE.get(part.key)).toBeNull(); // not KV
    expect(await fillCount(part.key)).toBe(1);
  });

  it("a body without a Content-Length (chunked) is stored the same way", { timeout: 30_000 }, async () => {
    const testEnv = productionEnv();
    const part = freshPart("16KiB");
    const body = new Blob([SEVENTEEN]).stream();
    const put = await call(new Request(keyPath(part.key), { method: "PUT", body, headers: await admin() }), testEnv);
    expect(put.response.status).toBe(204);
    const served = await call(get(part.path, await partHeaders()), testEnv);
    expect([served.response.headers.get("cache-status"), new TextDecoder().decode(served.bytes)]).toEqual(["oseh-edge; hit; detail=r2", "seventeen bytes!!"]);
    expect(await fillCount(part.key)).toBe(0);
  });

  it("a DELETE that reaches the shield while the PUT uploads overtakes it: 409, nothing published, nothing left", { timeout: 30_000 }, async () => {
    const media = recordingMedia();
    const testEnv = productionEnv({ MEDIA: media.bucket });
    const part = freshPart("16KiB");
    let source: ReadableStreamDefaultController<Uint8Array> | undefined;
    let pulled: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (pulled = resolve));
    const body = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          source = controller;
        },
        pull() {
          pulled();
        },
      },
      { highWaterMark: 0 }, // pulled only when the edge reads: after it holds the lease
    );
    const put = call(new Request(keyPath(part.key), { method: "PUT", body, headers: { ...(await admin()), "content-length": "17" }, duplex: "half" } as RequestInit), testEnv);
    await started; // the lease is held and the upload has begun
    source?.enqueue(SEVENTEEN.subarray(0, 8));
    const removed = await call(new Request(keyPath(part.key), { method: "DELETE", headers: await admin() }), testEnv);
    expect(removed.response.status).toBe(204);
    source?.enqueue(SEVENTEEN.subarray(8));
    source?.close();
    const answer = await put;
    expect(answer.response.status).toBe(409);
    expect(JSON.parse(new TextDecoder().decode(answer.bytes))).toMatchObject({ type: "superseded" });
    expect(await MEDIA.head(`pointers/${part.key}`)).toBeNull();
    expect(media.objects).toHaveLength(1);
    expect(await MEDIA.head(media.objects[0] as string)).toBeNull();
  });

  it("bad input and faults store nothing: too large, an older X-Edge-Source-Time, a shield that cannot be reached", { timeout: 30_000 }, async () => {
    const media = recordingMedia();
    const part = freshPart("16KiB");
    const headers = await admin();
    const tooLarge = await call(new Request(keyPath(part.key), { method: "PUT", body: SEVENTEEN, headers: { ...headers, "content-length": String(26_214_401) } }), productionEnv({ MEDIA: media.bucket }));
    expect(tooLarge.response.status).toBe(413);

    const now = wallNow();
    const removed = await call(new Request(keyPath(part.key), { method: "DELETE", headers: { ...headers, "x-edge-source-time": String(now) } }), productionEnv());
    expect(removed.response.status).toBe(204);
    const older = await call(new Request(keyPath(part.key), { method: "PUT", body: SEVENTEEN, headers: { ...headers, "x-edge-source-time": String(now - 10) } }), productionEnv({ MEDIA: media.bucket }));
    expect(older.response.status).toBe(409);

    const { result: down, lines } = await captureLogs(() =>
      call(
        new Request(keyPath(part.key), { method: "PUT", body: SEVENTEEN, headers }),
        productionEnv({
          MEDIA: media.bucket,
          FAMILY_SHIELD: wrapShieldNamespace(SHIELD, (method, _args, forward) => (method === "lease" ? Promise.reject(new Error("Durable Object is overloaded")) : forward())),
        }),
      ),
    );
    expect(down.response.status).toBe(503);
    expect(JSON.parse(new TextDecoder().decode(down.bytes))).toEqual({ type: "storage_error", message: "write not applied: Durable Object is overloaded" });
    expect(lines).toEqual([]);

    expect(await MEDIA.head(`pointers/${part.key}`)).toBeNull();
    // Only the late PUT wrote an object (before the shield judged it), and it is gone.
    expect(media.objects).toHaveLength(1);
    expect(await MEDIA.head(media.objects[0] as string)).toBeNull();
  });

  it("without the shield binding, the PUT is published directly and served", { timeout: 30_000 }, async () => {
    const part = freshPart("16KiB");
    const { lines } = await captureLogs(async () => {
      const testEnv = productionEnv({ FAMILY_SHIELD: undefined });
      const put = await call(new Request(keyPath(part.key), { method: "PUT", body: SEVENTEEN, headers: await admin() }), testEnv);
      expect(put.response.status).toBe(204);
      const served = await call(get(part.path, await partHeaders()), testEnv);
      expect(served.bytes).toEqual(SEVENTEEN);
    });
    // The once-per-isolate warning, if this isolate had not said it yet.
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ msg: "FAMILY_SHIELD binding absent" });
  });
});

describe("a small range of a large L1 object reads that range only (finding 7)", () => {
  /** The real colo cache, counting the bytes the Worker reads out of `match` answers. */
  function countingCache() {
    const read = { bytes: 0 };
    const wrapped = wrapBinding(caches.default, (method, _args, forward) => {
      if (method !== "match") return forward();
      return (forward() as Promise<Response | undefined>).then((response) => (response?.body == null ? response : new Response(countBytes(response.body, read), response)));
    });
    vi.spyOn(caches, "default", "get").mockReturnValue(wrapped);
    return read;
  }

  it("Range: bytes=-1 and bytes=0-0,-1 on an 8 MiB part served from L1 read 1 and 2 bytes of the copy", { timeout: 60_000 }, async () => {
    const testEnv = productionEnv();
    const part = freshPart("8MiB");
    const tiers: string[] = [];
    for (let i = 0; i < 2; i++) {
      const warm = await call(get(part.path, await partHeaders()), testEnv); // fill, then R2 (which copies it into L1)
      tiers.push(warm.response.headers.get("cache-status") ?? "");
    }
    expect(tiers).toEqual(["oseh-edge; fwd=miss; stored", "oseh-edge; hit; detail=r2"]);

    const read = countingCache();
    const last = await call(get(part.path, await partHeaders({ range: "bytes=-1" })), testEnv);
    expect(last.response.status).toBe(206);
    expect(last.response.headers.get("cache-status")).toBe("oseh-edge; hit; detail=l1");
    expect(last.response.headers.get("content-range")).toBe(`bytes ${part.size - 1}-${part.size - 1}/${part.size}`);
    expect(last.bytes).toEqual(devObjectSlice(part.objectUid, part.size - 1, 1));
    expect(read.bytes).toBe(1);

    read.bytes = 0;
    const both = await call(get(part.path, await partHeaders({ range: "bytes=0-0,-1" })), testEnv);
    expect(both.response.status).toBe(206);
    expect(both.response.headers.get("cache-status")).toBe("oseh-edge; hit; detail=l1");
    expect(read.bytes).toBe(2);

    read.bytes = 0;
    const whole = await call(get(part.path, await partHeaders()), testEnv);
    expect(whole.bytes.byteLength).toBe(part.size);
    expect(read.bytes).toBe(part.size); // the whole object is still one bare read
  });

  it("the Cache API failing on a media read: the slice comes from R2", { timeout: 30_000 }, async () => {
    const testEnv = productionEnv();
    const part = freshPart("64KiB");
    for (let i = 0; i < 2; i++) await call(get(part.path, await partHeaders()), testEnv); // fill; R2 (copied into L1)
    const headers = await partHeaders({ range: "bytes=-10" });
    const broken = breakDefaultCache({ match: true });
    try {
      const { result, lines } = await captureLogs(() => call(get(part.path, headers), testEnv));
      expect(result.response.status).toBe(206);
      expect(result.response.headers.get("cache-status")).toBe("oseh-edge; hit; detail=r2");
      expect(result.bytes).toEqual(devObjectSlice(part.objectUid, part.size - 10, 10));
      expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([{ msg: "media L1 read failed", error: "Error", message: CACHE_ERROR }]);
    } finally {
      broken.restore();
    }
  });
});

describe("media leases are renewed while bytes flow, and a stopped write leaves nothing (finding 8)", () => {
  it("with a 1 s lease, a fill trickling for about 4 s still commits", { timeout: 60_000 }, async () => {
    const part = freshPart("1024KiB"); // 16 chunks of 64 KiB
    await setFault(part.key, { kind: "trickle", ms: 250 });
    try {
      const testEnv = productionEnv({ MEDIA_LEASE_MS: "1000" });
      const filled = await call(get(part.path, await partHeaders()), testEnv);
      expect(isSlice(filled.bytes, part.objectUid, 0, part.size)).toBe(true);
      expect(await MEDIA.head(`pointers/${part.key}`)).not.toBeNull();
      const again = await call(get(part.path, await partHeaders({ range: "bytes=0-0" })), testEnv);
      expect(again.response.headers.get("cache-status")).toBe("oseh-edge; hit; detail=r2");
      expect(await fillCount(part.key)).toBe(1);
    } finally {
      await clearFault(part.key);
    }
  });

  it("with a 300 ms lease, a fill that stalls past it is served but not published, and its object is gone", { timeout: 60_000 }, async () => {
    const part = freshPart("128KiB"); // 2 chunks, a second apart
    const media = recordingMedia();
    await setFault(part.key, { kind: "trickle", ms: 1000 }, 1);
    const testEnv = productionEnv({ MEDIA_LEASE_MS: "300", MEDIA: media.bucket });
    const filled = await call(get(part.path, await partHeaders()), testEnv);
    expect(filled.response.headers.get("cache-status")).toBe("oseh-edge; fwd=miss; stored");
    expect(isSlice(filled.bytes, part.objectUid, 0, part.size)).toBe(true);
    expect(await MEDIA.head(`pointers/${part.key}`)).toBeNull();
    expect(media.objects).toHaveLength(1);
    expect(await MEDIA.head(media.objects[0] as string)).toBeNull();
    // Nothing stored: the next reader fills again (at full speed), and that one is published.
    const again = await call(get(part.path, await partHeaders()), testEnv);
    expect(again.response.headers.get("cache-status")).toBe("oseh-edge; fwd=miss; stored");
    expect(await fillCount(part.key)).toBe(2);
    expect(await pointerOf(part.key)).toBe(media.objects[1]);
  });
});
