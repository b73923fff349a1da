#!/usr/bin/env node
// `npm run bench`: inside workerd (vitest.bench.config.ts), one run: media (bench/media.bench.ts:
// a 4 MiB part from L1, R2 and passthrough, a 1 MiB range, a 40 MiB part with this run's workerd
// processes' RSS sampled from here, per phase); the journey render
// (bench/render.bench.ts) cold — every JWT freshly signed with jose — against the jose floor (the
// same six SignJWT calls), warm — this second's tokens reused — against the old renderer kept in
// bench/baseline/ as the baseline, and the renderer alone against the floors of the streams it
// could write into (its own pull stream, a JS TransformStream, workerd's native
// IdentityTransformStream and FixedLengthStream), each read by the runtime and by a JS reader;
// then the request path through the Worker's own fetch against the dev origin
// (bench/request-path.bench.ts: production settings — L0 on, the shield bound — beside L0 off:
// transcript and profile-pictures hits in L0/L1/L2, a miss with fill, the delegated journey start
// and its edge share, passthrough), as requests/s and ratios taken within each round; then peak
// memory of a 10 MiB render (bench/memory.ts, bundled with esbuild, run in Node with
// --expose-gc). Figures only; nothing is asserted. Ratios are per round, median of the rounds.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";

function grab(output, tag) {
  const line = output.split("\n").find((l) => l.includes(`${tag} `));
  if (!line) return null;
  // vitest may colour console output; strip ANSI escapes before parsing.
  return JSON.parse(line.replace(/\x1b\[[0-9;]*m/g, "").slice(line.replace(/\x1b\[[0-9;]*m/g, "").indexOf(`${tag} `) + tag.length + 1));
}

/** The parent pid of `pid` (Linux /proc), or 0. */
function parentOf(pid) {
  try {
    // `pid (comm) state ppid …`; comm may hold spaces, so read after the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return 0;
  }
}

function descendsFrom(pid, root) {
  for (let p = Number(pid), hops = 0; p > 1 && hops < 64; p = parentOf(p), hops++) if (p === root) return true;
  return false;
}

/** RSS (KiB) of this run's workerd processes (under `root`) now, by pid (Linux /proc; empty elsewhere). */
function workerdRss(root) {
  const out = {};
  let pids = [];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("workerd") || !descendsFrom(pid, root)) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (rss) out[pid] = Number(rss[1]);
    } catch {
      // the process ended between the listing and the read
    }
  }
  return out;
}

/** The workerd run, with every workerd process's RSS sampled every 50 ms (for the 40 MiB part). */
function runVitest() {
  return new Promise((resolve) => {
    const child = spawn("npx", ["vitest", "run", "--config", "vitest.bench.config.ts"]);
    let stdout = "";
    let stderr = "";
    const samples = [];
    // Only this run's workerd processes: other runs on the machine have their own.
    const timer = setInterval(() => samples.push({ at: Date.now(), rss: workerdRss(child.pid) }), 50);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => {
      clearInterval(timer);
      resolve({ status, stdout, stderr, samples });
    });
  });
}

/** Per workerd process: RSS at mark `from`, the peak until mark `to`, and at `to`. */
function memoryDuring(samples, marks, from, to) {
  if (!marks || marks[from] === undefined || marks[to] === undefined) return null;
  const within = samples.filter((s) => s.at >= marks[from] && s.at <= marks[to]);
  if (within.length === 0) return null;
  const first = within[0].rss;
  const last = within[within.length - 1].rss;
  return Object.keys(first).map((pid) => ({
    pid,
    startKiB: first[pid],
    peakKiB: Math.max(...within.map((s) => s.rss[pid] ?? 0)),
    endKiB: last[pid] ?? null,
  }));
}

const loadBefore = loadavg();
const startedAt = new Date();
const run = await runVitest();
const loadAfter = loadavg();
const render = grab(`${run.stdout}\n${run.stderr}`, "BENCH_JSON");
const path = grab(`${run.stdout}\n${run.stderr}`, "BENCH_PATH_JSON");
const media = grab(`${run.stdout}\n${run.stderr}`, "BENCH_MEDIA_JSON");
if (run.status !== 0 || render === null || path === null || media === null) {
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
const load = (l) => l.map((n) => n.toFixed(2)).join(" ");
console.log(`oseh-edge bench, ${startedAt.toISOString().slice(0, 16)}Z; ${cpus().length} × ${cpus()[0]?.model ?? "?"}; load average ${load(loadBefore)} before the workerd run, ${load(loadAfter)} after`);
{
  const u = render.usPerOp;
  const ps = render.perSecond;
  const line = (label, key, note = "") =>
    console.log(`  ${label.padEnd(50)} ${String(ps[key]).padStart(7)}/s  ${u[key].toFixed(1).padStart(7)} µs${note ? `  ${note}` : ""}`);
  const both = (label, key, note = "") =>
    console.log(`  ${label.padEnd(50)} ${u[`${key}Native`].toFixed(1).padStart(7)} µs  ${u[key].toFixed(1).padStart(7)} µs${note ? `  ${note}` : ""}`);
  console.log(`oseh-edge render bench (workerd, one isolate; journey-full: ${render.templateBytes} B template → ${render.renderedBytes} B, ${render.mintsPerRender} JWTs)`);
  line("cold render (every JWT signed with jose)", "cold");
  line(`jose floor (${render.mintsPerRender} SignJWT calls)`, "joseFloor");
  line(`HMAC floor (${render.mintsPerRender} crypto.subtle.sign)`, "hmacFloor", "(for scale)");
  console.log(`  ${"".padEnd(50)} ${"runtime".padStart(10)}  ${"JS reader".padStart(10)}   (who reads the body)`);
  both("warm render (this second's tokens reused)", "warm");
  both("baseline: the old renderer + minter", "baseline", "(bench/baseline/renderer.ts)");
  both("renderer alone (constant token)", "alone");
  both("floor: pull ReadableStream (the renderer's)", "pullFloor", "(the template's bytes, one chunk)");
  both("floor: JS TransformStream (the renderer before)", "transformFloor");
  both("floor: IdentityTransformStream (native)", "identityFloor");
  both("floor: FixedLengthStream (native)", "fixedFloor");
  const q = render.ratios;
  console.log(`  baseline / warm ${q.baselineOverWarmNative}× read by the runtime, ${q.baselineOverWarm}× by a JS reader (target ≥ 3)   cold / jose floor ${q.coldOverJoseFloor}× (target ≤ 1.5)`);
  console.log(`  renderer alone / its stream's floor ${q.aloneOverPullFloorNative}× (runtime), ${q.aloneOverPullFloor}× (JS reader)`);
  console.log(`  stream floors over the pull stream's, runtime: TransformStream ${q.transformOverPullFloorNative}×, IdentityTransformStream ${q.identityOverPullFloorNative}×, FixedLengthStream ${q.fixedOverPullFloorNative}×`);
  console.log(`                                   JS reader: TransformStream ${q.transformOverPullFloor}×, IdentityTransformStream ${q.identityOverPullFloor}×, FixedLengthStream ${q.fixedOverPullFloor}×`);
  console.log(`  jose floor / HMAC floor ${q.joseFloorOverHmacFloor}×   (time ratios per round, median of ${render.rounds.length})`);
}
{
  const p = path;
  const sc = p.scenarios;
  const cell = (key) => (key === undefined || sc[key] === undefined ? "".padStart(17) : `${String(sc[key].requestsPerSecond).padStart(6)}/s ${sc[key].msPerRequest.toFixed(2).padStart(7)} ms`);
  const row = (label, production, l0Off, other, note = "") =>
    console.log(`  ${label.padEnd(38)} ${cell(production)}  ${cell(l0Off)}  ${cell(other)}${note ? `  ${note}` : ""}`);
  console.log(`request path via the Worker's fetch (workerd; dev origin over loopback HTTP; one request at a time,`);
  console.log(`  body read and waitUntil settled; median of ${p.rounds} rounds, ratios and differences per round then median)`);
  console.log(`  ${"".padEnd(38)} ${"production".padStart(17)}  ${"L0 off".padStart(17)}  ${"L2 / direct".padStart(17)}`);
  console.log(`  ${"".padEnd(38)} ${"(L0, shield)".padStart(17)}  ${"".padStart(17)}  ${"(L0+L1 off)".padStart(17)}`);
  row("transcript hit (L0 | L1 | L2)", "transcriptL0", "transcriptL1", "transcriptL2", `${sc.transcriptL0.bytes} B`);
  row("profile pictures, limit 5 (L0 | L1 | L2)", "pictures5L0", "pictures5L1", "pictures5L2", `${sc.pictures5L0.bytes} B`);
  row("profile pictures, limit 10 (L0 | L1 | L2)", "pictures10L0", "pictures10L1", "pictures10L2", `${sc.pictures10L0.bytes} B`);
  row("transcript fill (fresh key)", "fill", "fillL0Off", "valuesDirect", "(direct: the values endpoint alone)");
  row("transcript fill without the shield", "fillNoShield", undefined, undefined);
  row("journey start via the edge", "journeyEdge", "journeyEdgeL0Off", "journeyDelegateDirect", "(direct: the delegation document alone)");
  row("journey start, the origin renders", undefined, undefined, "journeyDirect");
  row("passthrough (dev echo)", "echoEdge", "echoEdgeL0Off", "echoDirect");
  const r = p.ratios;
  const a = p.addedMs;
  console.log(`  the delegated start's edge share (edge − delegation document alone): ${a.journeyEdgeShare} ms production, ${a.journeyEdgeShareL0Off} ms L0 off`);
  console.log(`  a miss's edge share (fill − values endpoint alone): ${a.fillEdgeShare} ms production, ${a.fillEdgeShareL0Off} ms L0 off; the shield's part of it ${a.shieldShare} ms`);
  for (const [s, split] of Object.entries(p.fillSplit)) {
    const phases = Object.entries(split.serverTimingMs ?? {}).map(([phase, ms]) => `${phase} ${ms}`).join(", ");
    console.log(`    ${s}: ${split.answerMs} ms until the answer's body was read, ${split.waitUntilMs} ms more in waitUntil; Server-Timing (mean ms): ${phases}`);
  }
  console.log(`  passthrough: edge − direct ${a.echoEdgeMinusDirect} ms production, ${a.echoEdgeL0OffMinusDirect} ms L0 off`);
  console.log(`  ratios (req/s): L0 / L1 ${r.l0HitOverL1Hit}×, L0 / L2 ${r.l0HitOverL2Hit}×, L1 / L2 ${r.l1HitOverL2Hit}×, L0 hit / fill ${r.l0HitOverFill}×, L0 hit / passthrough ${r.l0HitOverEcho}×`);
  console.log(`                  profile pictures (10) L0 / L1 ${r.pictures10L0OverL1}×, L0 / L2 ${r.pictures10L0OverL2}×; journey edge / origin renders ${r.journeyEdgeOverDirect}× (L0 off ${r.journeyEdgeL0OffOverDirect}×); passthrough edge / direct ${r.echoEdgeOverDirect}×`);
  const tally = Object.entries(p.tally)
    .map(([s, counts]) => `${s}: ${Object.entries(counts).map(([k, n]) => `${n}× ${k}`).join(", ")}`)
    .join("\n    ");
  console.log(`  answers (status cache-status)\n    ${tally}`);
}
{
  const m = media;
  const row = (label, key) =>
    console.log(`  ${label.padEnd(40)} ${m.msPerRequest[key].toFixed(3).padStart(8)} ms/req  ${String(m.mibPerSecond[key]).padStart(8)} MiB/s`);
  console.log(`media via the Worker's fetch (workerd; one request at a time, body read and waitUntil settled; median of ${m.rounds} rounds)`);
  console.log("  4 MiB content export part");
  row("  L1 (colo copy of the object)", "l1");
  row("  R2 (L1_CACHE=off)", "r2");
  row("  passthrough (origin does not serve s3_files)", "passthrough");
  row("  straight from the dev origin", "direct");
  console.log("  1 MiB range of it (Range: bytes=1048576-2097151)");
  row("  from L1", "rangeL1");
  row("  from R2", "rangeR2");
  const r = m.ratios;
  console.log(`    L1 / R2 ${r.l1OverR2}×   R2 / passthrough ${r.r2OverPassthrough}×   L1 / passthrough ${r.l1OverPassthrough}×   passthrough / direct ${r.passthroughOverDirect}×   range L1 / R2 ${r.rangeL1OverRangeR2}×`);
  console.log(`  40 MiB part: fill ${m.big.fillBytes} B in ${m.big.fillMs} ms; from R2 ${m.big.hitBytes} B in ${m.big.hitMs} ms`);
  for (const [phase, from, to] of [["fill", "big-start", "big-mid"], ["read from R2", "big-mid", "big-end"]]) {
    const mem = memoryDuring(run.samples, m.big.marks, from, to);
    if (mem === null) console.log(`    ${phase}: workerd RSS not sampled (no /proc?)`);
    else for (const p of mem) console.log(`    ${phase}: workerd pid ${p.pid} RSS ${kib(p.startKiB * 1024)} before, peak ${kib(p.peakKiB * 1024)} (+${kib((p.peakKiB - p.startKiB) * 1024)}), ${p.endKiB === null ? "?" : kib(p.endKiB * 1024)} after`);
  }
  const tally = Object.entries(m.tally)
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
