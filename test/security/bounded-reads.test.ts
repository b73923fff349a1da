/**
 * Bounded reads (docs/security.md): a client body the edge reads is read up to a cap and, past it,
 * forwarded unchanged without being held; an origin document must arrive whole within
 * ORIGIN_TIMEOUT_MS; a long streamed body is cut when it goes idle.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, inject, it, vi } from "vitest";
import { createWorker } from "../../src/index";
import { MAX_TOP_SHARERS_BODY_BYTES } from "../../src/routes/top-sharers-plan";
import { MAX_PROFILE_PICTURES_BODY_BYTES } from "../../src/routes/profile-pictures-plan";
import { MAX_EMOTIONS_BODY_BYTES } from "../../src/routes/emotions-plan";
import { withIdleTimeout } from "../../src/util/streams";
import { readAll } from "../../src/util/bytes";
import { freshId } from "../dev-origin/helpers";
import { devControlHeaders, gateOrigin, originUrl, seenRequests } from "../helpers/dev-origin";
import { idToken } from "../helpers/tokens";
import { callWorker, productionEnv } from "../helpers/worker";

const EDGE = "http://edge.test";
const wallNow = () => Math.floor(Date.now() / 1000);
const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

describe("client bodies: capped read, the rest streamed to the origin unchanged", () => {
  /**
   * A chunked POST of `chunks` × 64 KiB with no Content-Length and no auth to a route that reads
   * its body before any auth check: the origin must have the forwarded request before the edge
   * reads past `cap` + one chunk, and must receive the whole body, byte for byte.
   */
  async function expectForwardedEarly(path: string, cap: number, chunks: number): Promise<void> {
    const CHUNK = 64 * 1024;
    const target = `${path}?probe=${freshId("big")}`;
    const digest = new crypto.DigestStream("SHA-256");
    const digestWriter = digest.getWriter();
    let sent = 0;
    let readBeforeForward: number | undefined;
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          if (sent >= chunks * CHUNK) {
            controller.close();
            await digestWriter.close();
            return;
          }
          if (readBeforeForward === undefined && sent > 0) {
            // Going past the first chunk: the origin must already have the forwarded request.
            readBeforeForward = sent;
            for (let i = 0; i < 250 && (await seenRequests(target)).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
            if ((await seenRequests(target)).length === 0) readBeforeForward = Number.POSITIVE_INFINITY;
          }
          const chunk = new Uint8Array(CHUNK).fill(sent / CHUNK & 0xff);
          new DataView(chunk.buffer).setUint32(0, sent);
          sent += CHUNK;
          await digestWriter.write(chunk);
          controller.enqueue(chunk);
        },
      },
      { highWaterMark: 0 },
    );
    const request = new Request(`${EDGE}${target}`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(request.headers.has("content-length")).toBe(false);
    // The dev origin answers only once it has read (and hashed) the whole body: give its head time.
    const patient = { ...(env as unknown as Record<string, unknown>), ORIGIN_TIMEOUT_MS: "60000" };
    const response = await callWorker(request, undefined, { now: wallNow(), env: patient });
    expect(response.status).toBe(404); // the dev origin's answer for a route it does not have
    expect(response.headers.get("Cache-Status")).toBe("oseh-edge; fwd=bypass");
    expect(readBeforeForward).toBeLessThanOrEqual(cap + CHUNK);
    // The origin received the whole body, byte for byte.
    const [seen] = await seenRequests(target);
    expect(seen?.bodyLength).toBe(chunks * CHUNK);
    expect(seen?.bodySha256).toBe(hex(await digest.digest));
  }

  it("a 64 MiB chunked POST to top_sharers (no Content-Length, no auth): the edge reads at most cap + one chunk before forwarding", async () => {
    await expectForwardedEarly("/api/1/admin/journey_share_links/top_sharers", MAX_TOP_SHARERS_BODY_BYTES, 1024);
  }, 60_000);

  it.each([
    ["/api/1/interactive_prompts/profile_pictures", MAX_PROFILE_PICTURES_BODY_BYTES],
    ["/api/1/emotions/personalized", MAX_EMOTIONS_BODY_BYTES],
  ])("a 4 MiB chunked POST to %s: the same capped read", async (path, cap) => {
    await expectForwardedEarly(path, cap, 64);
  }, 60_000);

  it("a small body that the edge reads and then passes through reaches the origin unchanged", async () => {
    const target = `/api/1/admin/journey_share_links/top_sharers?probe=${freshId("small")}`;
    const text = JSON.stringify({ start_date: "2024-01-01", end_date: "2024-01-08" });
    // A user token: the edge cannot judge it, so the request goes to the origin after the read.
    const response = await callWorker(`${EDGE}${target}`, { method: "POST", headers: { authorization: "bearer oseh_ut_x", "content-type": "application/json" }, body: text }, { now: wallNow() });
    expect(response.status).toBe(404);
    const [seen] = await seenRequests(target);
    expect(seen?.bodyLength).toBe(new TextEncoder().encode(text).length);
    expect(seen?.bodySha256).toBe(hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
  });
});

const TOP_SHARERS = "/api/1/admin/journey_share_links/top_sharers";
const ADMIN_SUB = "oseh_u_devAdmin0000000000001"; // an admin at the dev origin (docs/origin.md §8)

/** Unix seconds of the wall clock: the dev origin checks the edge's tokens against it. */
async function adminHeaders(): Promise<Record<string, string>> {
  return { "content-type": "application/json", authorization: `bearer ${await idToken(ADMIN_SUB, wallNow())}` };
}

/** Waits until `read()` stops changing (10 looks 50 ms apart) or reaches `whole`; its last value. */
async function settled(read: () => number, whole: number): Promise<number> {
  let last = -1;
  let same = 0;
  while (same < 10 && read() < whole) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (read() === last) same += 1;
    else [last, same] = [read(), 0];
  }
  return read();
}

describe("an admin's large top-sharers body: the cap read, the rest streamed with backpressure, never held", () => {
  it("while the origin holds the request, the edge pulls at most cap + two chunks + the kernel's socket buffers of a body of 64 MiB (or more); after release every byte arrives", async () => {
    const CHUNK = 64 * 1024;
    // What may sit between the client and a held origin: the cap and the read that passed it
    // (readPrefix), one chunk in the pipe's hands, and what the kernel's socket buffers hold
    // between the edge and the origin (test/global-setup.ts: tcp_wmem + tcp_rmem maxima).
    const bound = MAX_TOP_SHARERS_BODY_BYTES + 2 * CHUNK + inject("socketBufferMaxBytes");
    // 64 MiB of spaces as in the attack (docs/security.md §5), or twice the bound where this
    // machine's socket buffers are larger, so holding the whole body cannot pass for the bound.
    const CHUNKS = Math.max(1024, Math.ceil((2 * bound) / CHUNK));
    const WHOLE = CHUNK * CHUNKS;
    const target = `${TOP_SHARERS}?probe=${freshId("held")}`;
    const digest = new crypto.DigestStream("SHA-256");
    const digestWriter = digest.getWriter();
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          if (pulled >= WHOLE) {
            controller.close();
            await digestWriter.close();
            return;
          }
          const chunk = new Uint8Array(CHUNK).fill(0x20);
          pulled += CHUNK;
          await digestWriter.write(chunk);
          controller.enqueue(chunk);
        },
      },
      { highWaterMark: 0 },
    );
    const gate = await gateOrigin({ target });
    const worker = createWorker({ now: wallNow });
    const ctx = createExecutionContext();
    const request = new Request(`${EDGE}${target}`, { method: "POST", headers: await adminHeaders(), body });
    // The origin is held longer than the production head timeout would allow: pinned longer.
    const answered = worker.fetch!(request as Request<unknown, IncomingRequestCfProperties>, productionEnv({ ORIGIN_TIMEOUT_MS: "60000" }) as never, ctx);
    await gate.arrived(1);
    const whileHeld = await settled(() => pulled, WHOLE);
    expect(whileHeld).toBeLessThanOrEqual(bound);

    await gate.release();
    const response = await answered;
    expect(response.status).toBe(404); // the dev origin's answer for a route it does not have
    expect(response.headers.get("Cache-Status")).toBe("oseh-edge; fwd=bypass");
    await response.arrayBuffer();
    await waitOnExecutionContext(ctx);
    const [seen] = await seenRequests(target);
    expect(seen?.bodyLength).toBe(WHOLE);
    expect(seen?.bodySha256).toBe(hex(await digest.digest));
  }, 60_000);

  it("past the cap no byte of the body passes through the edge's JavaScript: the rest is piped by the runtime, and arrives whole", async () => {
    // A body the runtime produces (an origin response's stream, as a client's body is in
    // production), so the only way the Worker's code sees its bytes is a read of its own.
    const source = await fetch(originUrl("/api/1/dev/bytes?n=1048576"));
    const expected = hex(await crypto.subtle.digest("SHA-256", await (await fetch(originUrl("/api/1/dev/bytes?n=1048576"))).arrayBuffer()));
    const body = source.body as ReadableStream<Uint8Array>;
    // Wraps this one stream's reader: each read by JavaScript is recorded, then handed on as it came.
    const jsReads: number[] = [];
    const getReader = body.getReader.bind(body) as () => ReadableStreamDefaultReader<Uint8Array>;
    Object.defineProperty(body, "getReader", {
      value: () => {
        const reader = getReader();
        const read = reader.read.bind(reader);
        Object.defineProperty(reader, "read", {
          value: async () => {
            const next = await read();
            if (!next.done) jsReads.push(next.value.byteLength);
            return next;
          },
        });
        return reader;
      },
    });
    const target = `${TOP_SHARERS}?probe=${freshId("native")}`;
    const request = new Request(`${EDGE}${target}`, { method: "POST", headers: await adminHeaders(), body });
    const response = await callWorker(request, undefined, { now: wallNow(), env: productionEnv() });
    expect(response.status).toBe(404);
    // The reads stop at the first one that passes the cap (the plan needs no more).
    const beforeLast = jsReads.slice(0, -1).reduce((sum, n) => sum + n, 0);
    expect(beforeLast).toBeLessThanOrEqual(MAX_TOP_SHARERS_BODY_BYTES);
    expect(beforeLast + (jsReads.at(-1) ?? 0)).toBeGreaterThan(MAX_TOP_SHARERS_BODY_BYTES);
    const [seen] = await seenRequests(target);
    expect(seen?.bodyLength).toBe(1048576);
    expect(seen?.bodySha256).toBe(expected);
  });
});

describe("origin bodies: deadlines", () => {
  it("a delegation document whose head arrives and then stalls → 504 within ORIGIN_TIMEOUT_MS", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const doc = JSON.stringify({ key: "journeys:external:oseh_j_devFull0000000000000001", jwt: "a.b.c" });
    const response = await callWorker(
      `${EDGE}/api/1/dev/delegate?stall=1`,
      { method: "POST", headers: devControlHeaders(), body: doc },
      { now: wallNow(), env: { ...(env as unknown as Record<string, unknown>), ORIGIN_TIMEOUT_MS: "300" } },
    );
    const logged = errors.mock.calls.map((c) => c.join(" "));
    errors.mockRestore();
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({ type: "origin_timeout", message: "the origin did not answer in time" });
    expect(logged).toEqual([JSON.stringify({ msg: "delegation document did not arrive whole", timeoutMs: 300 })]);
  });

  it("withIdleTimeout passes a body through and cuts one that goes silent", async () => {
    const chunks = [Uint8Array.of(1, 2), Uint8Array.of(3)];
    const flowing = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(next);
      },
    });
    expect(await readAll(withIdleTimeout(flowing, 1000))).toEqual(Uint8Array.of(1, 2, 3));

    let cancelled: unknown;
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(Uint8Array.of(9));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const reader = withIdleTimeout(stalled, 30).getReader();
    expect((await reader.read()).value).toEqual(Uint8Array.of(9));
    await expect(reader.read()).rejects.toMatchObject({ name: "TimeoutError" });
    expect(cancelled).toMatchObject({ name: "TimeoutError" });
  });
});
