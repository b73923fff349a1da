#!/usr/bin/env node
// `npm run bench`: inside workerd (vitest.bench.config.ts), one run: the journey render
// (bench/render.bench.ts) cold — every JWT freshly signed with jose — against the jose floor (the
// same six SignJWT calls), warm — this second's tokens reused — against the old renderer kept in
// bench/baseline/ as the baseline, and the renderer alone against a TransformStream passing the
// same bytes through; then the request path through the Worker's own fetch against the dev
// origin (bench/request-path.bench.ts: L1/L2 hit, miss with fill, delegated journey start,
// passthrough), as requests/s and ratios taken within each round; then peak memory of a 10 MiB
// render (bench/memory.ts, bundled with esbuild, run in Node with --expose-gc). Figures only;
// nothing is asserted. Ratios are time ratios per round, median of the rounds.
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
const path = grab(`${run.stdout}\n${run.stderr}`, "BENCH_PATH_JSON");
if (run.status !== 0 || render === null || path === null) {
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
const u = render.usPerOp;
const ps = render.perSecond;
const line = (label, key, note = "") =>
  console.log(`  ${label.padEnd(44)} ${String(ps[key]).padStart(7)}/s  ${u[key].toFixed(1).padStart(7)} µs${note ? `  ${note}` : ""}`);
console.log(`oseh-edge render bench (workerd, one isolate; journey-full: ${render.templateBytes} B template → ${render.renderedBytes} B, ${render.mintsPerRender} JWTs)`);
line("cold render (every JWT signed with jose)", "cold");
line(`jose floor (${render.mintsPerRender} SignJWT calls)`, "joseFloor");
line("warm render (this second's tokens reused)", "warm");
line("baseline: the old renderer + minter", "baseline", "(bench/baseline/renderer.ts)");
line("renderer alone (constant token)", "alone");
line("stream floor (pass-through TransformStream)", "streamFloor", "(same template bytes)");
line(`HMAC floor (${render.mintsPerRender} crypto.subtle.sign)`, "hmacFloor", "(for scale)");
const q = render.ratios;
console.log(`  cold / jose floor ${q.coldOverJoseFloor}× (target ≤ 1.5)   baseline / warm ${q.baselineOverWarm}× (target ≥ 8)   renderer / stream floor ${q.aloneOverStreamFloor}× (target ≤ 3)`);
console.log(`  jose floor / HMAC floor ${q.joseFloorOverHmacFloor}×   baseline / cold ${q.baselineOverCold}×   (time ratios per round, median of ${render.rounds.length})`);
{
  const p = path;
  const r = p.requestsPerSecond;
  const ms = p.msPerRequest;
  const x = (n) => `${n}×`;
  const row = (label, key, note = "") =>
    console.log(`  ${label.padEnd(40)} ${String(r[key]).padStart(6)} req/s  ${ms[key].toFixed(3).padStart(7)} ms/req${note ? `  ${note}` : ""}`);
  console.log(`request path via the Worker's fetch (workerd; dev origin over loopback HTTP; one request at a time,`);
  console.log(`  body read and waitUntil settled; median of ${p.rounds} rounds, ratios per round then median)`);
  console.log("  transcript GET /api/1/transcripts/{uid}");
  row("  L1 hit", "l1", `${p.bytes.l1} B`);
  row("  L2 hit (L1_CACHE=off)", "l2");
  row("  origin fill (fresh key)", "fill", "(values fetch + validate + KV/L1 write)");
  row("  origin fill without the shield", "fillNoShield", "(FAMILY_SHIELD removed: the isolate fills)");
  row("  values endpoint direct (fresh key)", "valuesDirect", "(the origin's share of a fill)");
  console.log(`    L1 hit / fill ${x(p.ratios.l1HitOverFill)}   L2 hit / fill ${x(p.ratios.l2HitOverFill)}   L1 / L2 ${x(p.ratios.l1HitOverL2Hit)}   fill / values-direct ${x(p.ratios.fillOverValuesDirect)}`);
  console.log("  journey start (POST start_journey_from_history)");
  row("  via edge, template cached", "journeyEdge", `${p.bytes.journeyEdge} B`);
  row("  direct, origin renders", "journeyDirect", `${p.bytes.journeyDirect} B`);
  row("  direct + X-Oseh-Edge (delegation doc)", "journeyDelegateDirect", "(the origin's share of a delegated start)");
  console.log(`    edge / direct ${x(p.ratios.journeyEdgeOverDirect)}   delegation-doc / direct ${x(p.ratios.journeyDelegateDirectOverDirect)}`);
  console.log("  passthrough GET /api/1/dev/echo");
  row("  via edge", "echoEdge");
  row("  direct", "echoDirect");
  console.log(`    edge / direct ${x(p.ratios.echoEdgeOverDirect)}`);
  const a = p.addedMs;
  console.log("  added ms/request (median of per-round differences)");
  console.log(`    passthrough: edge − direct ${a.echoEdgeMinusDirect}`);
  console.log(`    journey: edge − direct ${a.journeyEdgeMinusDirect}; edge − delegation-doc direct ${a.journeyEdgeMinusDelegateDirect} (edge's own share); delegation-doc − render at origin ${a.delegateDirectMinusJourneyDirect}`);
  console.log(`    fill: edge fill − values direct ${a.fillMinusValuesDirect} (edge's own share); of a fill, ${p.fillSplit.answerMs} until the answer is read, ${p.fillSplit.waitUntilMs} in waitUntil (KV + L1 writes)`);
    console.log(`    shield: fill − fill without the shield ${a.fillMinusFillNoShield} ms (what the family shield adds to a miss)`);
  const tally = Object.entries(p.tally)
    .map(([s, counts]) => `${s}: ${Object.entries(counts).map(([k, n]) => `${n}× ${k}`).join(", ")}`)
    .join("\n    ");
  console.log(`  answers (status cache-status)\n    ${tally}`);
}
if (memory !== null) {
  console.log(`memory (Node ${process.version}, 10 MiB value in ${kib(memory.chunkBytes)} chunks)`);
  console.log(`  peak heap+buffers over baseline      ${kib(memory.peakHeapPlusBuffersOverBaselineBytes)}`);
  console.log(`  peak live (after gc) over baseline   ${kib(memory.peakLiveAfterGcOverBaselineBytes)}`);
  console.log(`  peak RSS over baseline               ${kib(memory.peakRssOverBaselineBytes)}`);
  console.log(`  rendered bytes                       ${memory.renderedBytes}`);
} else {
  console.log("memory: not measured (bundle or run failed)");
}
