#!/usr/bin/env node
// `npm run soak`: a fixed mix at a fixed rate against the edge under workerd (Miniflare's own
// loopback socket, scripts/load/harness.mjs) for a bounded time; it stops by itself. The edge runs
// as production configures it (wrangler.toml's vars: L0 on, the shield bound).
// Per cycle of 20 requests: 6 hits on the production edge (transcript, L0), 2 L1 hits (its L0-off
// twin) and 2 L2 hits (its L0+L1-off twin), 2 misses (a fresh transcript uid each: through the
// shield, values endpoint, validate, KV + L1 + L0 write), 4 delegated journey starts, 3
// passthroughs, and 1 admin purge of the keys the misses filled since the last purge (so KV does
// not grow without bound).
// The control: the same requests at the same rate, at the same time, to a bare Worker in a
// workerd of its own that forwards each to the same origin (`startBareWorker`,
// test-node/harness/workers.ts): what workerd and Miniflare grow by under this load with no edge
// code. The memory is judged against it, on each workerd's RSS read after a full GC of every
// isolate in it (`rssAfterGcMiB`, through workerd's inspector): workerd frees a request's native
// memory only when V8 collects the JS objects holding it, so the raw RSS of either process swings
// by a hundred MiB and more with garbage not yet collected — under nothing but passthroughs too
// (docs/performance.md, the soak). The timed run goes in two halves with that reading before,
// between and after them: the edge's growth over it may exceed the bare one's by at most 32 MiB
// (issue 24), and the edge must plateau — its growth over the second half at most
// PLATEAU_BOUND_MIB. The raw RSS is sampled every second and reported beside it.
// Warm-up first: the same mix to both at once, as fast as MAX_IN_FLIGHT requests in flight
// allow, in rounds of 10 s until a round grows neither workerd's RSS after GC by more than 8 MiB (at most
// SOAK_WARMUP_ROUNDS, default 12): even after GC a workerd's RSS grows under load for a few
// rounds and then settles, for the bare Worker as for the edge (whose workerd holds 20 isolates:
// the edge, its twins and Miniflare's own workers).
// Reports requests, errors (must be 0), p50/p99, that memory and the size of the edge's Miniflare
// storage (files on disk, not RSS); exits 1 when an answer of the edge was an error or a memory
// bound was exceeded.
// The edge isolate's JS heap after a forced GC is read too, at start and end, through workerd's
// inspector on loopback port SOAK_INSPECTOR_PORT (default 9311; the control's on
// SOAK_CONTROL_INSPECTOR_PORT, default 9312): the heap is what the Worker's code keeps alive.
// SOAK_SECONDS (default 120) and SOAK_RATE (requests/s, default 100) override; SOAK_KINDS runs
// only some kinds of the mix (to see which requests a growth follows).
import { execFileSync } from "node:child_process";
import { readdirSync, readlinkSync } from "node:fs";
import { TRANSCRIPT_FAMILY, edgeHeapAfterGcMiB, fixtureTokens, machine, memoryMiB, requests, rssAfterGcMiB, startStack } from "./harness.mjs";

const SECONDS = Number(process.env.SOAK_SECONDS ?? 120);
const WARMUP_MAX_ROUNDS = Number(process.env.SOAK_WARMUP_ROUNDS ?? 12);
/** A warm-up round's length, and the growth under which a process counts as settled. */
const WARMUP_ROUND_SECONDS = 10;
const SETTLED_MIB = 8;
const RATE = Number(process.env.SOAK_RATE ?? 100);
/** Beyond this many requests in flight the schedule waits: a stalled edge cannot pile up sockets. */
const MAX_IN_FLIGHT = 64;
/** The edge's RSS growth over the bare Worker's, over the timed run (issue 24). */
const EXCESS_OVER_CONTROL_BOUND_MIB = 32;
/**
 * The edge's RSS growth over the second half of the timed run: a plateau. 6,000 requests at the
 * defaults, so a leak of ~3 KiB a request would break it; workerd's own pools settle in the warm-up.
 */
const PLATEAU_BOUND_MIB = 16;
const INSPECTOR_PORT = Number(process.env.SOAK_INSPECTOR_PORT ?? 9311);
const CONTROL_INSPECTOR_PORT = Number(process.env.SOAK_CONTROL_INSPECTOR_PORT ?? 9312);
/**
 * Requests in flight during the warm-up: as many as the timed run allows (MAX_IN_FLIGHT), so the
 * timed run asks no more of workerd at once than the warm-up did. After a warm-up at 8 in flight
 * the edge's RSS after GC took a step of 73 MiB in the timed run's first half, when it first
 * served 100 req/s with up to 64 in flight (docs/performance.md, the soak).
 */
const WARMUP_IN_FLIGHT = MAX_IN_FLIGHT;

const FULL_MIX = [
  ...Array(6).fill("l0Hit"),
  ...Array(2).fill("l1Hit"),
  ...Array(2).fill("l2Hit"),
  ...Array(2).fill("miss"),
  ...Array(4).fill("journey"),
  ...Array(3).fill("passthrough"),
  "purge",
];
/** SOAK_KINDS (comma-separated kinds of FULL_MIX, e.g. `passthrough` or `miss,purge`): only those, in the mix's proportions. */
const KINDS = process.env.SOAK_KINDS?.split(",").map((kind) => kind.trim()).filter((kind) => kind !== "");
const MIX = KINDS === undefined || KINDS.length === 0 ? FULL_MIX : FULL_MIX.filter((kind) => KINDS.includes(kind));
if (MIX.length === 0) throw new Error(`SOAK_KINDS names none of ${[...new Set(FULL_MIX)].join(", ")}`);

const deadline = setTimeout(() => {
  console.error("soak: over time, stopping");
  process.exit(2);
}, (SECONDS + WARMUP_MAX_ROUNDS * WARMUP_ROUND_SECONDS + 180) * 1000);
deadline.unref();

const stack = await startStack({ inspectorPort: INSPECTOR_PORT, controlInspectorPort: CONTROL_INSPECTOR_PORT, control: true });

/**
 * Miniflare keeps KV, the Cache API, R2 and the Durable Objects' SQLite in files under a
 * temporary directory even when nothing asks it to persist (its getPersistPath): the directories
 * of that kind the edge's workerd holds files open in, and their size in MiB. The mix's misses
 * grow it; it is on disk, not in the RSS the bounds judge.
 */
const storageDirs = (() => {
  const dirs = new Set();
  for (const fd of readdirSync(`/proc/${stack.edgePid}/fd`)) {
    try {
      const match = /^(.*\/miniflare-[0-9a-f]+)\//.exec(readlinkSync(`/proc/${stack.edgePid}/fd/${fd}`));
      if (match) dirs.add(match[1]);
    } catch {
      // The descriptor closed while we looked.
    }
  }
  return [...dirs];
})();
const storageMiB = () => Number((storageDirs.reduce((n, dir) => n + Number(execFileSync("du", ["-sk", dir]).toString().split("\t")[0]), 0) / 1024).toFixed(1));
const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let fresh = 0;
let unpurged = [];

try {
  const tokens = await fixtureTokens();
  const r = requests(tokens);
  const send = (base, request) => fetch(`${base}${request.path}`, { method: request.method, headers: request.headers, body: request.body });

  /** The mix's requests, each made against `target` (the edge, or the control in its place). */
  const makers = (target) => ({
    l0Hit: () => send(target.edge, r.transcript),
    l1Hit: () => send(target.l0Off, r.transcript),
    l2Hit: () => send(target.l2, r.transcript),
    journey: () => send(target.edge, r.journey),
    passthrough: () => send(target.edge, r.passthrough),
    async miss() {
      fresh += 1;
      // The dev origin makes up a transcript for any `oseh_t_gen…` uid.
      const uid = `oseh_t_gensoak${runId}${target.tag}x${fresh.toString(36)}`;
      const response = await fetch(`${target.edge}/api/1/transcripts/${uid}`, { headers: { authorization: await tokens.transcriptFor(uid) } });
      // Purged once answered: a purge reaching the key's shield while its fill is in flight wins
      // (the ordering rule), and the miss would not be stored.
      if (target.tag === "e") unpurged.push(TRANSCRIPT_FAMILY.replace("{uid}", uid));
      return response;
    },
    purge() {
      const keys = target.tag === "e" && unpurged.length > 0 ? unpurged.splice(0, 100) : [`transcripts:oseh_t_gensoak${runId}none`];
      return fetch(`${target.edge}/_edge/v1/purge`, {
        method: "POST",
        headers: { authorization: tokens.admin, "content-type": "application/json" },
        body: JSON.stringify({ keys }),
      });
    },
  });
  const edge = makers({ tag: "e", edge: stack.edgeUrl, l0Off: stack.edgeL0OffUrl, l2: stack.edgeL2Url });
  // The control forwards everything to the origin, which answers for itself (the purge, an edge
  // route, is the origin's 404 there): the same request shapes, no edge code.
  const control = makers({ tag: "c", edge: stack.bareUrl, l0Off: stack.bareUrl, l2: stack.bareUrl });

  /**
   * Runs the mix for `seconds` with `make`, at `rate` requests/s (Infinity: as fast as `maxInFlight`
   * requests in flight allow); returns latencies (ms), errors and answers.
   */
  async function phase(seconds, make, { rate = RATE, maxInFlight = MAX_IN_FLIGHT } = {}) {
    const latencies = [];
    const errors = [];
    const answers = {};
    let inFlight = 0;
    let sent = 0;
    const start = performance.now();
    const end = start + seconds * 1000;
    const total = Number.isFinite(rate) ? Math.round(seconds * rate) : Infinity;
    const pending = new Set();
    while (sent < total && (Number.isFinite(rate) || performance.now() < end)) {
      if (Number.isFinite(rate)) {
        const due = start + (sent * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      while (inFlight >= maxInFlight) await Promise.race(pending);
      const kind = MIX[sent % MIX.length];
      sent += 1;
      inFlight += 1;
      const t0 = performance.now();
      const done = make[kind]()
        .then(async (response) => {
          await response.arrayBuffer();
          latencies.push(performance.now() - t0);
          const label = `${kind} ${response.status} ${response.headers.get("cache-status") ?? "-"}`;
          answers[label] = (answers[label] ?? 0) + 1;
          if (response.status < 200 || response.status > 299) errors.push(label);
        })
        .catch((error) => {
          latencies.push(performance.now() - t0);
          errors.push(`${kind} ${error instanceof Error ? error.message : String(error)}`);
        })
        .finally(() => {
          inFlight -= 1;
          pending.delete(done);
        });
      pending.add(done);
    }
    await Promise.all(pending);
    const elapsed = (performance.now() - start) / 1000;
    return { latencies, errors, answers, elapsed };
  }

  /** The edge's and the control's RSS every second until `stop` resolves. */
  function sampleMemory(stop) {
    const samples = [];
    const take = () => samples.push({ at: performance.now(), edge: memoryMiB(stack.edgePid).rss, bare: memoryMiB(stack.barePid).rss });
    take();
    const timer = setInterval(take, 1000);
    return stop.then(() => {
      clearInterval(timer);
      take();
      return samples;
    });
  }

  const pct = (sorted, p) => Number((sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0).toFixed(1));
  const passthroughBody = () => edge.passthrough().then((response) => response.arrayBuffer());
  /** A request to the edge and each twin: wakes their isolates for a collection. */
  const pumpEdge = () => Promise.all([edge.l0Hit(), edge.l1Hit(), edge.l2Hit()].map((p) => p.then((response) => response.arrayBuffer())));

  const passthroughToControl = () => control.passthrough().then((response) => response.arrayBuffer());
  /** Both workerds' RSS after a full GC of each of their isolates (scripts/load/harness.mjs). */
  const rssAfterGc = async () => {
    const [e, b] = await Promise.all([rssAfterGcMiB(stack.edgePid, INSPECTOR_PORT, pumpEdge), rssAfterGcMiB(stack.barePid, CONTROL_INSPECTOR_PORT, passthroughToControl)]);
    return { edge: e, bare: b, edgeStorageMiB: storageMiB() };
  };

  // Warm-up until both workerds have settled (see the top of this file).
  const warmup = [];
  let before = await rssAfterGc();
  for (let round = 0; round < WARMUP_MAX_ROUNDS; round++) {
    const fast = { rate: Infinity, maxInFlight: WARMUP_IN_FLIGHT };
    const [edgeRound, controlRound] = await Promise.all([phase(WARMUP_ROUND_SECONDS, edge, fast), phase(WARMUP_ROUND_SECONDS, control, fast)]);
    const raw = { edge: memoryMiB(stack.edgePid).rss, bare: memoryMiB(stack.barePid).rss };
    const after = await rssAfterGc();
    warmup.push({ edgeRequests: edgeRound.latencies.length, controlRequests: controlRound.latencies.length, edgeErrors: edgeRound.errors.length, rawEdge: raw.edge, rawBare: raw.bare, edge: after.edge, bare: after.bare, edgeGrowth: after.edge - before.edge, bareGrowth: after.bare - before.bare });
    before = after;
    if (warmup.at(-1).edgeGrowth <= SETTLED_MIB && warmup.at(-1).bareGrowth <= SETTLED_MIB) break;
  }
  const settled = warmup.length > 0 && warmup[warmup.length - 1].edgeGrowth <= SETTLED_MIB && warmup[warmup.length - 1].bareGrowth <= SETTLED_MIB;
  const heapStart = await edgeHeapAfterGcMiB(INSPECTOR_PORT, passthroughBody);
  const loadStart = (await machine()).loadavg;
  // The timed run in two halves, the memory read after a full GC before, between and after them.
  const gcStart = await rssAfterGc();
  let gcMiddle;
  const timed = (async () => {
    const first = await Promise.all([phase(SECONDS / 2, edge), phase(SECONDS / 2, control)]);
    gcMiddle = await rssAfterGc();
    const second = await Promise.all([phase(SECONDS / 2, edge), phase(SECONDS / 2, control)]);
    const join = (a, b) => ({ latencies: [...a.latencies, ...b.latencies], errors: [...a.errors, ...b.errors], answers: Object.fromEntries([...new Set([...Object.keys(a.answers), ...Object.keys(b.answers)])].map((k) => [k, (a.answers[k] ?? 0) + (b.answers[k] ?? 0)])), elapsed: a.elapsed + b.elapsed });
    return [join(first[0], second[0]), join(first[1], second[1])];
  })();
  const samples = await sampleMemory(timed);
  const [run, controlRun] = await timed;
  // Give the edge's background work (waitUntil writes) a moment to settle before the last reading.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  samples.push({ at: performance.now(), edge: memoryMiB(stack.edgePid).rss, bare: memoryMiB(stack.barePid).rss });
  const gcEnd = await rssAfterGc();
  const heapEnd = await edgeHeapAfterGcMiB(INSPECTOR_PORT, passthroughBody);

  const first = samples[0];
  const last = samples[samples.length - 1];
  const round1 = (n) => Number(n.toFixed(1));
  const rawMemory = {
    edge: { start: first.edge, end: last.edge, peak: Math.max(...samples.map((s) => s.edge)), growth: round1(last.edge - first.edge) },
    bare: { start: first.bare, end: last.bare, peak: Math.max(...samples.map((s) => s.bare)), growth: round1(last.bare - first.bare) },
  };
  const memory = {
    edge: { start: gcStart.edge, middle: gcMiddle.edge, end: gcEnd.edge, growth: round1(gcEnd.edge - gcStart.edge), secondHalfGrowth: round1(gcEnd.edge - gcMiddle.edge) },
    bare: { start: gcStart.bare, middle: gcMiddle.bare, end: gcEnd.bare, growth: round1(gcEnd.bare - gcStart.bare), secondHalfGrowth: round1(gcEnd.bare - gcMiddle.bare) },
  };
  const storage = { start: gcStart.edgeStorageMiB, middle: gcMiddle.edgeStorageMiB, end: gcEnd.edgeStorageMiB };
  const excess = round1(memory.edge.growth - memory.bare.growth);
  const sorted = [...run.latencies].sort((a, b) => a - b);
  const controlSorted = [...controlRun.latencies].sort((a, b) => a - b);
  const report = {
    machine: await machine(),
    loadavgStart: loadStart,
    seconds: SECONDS,
    warmup: { rounds: warmup, settled },
    rate: RATE,
    requests: run.latencies.length,
    achievedRate: Math.round(run.latencies.length / run.elapsed),
    errors: run.errors.length,
    firstErrors: run.errors.slice(0, 5),
    p50ms: pct(sorted, 50),
    p99ms: pct(sorted, 99),
    control: { requests: controlRun.latencies.length, p50ms: pct(controlSorted, 50), p99ms: pct(controlSorted, 99), answers: controlRun.answers },
    memoryAfterGcMiB: memory,
    rawMemoryMiB: rawMemory,
    edgeStorageMiB: storage,
    excessOverControlMiB: excess,
    edgeHeapAfterGcMiB: { start: heapStart, end: heapEnd },
    answers: run.answers,
    samples: samples.map((s) => ({ t: round1((s.at - first.at) / 1000), edge: s.edge, bare: s.bare })),
  };
  const excessMet = excess <= EXCESS_OVER_CONTROL_BOUND_MIB;
  const plateauMet = memory.edge.secondHalfGrowth <= PLATEAU_BOUND_MIB;
  if (MIX !== FULL_MIX) console.log(`oseh-edge soak: only ${[...new Set(MIX)].join(", ")} (SOAK_KINDS)`);
  console.log(`oseh-edge soak (fixed mix at ${RATE} req/s for ${SECONDS} s after a warm-up; workerd via Miniflare's socket, loopback)`);
  console.log(`  the edge as production configures it (L0 on, the shield bound); the control, a bare passthrough Worker in its own workerd, took the same requests at the same time`);
  console.log(`  machine: ${report.machine.cpus} × ${report.machine.cpuModel}, load average ${report.loadavgStart.join(" ")} at the start of the timed run, ${report.machine.loadavg.join(" ")} at the end`);
  const w = report.warmup;
  console.log(`  warm-up: ${w.rounds.length} rounds of ${WARMUP_ROUND_SECONDS} s (${w.rounds.reduce((n, x) => n + x.edgeRequests, 0)} requests to the edge, ${w.rounds.reduce((n, x) => n + x.controlRequests, 0)} to the control, ${w.rounds.reduce((n, x) => n + x.edgeErrors, 0)} edge errors); RSS after a full GC, edge / control, after each: ${w.rounds.map((x) => `${Math.round(x.edge)}/${Math.round(x.bare)}`).join(", ")} MiB (raw: ${w.rounds.map((x) => `${Math.round(x.rawEdge)}/${Math.round(x.rawBare)}`).join(", ")}); ${w.settled ? "settled" : `not settled after ${WARMUP_MAX_ROUNDS} rounds`} (a round growing each by at most ${SETTLED_MIB} MiB after GC)`);
  console.log(`  edge: requests ${report.requests} (${report.achievedRate}/s)   errors ${report.errors}   p50 ${report.p50ms} ms   p99 ${report.p99ms} ms`);
  console.log(`  control: requests ${report.control.requests}   p50 ${report.control.p50ms} ms   p99 ${report.control.p99ms} ms`);
  const m = report.memoryAfterGcMiB;
  const raw = report.rawMemoryMiB;
  console.log(`  edge workerd RSS after a full GC: ${m.edge.start} MiB at start, ${m.edge.middle} at half time, ${m.edge.end} at end: +${m.edge.growth} MiB (raw RSS ${raw.edge.start} → ${raw.edge.end}, peak ${raw.edge.peak}: +${raw.edge.growth})`);
  console.log(`  bare workerd RSS after a full GC: ${m.bare.start} MiB at start, ${m.bare.middle} at half time, ${m.bare.end} at end: +${m.bare.growth} MiB (raw RSS ${raw.bare.start} → ${raw.bare.end}, peak ${raw.bare.peak}: +${raw.bare.growth})`);
  console.log(`  the edge's Miniflare storage on disk (not in RSS): ${report.edgeStorageMiB.start} → ${report.edgeStorageMiB.middle} → ${report.edgeStorageMiB.end} MiB`);
  console.log(`  growth over the control's, after GC: ${excess} MiB (bound ${EXCESS_OVER_CONTROL_BOUND_MIB} MiB: ${excessMet ? "met" : "missed"})`);
  console.log(`  plateau: after GC the edge grew ${m.edge.secondHalfGrowth} MiB over the second half (bound ${PLATEAU_BOUND_MIB} MiB: ${plateauMet ? "met" : "missed"}; the control ${m.bare.secondHalfGrowth} MiB)`);
  const every10 = report.samples.filter((x, i) => i % 10 === 0 || i === report.samples.length - 1);
  console.log(`  raw RSS, edge / control, every 10 s: ${every10.map((x) => `${Math.round(x.t)} s ${Math.round(x.edge)}/${Math.round(x.bare)}`).join(", ")} MiB`);
  console.log(`  edge isolate JS heap after GC: ${heapStart} MiB at start, ${heapEnd} MiB at end`);
  for (const [label, n] of Object.entries(run.answers).sort()) console.log(`    ${String(n).padStart(6)}× ${label}`);
  if (report.errors > 0) console.log(`  first errors: ${report.firstErrors.join("; ")}`);
  console.log(`SOAK_JSON ${JSON.stringify(report)}`);
  process.exitCode = report.errors === 0 && excessMet && plateauMet ? 0 : 1;
} finally {
  await stack.dispose();
}
