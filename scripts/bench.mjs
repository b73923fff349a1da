#!/usr/bin/env node
// `npm run bench`: journey render throughput inside workerd (vitest.bench.config.ts +
// bench/render.bench.ts) next to the bare HMAC signing floor, the fast and jose minters and the
// renderer alone, all from one run; then peak memory of a 10 MiB render in 16 KiB chunks
// (bench/memory.ts, bundled with the esbuild that vite already installs, run in Node with
// --expose-gc). Figures only; nothing is asserted.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";

function grab(output, tag) {
  const line = output.split("\n").find((l) => l.includes(`${tag} `));
  if (!line) return null;
  // vitest may colour console output; strip ANSI escapes before parsing.
  return JSON.parse(line.replace(/\x1b\[[0-9;]*m/g, "").slice(line.replace(/\x1b\[[0-9;]*m/g, "").indexOf(`${tag} `) + tag.length + 1));
}

const run = spawnSync("npx", ["vitest", "run", "--config", "vitest.bench.config.ts"], { encoding: "utf8" });
const render = grab(`${run.stdout}\n${run.stderr}`, "BENCH_JSON");
if (run.status !== 0 || render === null) {
  process.stdout.write(run.stdout);
  process.stderr.write(run.stderr);
  console.error("bench: the workerd run failed");
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), "oseh-edge-bench-"));
let memory = null;
try {
  const outfile = join(dir, "memory.mjs");
  await build({ entryPoints: ["bench/memory.ts"], bundle: true, platform: "node", format: "esm", outfile, logLevel: "error" });
  const mem = spawnSync(process.execPath, ["--expose-gc", outfile], { encoding: "utf8" });
  memory = grab(mem.stdout, "BENCH_MEMORY_JSON");
  if (memory === null) process.stderr.write(mem.stderr);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
console.log("oseh-edge render bench (workerd, one isolate)");
console.log(`  journey-full renders/s      ${render.rendersPerSecond}  (${render.mintsPerRender} JWT mints each, ${render.renderedBytes} B body)`);
console.log(`  HMAC floor signatures/s     ${render.floorSignaturesPerSecond}  (crypto.subtle.sign, cached key)`);
console.log(`  HMAC floor renders/s        ${render.floorRendersPerSecond}  (= floor / ${render.mintsPerRender})`);
console.log(`  ratio render / floor        ${render.ratioOfFloor}  (median of 5 back-to-back rounds)`);
console.log(`  fast mints/s (token service) ${render.fastMintsPerSecond}  (ratio to floor ${render.fastMintRatioOfFloor}, median)`);
console.log(`  jose SignJWT mints/s        ${render.joseMintsPerSecond}  (fast / jose ${render.fastOverJose}×, median)`);
console.log(`  renders/s, constant token   ${render.noMintRendersPerSecond}  (renderer alone; ratio ceiling ${render.ratioCeiling}, median)`);
if (memory !== null) {
  console.log(`memory (Node ${process.version}, 10 MiB value in ${kib(memory.chunkBytes)} chunks)`);
  console.log(`  peak heap+buffers over baseline      ${kib(memory.peakHeapPlusBuffersOverBaselineBytes)}`);
  console.log(`  peak live (after gc) over baseline   ${kib(memory.peakLiveAfterGcOverBaselineBytes)}`);
  console.log(`  peak RSS over baseline               ${kib(memory.peakRssOverBaselineBytes)}`);
  console.log(`  rendered bytes                       ${memory.renderedBytes}`);
} else {
  console.log("memory: not measured (bundle or run failed)");
}
