#!/usr/bin/env node
// `npm run load`: HTTP load with autocannon against the edge served by workerd on Miniflare's own
// loopback socket (scripts/load/harness.mjs), bounded in time. The edge runs as production
// configures it (wrangler.toml's top-level vars: L0 on, the shield bound); its twins in the same
// workerd give the second column, L0 off (a repeated read is an L1 hit), and L2 (L0 and L1 off).
// Scenarios, all in one run, each for LOAD_SECONDS (default 5) with LOAD_CONNECTIONS (default 8)
// connections, 3 rounds in turn:
// - transcript hit GET /api/1/transcripts/{uid}: L0 (production), L1 (L0 off), L2;
// - profile pictures POST /api/1/interactive_prompts/profile_pictures (limit 10): L0, L1, L2;
// - delegated journey start POST start_journey_from_history (the origin authorizes and
//   delegates, the edge renders the cached template): production (template in L0), L0 off (L1);
// - passthrough GET /api/1/dev/echo: the edge, and the control — a bare Worker in a workerd of
//   its own forwarding to the same origin (test-node/harness/workers.ts `startBareWorker`).
// Reports req/s, p50, p99 and errors per scenario (medians of the rounds), the CPU the edge's
// workerd spent per request in each scenario (its /proc CPU time over the requests answered: what
// the Worker itself spends, beside Miniflare's simulators in the same process), the CPU each
// process used overall (the load generator shares the cores), and the RSS of the edge's and the
// control's workerd before and after the req/s scenarios.
// Media first, while the edge workerd is fresh (its RSS over idle, sampled every 20 ms, on the
// L2 twin so every read is from R2): 40 MiB passed through the edge from the origin (no R2
// write), a 40 MiB part filled (origin → R2 and client) and read back from R2; a 20 MiB part
// filled, then read by 8 clients at once (target: peak within 64 MiB of idle).
const MEDIA_CLIENTS = 8;
import { cannon, cpuSeconds, drainGet, fixtureTokens, machine, median, memoryMiB, ownCpuSeconds, peakOverIdle, probe, requests, startStack } from "./harness.mjs";

const SECONDS = Number(process.env.LOAD_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 8);
const ROUNDS = 3;
/** L0 hit / passthrough req/s, per round (issue 24). */
const L0_OVER_PASSTHROUGH_TARGET = 3;

// However the run goes, it ends: the scenarios' time plus generous start-up and warm-up.
const deadline = setTimeout(() => {
  console.error("load: over time, stopping");
  process.exit(2);
}, (SECONDS * 12 * (ROUNDS + 1) + 180) * 1000);
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

const stack = await startStack({ control: true });
try {
  const tokens = await fixtureTokens();
  const r = requests(tokens);
  const mediaReport = await media(stack, tokens);
  const scenarios = [
    { name: "transcriptL0", label: "transcript hit, L0", column: "production", url: stack.edgeUrl, request: r.transcript },
    { name: "transcriptL1", label: "transcript hit, L1", column: "L0 off", url: stack.edgeL0OffUrl, request: r.transcript },
    { name: "transcriptL2", label: "transcript hit, L2", column: "L0+L1 off", url: stack.edgeL2Url, request: r.transcript },
    { name: "picturesL0", label: "profile pictures (10), L0", column: "production", url: stack.edgeUrl, request: r.pictures },
    { name: "picturesL1", label: "profile pictures (10), L1", column: "L0 off", url: stack.edgeL0OffUrl, request: r.pictures },
    { name: "picturesL2", label: "profile pictures (10), L2", column: "L0+L1 off", url: stack.edgeL2Url, request: r.pictures },
    { name: "journey", label: "delegated journey start", column: "production", url: stack.edgeUrl, request: r.journey },
    { name: "journeyL0Off", label: "delegated journey start", column: "L0 off", url: stack.edgeL0OffUrl, request: r.journey },
    { name: "passthrough", label: "passthrough (dev echo)", column: "production", url: stack.edgeUrl, request: r.passthrough },
    { name: "bare", label: "passthrough, bare Worker", column: "control", url: stack.bareUrl, request: r.passthrough, pid: stack.barePid },
  ];

  // Warm-up: fills KV, L1 and L0, compiles the template, JIT; then what each scenario answers.
  const probes = {};
  for (const s of scenarios) for (let i = 0; i < 3; i++) probes[s.name] = await probe(s.url, s.request);
  for (const s of scenarios) await cannon({ base: s.url, request: s.request, connections: CONNECTIONS, duration: 1 });
  const memBefore = { edge: memoryMiB(stack.edgePid), bare: memoryMiB(stack.barePid) };
  const loadBefore = (await machine()).loadavg;

  const results = Object.fromEntries(scenarios.map((s) => [s.name, []]));
  const cpu = { loadgen: 0, edge: 0, bare: 0, origin: 0, wall: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of scenarios) {
      const served = s.pid ?? stack.edgePid;
      const before = { loadgen: ownCpuSeconds(), edge: cpuSeconds(stack.edgePid), bare: cpuSeconds(stack.barePid), origin: cpuSeconds(stack.originPid), served: cpuSeconds(served), wall: performance.now() / 1000 };
      const figures = await cannon({ base: s.url, request: s.request, connections: CONNECTIONS, duration: SECONDS });
      const wall = performance.now() / 1000 - before.wall;
      results[s.name].push({
        ...figures,
        // The serving workerd's CPU per request answered, in ms (its /proc times: 10 ms ticks, so
        // over a few thousand requests a run).
        cpuMsPerRequest: ((cpuSeconds(served) - before.served) * 1000) / Math.max(1, figures.requests),
        originCpuMsPerRequest: ((cpuSeconds(stack.originPid) - before.origin) * 1000) / Math.max(1, figures.requests),
        loadgenCores: (ownCpuSeconds() - before.loadgen) / wall,
        // The edge's RSS after each run: which scenario, if any, makes it grow.
        rssAfterMiB: memoryMiB(served).rss,
      });
      cpu.loadgen += ownCpuSeconds() - before.loadgen;
      cpu.edge += cpuSeconds(stack.edgePid) - before.edge;
      cpu.bare += cpuSeconds(stack.barePid) - before.bare;
      cpu.origin += cpuSeconds(stack.originPid) - before.origin;
      cpu.wall += wall;
    }
  }
  const memAfter = { edge: memoryMiB(stack.edgePid), bare: memoryMiB(stack.barePid) };
  const sum = (name, key) => results[name].reduce((n, x) => n + x[key], 0);

  const round2 = (n) => Number(n.toFixed(2));
  const summary = Object.fromEntries(
    scenarios.map((s) => {
      const runs = results[s.name];
      return [
        s.name,
        {
          label: s.label,
          column: s.column,
          reqPerSec: median(runs.map((x) => x.reqPerSec)),
          p50ms: median(runs.map((x) => x.p50ms)),
          p99ms: median(runs.map((x) => x.p99ms)),
          errors: sum(s.name, "errors"),
          requests: sum(s.name, "requests"),
          cpuMsPerRequest: round2(median(runs.map((x) => x.cpuMsPerRequest))),
          originCpuMsPerRequest: round2(median(runs.map((x) => x.originCpuMsPerRequest))),
          loadgenCores: round2(median(runs.map((x) => x.loadgenCores))),
          rounds: runs.map((x) => x.reqPerSec),
          rssAfterMiB: runs.map((x) => x.rssAfterMiB),
        },
      ];
    }),
  );
  const perRound = (a, b) => round2(median(results[a].map((x, i) => x.reqPerSec / results[b][i].reqPerSec)));
  const report = {
    machine: await machine(),
    loadavgBefore: loadBefore,
    seconds: SECONDS,
    connections: CONNECTIONS,
    rounds: ROUNDS,
    probes,
    summary,
    ratios: {
      l0HitOverPassthrough: perRound("transcriptL0", "passthrough"),
      l1HitOverPassthrough: perRound("transcriptL1", "passthrough"),
      l2HitOverPassthrough: perRound("transcriptL2", "passthrough"),
      l0HitOverL1Hit: perRound("transcriptL0", "transcriptL1"),
      l0HitOverL2Hit: perRound("transcriptL0", "transcriptL2"),
      picturesL0OverL1: perRound("picturesL0", "picturesL1"),
      picturesL0OverL2: perRound("picturesL0", "picturesL2"),
      journeyOverJourneyL0Off: perRound("journey", "journeyL0Off"),
      journeyOverPassthrough: perRound("journey", "passthrough"),
      passthroughOverBare: perRound("passthrough", "bare"),
    },
    // Cores each process kept busy over the timed runs (2.0 = both cores of this machine).
    coresUsed: {
      loadgen: round2(cpu.loadgen / cpu.wall),
      edgeWorkerd: round2(cpu.edge / cpu.wall),
      bareWorkerd: round2(cpu.bare / cpu.wall),
      originWorkerd: round2(cpu.origin / cpu.wall),
    },
    media: mediaReport,
    memoryMiB: {
      edge: { before: memBefore.edge, after: memAfter.edge, requests: scenarios.filter((s) => s.pid === undefined).reduce((n, s) => n + summary[s.name].requests, 0) },
      bare: { before: memBefore.bare, after: memAfter.bare, requests: summary.bare.requests },
    },
  };

  console.log(`oseh-edge load (autocannon → workerd via Miniflare's socket, loopback; ${CONNECTIONS} connections, ${SECONDS} s × ${ROUNDS} rounds each)`);
  console.log(`  the edge as production configures it (wrangler.toml's vars: L0 on, the shield bound); its twins: L0 off, and L0+L1 off`);
  console.log(`  machine: ${report.machine.cpus} × ${report.machine.cpuModel}, load average ${report.loadavgBefore.join(" ")} at the start of the req/s runs, ${report.machine.loadavg.join(" ")} at the end`);
  console.log(`  ${"scenario".padEnd(28)} ${"column".padEnd(11)} ${"req/s".padStart(6)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"errors".padStart(6)} ${"CPU ms/req".padStart(10)}  answer`);
  for (const s of scenarios) {
    const x = summary[s.name];
    const p = probes[s.name];
    console.log(
      `  ${s.label.padEnd(28)} ${s.column.padEnd(11)} ${String(x.reqPerSec).padStart(6)} ${String(x.p50ms).padStart(7)} ${String(x.p99ms).padStart(7)} ${String(x.errors).padStart(6)} ${x.cpuMsPerRequest.toFixed(2).padStart(10)}  ${p.status} ${p.cacheStatus ?? "-"} ${p.bytes} B  (rounds ${x.rounds.join(", ")})`,
    );
  }
  const q = report.ratios;
  console.log(`  L0 hit / passthrough ${q.l0HitOverPassthrough}× (target ≥ ${L0_OVER_PASSTHROUGH_TARGET}: ${q.l0HitOverPassthrough >= L0_OVER_PASSTHROUGH_TARGET ? "met" : "missed"})   L1 hit / passthrough ${q.l1HitOverPassthrough}×   L2 hit / passthrough ${q.l2HitOverPassthrough}×`);
  console.log(`  L0 / L1 ${q.l0HitOverL1Hit}×, L0 / L2 ${q.l0HitOverL2Hit}×; profile pictures L0 / L1 ${q.picturesL0OverL1}×, L0 / L2 ${q.picturesL0OverL2}×; journey production / L0 off ${q.journeyOverJourneyL0Off}×, journey / passthrough ${q.journeyOverPassthrough}×`);
  console.log(`  passthrough: the edge / the bare Worker ${q.passthroughOverBare}×   (per round, median)`);
  console.log(`  CPU ms/req: the serving workerd's CPU time over the requests answered (the edge's holds Miniflare's KV and Cache simulators too); origin workerd per request: ${scenarios.map((s) => `${s.name} ${summary[s.name].originCpuMsPerRequest}`).join(", ")}`);
  console.log(`  cores used while timed: load generator ${report.coresUsed.loadgen}, edge workerd ${report.coresUsed.edgeWorkerd}, bare workerd ${report.coresUsed.bareWorkerd}, origin workerd ${report.coresUsed.originWorkerd}`);
  console.log(`    load generator by scenario (median of rounds): ${scenarios.map((s) => `${s.name} ${summary[s.name].loadgenCores}`).join(", ")}`);
  const m = mediaReport;
  const line = (label, x) => console.log(`  ${label.padEnd(44)} idle ${x.idleMiB} MiB, peak ${x.peakMiB} MiB, over idle ${x.overIdleMiB} MiB  (${x.result.join("; ")})`);
  console.log(`  media, edge workerd RSS (the L2 twin: reads from R2):`);
  line("40 MiB part passed through (no R2)", m.passthrough40);
  line("40 MiB part, fill (origin → R2 + client)", m.fill40);
  line("40 MiB part from R2", m.read40);
  line("20 MiB part, fill (origin → R2 + client)", m.fill20);
  line(`20 MiB part from R2, ${MEDIA_CLIENTS} clients at once`, m.clients20);
  console.log(`    target: ${MEDIA_CLIENTS} clients' peak within 64 MiB of idle: ${m.clients20.overIdleMiB <= 64 ? "met" : "missed"}`);
  const mem = report.memoryMiB;
  const grew = (x) => (x.after.rss - x.before.rss).toFixed(1);
  console.log(`  memory over the req/s scenarios (judged by npm run soak; here for the record):`);
  console.log(`    edge workerd RSS ${mem.edge.before.rss} → ${mem.edge.after.rss} MiB (+${grew(mem.edge)}; peak ${mem.edge.after.peak}) over ${mem.edge.requests} requests`);
  console.log(`    bare workerd RSS ${mem.bare.before.rss} → ${mem.bare.after.rss} MiB (+${grew(mem.bare)}; peak ${mem.bare.after.peak}) over ${mem.bare.requests} requests (passthrough only)`);
  for (const s of scenarios) console.log(`    RSS after each ${s.name} round: ${summary[s.name].rssAfterMiB.join(", ")} MiB`);
  console.log(`LOAD_JSON ${JSON.stringify(report)}`);
} finally {
  await stack.dispose();
}
