/**
 * Peak memory while rendering a large stored value in small chunks. Runs in Node (workerd has
 * no memory counters): scripts/bench.mjs bundles this file with esbuild and runs it with
 * --expose-gc. Prints one `BENCH_MEMORY_JSON {…}` line.
 */
import { createTokenService } from "../src/auth/jwt";
import { createRenderStream } from "../src/render/stream";

declare const process: {
  memoryUsage(): { rss: number; heapUsed: number; arrayBuffers: number };
};
declare const gc: () => void;

const VALUE_BYTES = 10 * 1024 * 1024;
const CHUNK_BYTES = 16 * 1024;

function header(length: number, type: number): Uint8Array {
  const out = new Uint8Array(5);
  new DataView(out.buffer).setUint32(0, length);
  out[4] = type;
  return out;
}

/** The stored value, produced lazily: type-1 (10 MiB) · type-3 uid · type-1 `"}`. */
function storedValue(): ReadableStream<Uint8Array> {
  const uid = new TextEncoder().encode("oseh_if_bg7Hn2JdQ4x1LzP0aY6sCw");
  let sent = 0;
  let stage = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (stage === 0) {
        controller.enqueue(header(VALUE_BYTES, 1));
        stage = 1;
      } else if (stage === 1) {
        const size = Math.min(CHUNK_BYTES, VALUE_BYTES - sent);
        controller.enqueue(new Uint8Array(size).fill(0x61));
        sent += size;
        if (sent === VALUE_BYTES) stage = 2;
      } else if (stage === 2) {
        controller.enqueue(new Uint8Array([...header(uid.length, 3), ...uid, ...header(2, 1), 0x22, 0x7d]));
        stage = 3;
      } else {
        controller.close();
      }
    },
  });
}

const used = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

async function main(): Promise<void> {
  const tokens = createTokenService({
    imageFile: "test-image-secret",
    contentFile: "c",
    transcript: "t",
    journey: "j",
    interactivePrompt: "p",
    idToken: "i",
    edgeAdmin: "a",
    edgeOrigin: "o",
  });
  gc();
  const baseline = used();
  const baselineRss = process.memoryUsage().rss;
  let peak = baseline;
  let peakLive = baseline;
  let peakRss = baselineRss;
  let total = 0;
  const reader = storedValue()
    .pipeThrough(createRenderStream({ kind: "journey", journeyJwt: "", signer: tokens, now: () => 1700000000 }))
    .getReader();
  for (let n = 0; ; n++) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (n % 16 === 0) {
      peak = Math.max(peak, used());
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    if (n % 64 === 32) {
      // Live memory: what the render actually retains mid-stream, garbage excluded.
      gc();
      peakLive = Math.max(peakLive, used());
    }
  }
  console.log(
    `BENCH_MEMORY_JSON ${JSON.stringify({
      valueBytes: VALUE_BYTES,
      chunkBytes: CHUNK_BYTES,
      renderedBytes: total,
      peakHeapPlusBuffersOverBaselineBytes: peak - baseline,
      peakLiveAfterGcOverBaselineBytes: peakLive - baseline,
      peakRssOverBaselineBytes: peakRss - baselineRss,
    })}`,
  );
}

void main();
