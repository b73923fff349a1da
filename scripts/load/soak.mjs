#!/usr/bin/env node
// `npm run soak`: a fixed mix at a fixed rate against the edge under workerd (Miniflare's own
// loopback socket, scripts/load/harness.mjs) for a bounded time; it stops by itself.
// Per cycle of 20 requests: 6 L1 hits and 4 L2 hits (transcript; the L2 ones on the edge's
// L1_CACHE=off twin), 2 misses (a fresh transcript uid each: values endpoint, validate, KV + L1
// write), 4 delegated journey starts, 3 passthroughs, and 1 admin purge of the keys the misses
// filled since the last purge (so KV does not grow without bound).
// The same mix runs SOAK_WARMUP_SECONDS (default 20) first; the edge workerd's RSS is read after
// it and at the end. Reports requests, errors (must be 0), p50/p99 and that memory; exits 1 when
// an answer was an error or the end RSS is over 1.25× the start.
// The edge isolate's JS heap after a forced GC is read too, at start and end, through workerd's
// inspector on loopback port SOAK_INSPECTOR_PORT (default 9311): RSS includes workerd's native
// memory and Miniflare's simulators; the heap is what the Worker's code keeps alive.
// SOAK_SECONDS (default 120) and SOAK_RATE (requests/s, default 100) override.
import { TRANSCRIPT_FAMILY, edgeHeapAfterGcMiB, fixtureTokens, machine, memoryMiB, requests, startStack } from "./harness.mjs";

const SECONDS = Number(process.env.SOAK_SECONDS ?? 120);
const WARMUP_SECONDS = Number(process.env.SOAK_WARMUP_SECONDS ?? 20);
const RATE = Number(process.env.SOAK_RATE ?? 100);
/** Beyond this many requests in flight the schedule waits: a stalled edge cannot pile up sockets. */
const MAX_IN_FLIGHT = 64;
const MEMORY_BOUND = 1.25;
const INSPECTOR_PORT = Number(process.env.SOAK_INSPECTOR_PORT ?? 9311);

const MIX = [
  ...Array(6).fill("l1Hit"),
  ...Array(4).fill("l2Hit"),
  ...Array(2).fill("miss"),
  ...Array(4).fill("journey"),
  ...Array(3).fill("passthrough"),
  "purge",
];

const deadline = setTimeout(() => {
  console.error("soak: over time, stopping");
  process.exit(2);
}, (SECONDS + WARMUP_SECONDS + 120) * 1000);
deadline.unref();

const stack = await startStack({ inspectorPort: INSPECTOR_PORT });
const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let fresh = 0;
let unpurged = [];

try {
  const tokens = await fixtureTokens();
  const r = requests(tokens);
  const send = (base, request) => fetch(`${base}${request.path}`, { method: request.method, headers: request.headers, body: request.body });

  const make = {
    l1Hit: () => send(stack.edgeUrl, r.transcript),
    l2Hit: () => send(stack.edgeL2Url, r.transcript),
    journey: () => send(stack.edgeUrl, r.journey),
    passthrough: () => send(stack.edgeUrl, r.passthrough),
    async miss() {
      fresh += 1;
      // The dev origin makes up a transcript for any `oseh_t_gen…` uid.
      const uid = `oseh_t_gensoak${runId}x${fresh.toString(36)}`;
      unpurged.push(TRANSCRIPT_FAMILY.replace("{uid}", uid));
      return fetch(`${stack.edgeUrl}/api/1/transcripts/${uid}`, { headers: { authorization: await tokens.transcriptFor(uid) } });
    },
    purge() {
      const keys = unpurged.length > 0 ? unpurged.splice(0, 100) : [`transcripts:oseh_t_gensoak${runId}none`];
      return fetch(`${stack.edgeUrl}/_edge/v1/purge`, {
        method: "POST",
        headers: { authorization: tokens.admin, "content-type": "application/json" },
        body: JSON.stringify({ keys }),
      });
    },
  };

  /** Runs the mix at RATE for `seconds`; returns latencies (ms), errors and Cache-Status counts. */
  async function phase(seconds) {
    const latencies = [];
    const errors = [];
    const answers = {};
    let inFlight = 0;
    let sent = 0;
    const total = Math.round(seconds * RATE);
    const start = performance.now();
    const pending = new Set();
    while (sent < total) {
      const due = start + (sent * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      while (inFlight >= MAX_IN_FLIGHT) await Promise.race(pending);
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

  const pct = (sorted, p) => Number((sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0).toFixed(1));

  await phase(WARMUP_SECONDS);
  const memStart = memoryMiB(stack.edgePid);
  const heapStart = await edgeHeapAfterGcMiB(INSPECTOR_PORT, () => make.passthrough().then((response) => response.arrayBuffer()));
  const run = await phase(SECONDS);
  // Give the edge's background work (waitUntil writes) a moment to settle before reading memory.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const memEnd = memoryMiB(stack.edgePid);
  const heapEnd = await edgeHeapAfterGcMiB(INSPECTOR_PORT, () => make.passthrough().then((response) => response.arrayBuffer()));
  const sorted = [...run.latencies].sort((a, b) => a - b);
  const ratio = Number((memEnd.rss / memStart.rss).toFixed(3));
  const report = {
    machine: await machine(),
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    rate: RATE,
    requests: run.latencies.length,
    achievedRate: Math.round(run.latencies.length / run.elapsed),
    errors: run.errors.length,
    firstErrors: run.errors.slice(0, 5),
    p50ms: pct(sorted, 50),
    p99ms: pct(sorted, 99),
    edgeMemoryMiB: { start: memStart, end: memEnd, endOverStart: ratio },
    edgeHeapAfterGcMiB: { start: heapStart, end: heapEnd },
    answers: run.answers,
  };
  console.log(`oseh-edge soak (fixed mix at ${RATE} req/s for ${SECONDS} s after ${WARMUP_SECONDS} s of warm-up; workerd via Miniflare's socket, loopback)`);
  console.log(`  machine: ${report.machine.cpus} × ${report.machine.cpuModel}, load average at the end ${report.machine.loadavg.join(" ")}`);
  console.log(`  requests ${report.requests} (${report.achievedRate}/s)   errors ${report.errors}   p50 ${report.p50ms} ms   p99 ${report.p99ms} ms`);
  console.log(`  edge workerd RSS: ${memStart.rss} MiB at start, ${memEnd.rss} MiB at end (${ratio}×, bound ${MEMORY_BOUND}×)`);
  console.log(`  edge isolate JS heap after GC: ${heapStart} MiB at start, ${heapEnd} MiB at end`);
  for (const [label, n] of Object.entries(run.answers).sort()) console.log(`    ${String(n).padStart(6)}× ${label}`);
  if (report.errors > 0) console.log(`  first errors: ${report.firstErrors.join("; ")}`);
  console.log(`SOAK_JSON ${JSON.stringify(report)}`);
  process.exitCode = report.errors === 0 && ratio <= MEMORY_BOUND ? 0 : 1;
} finally {
  await stack.dispose();
}
