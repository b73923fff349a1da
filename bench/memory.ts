/**
 * Peak memory while rendering a large stored value (in memory, as KV hands it over) through the
 * production renderer, read in its 64 KiB sections. Runs in Node (workerd has
 * no memory counters): scripts/bench.mjs bundles this file with esbuild and runs it with
 * --expose-gc. Prints one `BENCH_MEMORY_JSON {…}` line.
 */
import { createTokenMemory, createTokenService } from "../src/auth/jwt";
import { renderValue } from "../src/render/stream";

declare const process: {
  memoryUsage(): { rss: number; heapUsed: number; arrayBuffers: number };
};
declare const gc: () => void;

const VALUE_BYTES = 10 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024; // RENDER_SECTION_BYTES

function header(length: number, type: number): Uint8Array {
  const out = new Uint8Array(5);
  new DataView(out.buffer).setUint32(0, length);
  out[4] = type;
  return out;
}

/** The stored value: type-1 (10 MiB) · type-3 uid · type-1 `"}`. */
function storedValue(): Uint8Array {
  const uid = new TextEncoder().encode("oseh_if_bg7Hn2JdQ4x1LzP0aY6sCw");
  const tail = new Uint8Array([...header(uid.length, 3), ...uid, ...header(2, 1), 0x22, 0x7d]);
  const out = new Uint8Array(5 + VALUE_BYTES + tail.length);
  out.set(header(VALUE_BYTES, 1), 0);
  out.fill(0x61, 5, 5 + VALUE_BYTES);
  out.set(tail, 5 + VALUE_BYTES);
  return out;
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
  }, {}, createTokenMemory());
  const value = storedValue();
  gc();
  const baseline = used();
  const baselineRss = process.memoryUsage().rss;
  let peak = baseline;
  let peakLive = baseline;
  let peakRss = baselineRss;
  let total = 0;
  // The compiled template's runs are views of the value (no copy); a render adds a section at a time.
  const rendered = renderValue(value, { kind: "journey", journeyJwt: "", signer: tokens, now: () => 1700000000 });
  if (!rendered.ok) throw new Error(rendered.failure.message);
  const reader = rendered.body.getReader();
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
