#!/usr/bin/env node
// `npm run load`: HTTP load with autocannon against the edge served by workerd on Miniflare's own
// loopback socket (scripts/load/harness.mjs), bounded in time. Scenarios, all in one run, each
// for LOAD_SECONDS (default 5) with LOAD_CONNECTIONS (default 8) connections, 3 rounds in turn:
// - L1 hit: GET /api/1/transcripts/{uid} (the value in the Cache API tier);
// - L2 hit: the same on the edge's L1_CACHE=off twin (every read from KV);
// - delegated journey start: POST start_journey_from_history (the origin authorizes and
//   delegates, the edge renders the cached template with six fresh-or-kept JWTs);
// - passthrough: GET /api/1/dev/echo (the edge forwards to the origin and back).
// - L0 hit: the same on the edge's twin with L0_MAX_BYTES set, when the Worker has that
//   in-isolate tier (its answers say `detail=l0`); otherwise reported as pending.
// Reports req/s, p50, p99 and errors per scenario (medians of the rounds), the edge workerd's
// RSS before and after, and the CPU each process used: the load generator shares the cores.
// Media first, while the edge workerd is fresh (its RSS over idle, sampled every 20 ms, on the
// twin with L1 off so every read is from R2): 40 MiB passed through the edge from the origin (no
// R2 write), a 40 MiB part filled (origin → R2 and client) and read back from R2; a 20 MiB part
// filled, then read by 8 clients at once (target: peak within 64 MiB of idle).
const MEDIA_CLIENTS = 8;
import { cannon, cpuSeconds, drainGet, fixtureTokens, machine, median, memoryMiB, ownCpuSeconds, peakOverIdle, probe, requests, startStack } from "./harness.mjs";

const SECONDS = Number(process.env.LOAD_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 8);
const ROUNDS = 3;

// However the run goes, it ends: the scenarios' time plus generous start-up and warm-up.
const deadline = setTimeout(() => {
  console.error("load: over time, stopping");
  process.exit(2);
}, (SECONDS * 5 * (ROUNDS + 1) + 120) * 1000);
deadline.unref();

async function media(stack, tokens) {
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const part = (tail) => `${stack.edgeL2Url}/api/1/content_files/exports/parts/oseh_cfep_${tail}${run}.mp4`;
  const headers = { authorization: tokens.content };
  const measure = (work) => peakOverIdle(stack.edgePid, work);
  // The passthrough first, on the fresh process: the fill after it then shows what it costs beyond
  // moving the same bytes (workerd keeps freed pages, so a later case reuses an earlier one's).
  // The origin "does not serve" this part's s3_files key, so the edge forwards it: 40 MiB, no R2.
  await stack.setFault(`s3_files:oseh_s3f_loadPass40MiB${run}`, { kind: "unsupported" });
  const pass40 = await measure(() => drainGet(part("loadPass40MiB"), headers));
  const m40 = part("load40MiB");
  const fill40 = await measure(() => drainGet(m40, headers));
  const read40 = await measure(() => drainGet(m40, headers));
  const m20 = part("load20MiB");
  const fill20 = await measure(() => drainGet(m20, headers));
  const clients20 = await measure(() => Promise.all(Array.from({ length: MEDIA_CLIENTS }, () => drainGet(m20, headers))));
  const answer = (x) => ({ ...x, result: [x.result].flat().map((a) => `${a.status} ${a.cacheStatus ?? "-"} ${a.bytes} B`).filter((v, i, all) => all.indexOf(v) === i) });
  return { fill20: answer(fill20), clients20: answer(clients20), fill40: answer(fill40), read40: answer(read40), passthrough40: answer(pass40) };
}

const stack = await startStack();
try {
  const tokens = await fixtureTokens();
  const r = requests(tokens);
  const mediaReport = await media(stack, tokens);
  // The L0 twin's second answer is an L0 hit where the Worker has that tier.
  await probe(stack.edgeL0Url, r.transcript);
  const l0Probe = await probe(stack.edgeL0Url, r.transcript);
  const hasL0 = /detail=l0/.test(l0Probe.cacheStatus ?? "");
  const scenarios = [
    ...(hasL0 ? [{ name: "l0Hit", label: "L0 hit (transcript)", url: stack.edgeL0Url, request: r.transcript }] : []),
    { name: "l1Hit", label: "L1 hit (transcript)", url: stack.edgeUrl, request: r.transcript },
    { name: "l2Hit", label: "L2 hit (transcript, L1 off)", url: stack.edgeL2Url, request: r.transcript },
    { name: "journey", label: "delegated journey start", url: stack.edgeUrl, request: r.journey },
    { name: "passthrough", label: "passthrough (dev echo)", url: stack.edgeUrl, request: r.passthrough },
  ];

  // Warm-up: fills KV and L1, compiles the template, JIT; then what each scenario answers.
  const probes = {};
  for (const s of scenarios) for (let i = 0; i < 3; i++) probes[s.name] = await probe(s.url, s.request);
  for (const s of scenarios) await cannon({ base: s.url, request: s.request, connections: CONNECTIONS, duration: 1 });
  const memBefore = memoryMiB(stack.edgePid);

  const results = Object.fromEntries(scenarios.map((s) => [s.name, []]));
  const cpu = { loadgen: 0, edge: 0, origin: 0, wall: 0 };
  const loadgenCores = Object.fromEntries(scenarios.map((s) => [s.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of scenarios) {
      const before = { loadgen: ownCpuSeconds(), edge: cpuSeconds(stack.edgePid), origin: cpuSeconds(stack.originPid), wall: performance.now() / 1000 };
      const figures = await cannon({ base: s.url, request: s.request, connections: CONNECTIONS, duration: SECONDS });
      // The edge's RSS after each run: which scenario, if any, makes it grow.
      results[s.name].push({ ...figures, rssAfterMiB: memoryMiB(stack.edgePid).rss });
      cpu.loadgen += ownCpuSeconds() - before.loadgen;
      loadgenCores[s.name].push((ownCpuSeconds() - before.loadgen) / (performance.now() / 1000 - before.wall));
      cpu.edge += cpuSeconds(stack.edgePid) - before.edge;
      cpu.origin += cpuSeconds(stack.originPid) - before.origin;
      cpu.wall += performance.now() / 1000 - before.wall;
    }
  }
  const memAfter = memoryMiB(stack.edgePid);

  const summary = Object.fromEntries(
    scenarios.map((s) => {
      const runs = results[s.name];
      return [
        s.name,
        {
          reqPerSec: median(runs.map((x) => x.reqPerSec)),
          p50ms: median(runs.map((x) => x.p50ms)),
          p99ms: median(runs.map((x) => x.p99ms)),
          errors: runs.reduce((n, x) => n + x.errors, 0),
          requests: runs.reduce((n, x) => n + x.requests, 0),
          rounds: runs.map((x) => x.reqPerSec),
          rssAfterMiB: runs.map((x) => x.rssAfterMiB),
        },
      ];
    }),
  );
  const perRound = (a, b) => median(results[a].map((x, i) => x.reqPerSec / results[b][i].reqPerSec));
  const report = {
    machine: await machine(),
    seconds: SECONDS,
    connections: CONNECTIONS,
    rounds: ROUNDS,
    probes,
    summary,
    ratios: {
      ...(hasL0 ? { l0HitOverPassthrough: Number(perRound("l0Hit", "passthrough").toFixed(2)) } : {}),
      l1HitOverPassthrough: Number(perRound("l1Hit", "passthrough").toFixed(2)),
      l2HitOverPassthrough: Number(perRound("l2Hit", "passthrough").toFixed(2)),
      journeyOverPassthrough: Number(perRound("journey", "passthrough").toFixed(2)),
    },
    // Cores each process kept busy over the timed runs (2.0 = both cores of this machine).
    coresUsed: {
      loadgen: Number((cpu.loadgen / cpu.wall).toFixed(2)),
      edgeWorkerd: Number((cpu.edge / cpu.wall).toFixed(2)),
      originWorkerd: Number((cpu.origin / cpu.wall).toFixed(2)),
      loadgenByScenario: Object.fromEntries(scenarios.map((s) => [s.name, Number(median(loadgenCores[s.name]).toFixed(2))])),
    },
    media: mediaReport,
    edgeMemoryMiB: { before: memBefore, after: memAfter },
  };

  console.log(`oseh-edge load (autocannon → workerd via Miniflare's socket, loopback; ${CONNECTIONS} connections, ${SECONDS} s × ${ROUNDS} rounds each)`);
  console.log(`  machine: ${report.machine.cpus} × ${report.machine.cpuModel}, load average at the end ${report.machine.loadavg.join(" ")}`);
  console.log(`  ${"scenario".padEnd(30)} ${"req/s".padStart(7)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"errors".padStart(7)}  answer`);
  for (const s of scenarios) {
    const x = summary[s.name];
    const p = probes[s.name];
    console.log(
      `  ${s.label.padEnd(30)} ${String(x.reqPerSec).padStart(7)} ${String(x.p50ms).padStart(7)} ${String(x.p99ms).padStart(7)} ${String(x.errors).padStart(7)}  ${p.status} ${p.cacheStatus ?? "-"} ${p.bytes} B  (rounds ${x.rounds.join(", ")})`,
    );
  }
  if (!hasL0) console.log(`  L0 hit                          pending: this Worker has no in-isolate tier (the L0 twin answered ${l0Probe.cacheStatus})`);
  if (hasL0) console.log(`  L0 hit / passthrough ${report.ratios.l0HitOverPassthrough}×  (target ≥ 3)`);
  console.log(`  L1 hit / passthrough ${report.ratios.l1HitOverPassthrough}×   L2 hit / passthrough ${report.ratios.l2HitOverPassthrough}×   journey / passthrough ${report.ratios.journeyOverPassthrough}×  (per round, median)`);
  console.log(`  cores used while timed: load generator ${report.coresUsed.loadgen}, edge workerd ${report.coresUsed.edgeWorkerd}, origin workerd ${report.coresUsed.originWorkerd}`);
  console.log(`    load generator by scenario (median of rounds): ${scenarios.map((s) => `${s.name} ${report.coresUsed.loadgenByScenario[s.name]}`).join(", ")}`);
  const m = mediaReport;
  const line = (label, x) => console.log(`  ${label.padEnd(44)} idle ${x.idleMiB} MiB, peak ${x.peakMiB} MiB, over idle ${x.overIdleMiB} MiB  (${x.result.join("; ")})`);
  console.log(`  media, edge workerd RSS (twin with L1 off: reads from R2):`);
  line("40 MiB part passed through (no R2)", m.passthrough40);
  line("40 MiB part, fill (origin → R2 + client)", m.fill40);
  line("40 MiB part from R2", m.read40);
  line("20 MiB part, fill (origin → R2 + client)", m.fill20);
  line(`20 MiB part from R2, ${MEDIA_CLIENTS} clients at once`, m.clients20);
  console.log(`    target: ${MEDIA_CLIENTS} clients' peak within 64 MiB of idle: ${m.clients20.overIdleMiB <= 64 ? "met" : "missed"}`);
  console.log(`  edge workerd memory: RSS ${memBefore.rss} MiB before, ${memAfter.rss} MiB after (peak ${memAfter.peak} MiB)`);
  for (const s of scenarios) console.log(`    RSS after each ${s.name} round: ${summary[s.name].rssAfterMiB.join(", ")} MiB`);
  console.log(`LOAD_JSON ${JSON.stringify(report)}`);
} finally {
  await stack.dispose();
}
