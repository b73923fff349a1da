// Shared by `npm run load` and `npm run soak`: the dev origin and the edge, each under its own
// Miniflare (so each is its own workerd process, and the edge's memory is its own), served on
// Miniflare's own loopback socket — not `wrangler dev`, whose Node proxy caps throughput. Node
// strips the types of the .ts modules imported here (Node ≥ 22.18).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import autocannon from "autocannon";
import { startBareWorker, startDevOrigin, startEdge } from "../../test-node/harness/workers.ts";
import { adminToken, idToken, signToken, TEST_SECRETS as TOKEN_SECRETS } from "../../test/helpers/tokens.ts";

/** Fixtures the dev origin serves (dev/origin/fixtures). */
export const USER = "oseh_u_devUser00000000000001";
export const JOURNEY = "oseh_j_devFull0000000000000001";
export const TRANSCRIPT = "oseh_t_devTranscript00000000001";
/** The content file whose export parts the media scenarios read (any part uid of it is served). */
export const CONTENT_FILE = "oseh_cf_devAudio00000000000001";
export const TRANSCRIPT_FAMILY = "transcripts:{uid}";
/** A prompt the dev origin makes up (dev/origin/fixtures/content.ts); its bin at 4 s has pictures. */
export const PROMPT = "oseh_ip_genLoadPictures00000001";

const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat times are in 1/100 s

/** workerd processes that are children of this process (Miniflare spawns one per instance). */
export function workerdChildren() {
  const out = new Set();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && comm.startsWith("workerd")) out.add(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** Resident set size in MiB (VmRSS) and peak (VmHWM) of a process. */
export function memoryMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name) => Number(/\d+/.exec(status.split("\n").find((l) => l.startsWith(`${name}:`)) ?? "0")?.[0] ?? 0) / 1024;
  return { rss: Number(field("VmRSS").toFixed(1)), peak: Number(field("VmHWM").toFixed(1)) };
}

/**
 * Runs `work` and samples the process's RSS meanwhile (every 20 ms, and VmHWM after resetting it
 * where Linux lets us): its idle RSS just before, the peak during, and the peak over idle, in MiB.
 */
export async function peakOverIdle(pid, work) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5"); // resets VmHWM to the current RSS
  } catch {
    // Not permitted here: the 20 ms samples alone give the peak.
  }
  const idle = memoryMiB(pid).rss;
  let peak = idle;
  const sampler = setInterval(() => {
    peak = Math.max(peak, memoryMiB(pid).rss);
  }, 20);
  try {
    const result = await work();
    const after = memoryMiB(pid);
    peak = Math.max(peak, after.rss, after.peak);
    return { result, idleMiB: idle, peakMiB: Number(peak.toFixed(1)), overIdleMiB: Number((peak - idle).toFixed(1)) };
  } finally {
    clearInterval(sampler);
  }
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** CPU seconds this Node process (the load generator) has used so far. */
export function ownCpuSeconds() {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

async function startAndFindPid(start) {
  const before = workerdChildren();
  const served = await start();
  const pids = [...workerdChildren()].filter((pid) => !before.has(pid));
  return { ...served, pid: pids[0] };
}

/**
 * Starts the dev origin and the edge as production configures it (wrangler.toml's top-level vars:
 * L0 on, the shield bound; `settings: "production"` in test-node/harness/workers.ts), plus two
 * twins of it on sockets of their own in the same workerd, sharing its KV namespace and R2 bucket:
 * `L0_MAX_BYTES=0` (L0 off: a repeated read is an L1 hit, the dev environment's setting before)
 * and L0 and L1 off (every read from KV: L2 hits; media reads from R2). With `control`, also the
 * bare passthrough Worker in a workerd of its own (`startBareWorker`): the memory control.
 * `inspectorPort` / `controlInspectorPort`: workerd's inspector of the edge / the control on that
 * loopback port.
 */
export async function startStack({ inspectorPort, controlInspectorPort, control = false } = {}) {
  // The dev origin's test controls (faults) answer this bearer; the edge never sees it.
  const controlSecret = crypto.randomUUID();
  const origin = await startAndFindPid(() => startDevOrigin({ controlSecret }));
  const edge = await startAndFindPid(() =>
    startEdge({
      originUrl: origin.url,
      settings: "production",
      twins: [
        { name: "edge-l0off", vars: { L0_MAX_BYTES: "0" } },
        { name: "edge-l2", vars: { L0_MAX_BYTES: "0", L1_CACHE: "off" } },
      ],
      ...(inspectorPort === undefined ? {} : { inspectorPort }),
    }),
  );
  const bare = control ? await startAndFindPid(() => startBareWorker({ originUrl: origin.url, ...(controlInspectorPort === undefined ? {} : { inspectorPort: controlInspectorPort }) })) : undefined;
  if (edge.pid === undefined || origin.pid === undefined || (bare !== undefined && bare.pid === undefined)) throw new Error("could not find the workerd processes");
  return {
    originUrl: origin.url,
    originPid: origin.pid,
    edgeUrl: edge.url,
    edgeL0OffUrl: edge.directUrls["edge-l0off"],
    edgeL2Url: edge.directUrls["edge-l2"],
    edgePid: edge.pid,
    bareUrl: bare?.url,
    barePid: bare?.pid,
    /** Makes the dev origin answer one key's values request with a fault (`dev/origin/controls.ts`). */
    async setFault(key, fault) {
      const response = await fetch(`${origin.url}/__dev/faults`, {
        method: "POST",
        headers: { authorization: `Bearer ${controlSecret}`, "content-type": "application/json" },
        body: JSON.stringify({ key, fault }),
      });
      if (response.status !== 204) throw new Error(`setFault: ${response.status} ${await response.text()}`);
    },
    async dispose() {
      await bare?.dispose();
      await edge.dispose();
      await origin.dispose();
    },
  };
}

/** A Chrome DevTools Protocol session with one inspector target: `call(method)`, `close()`. */
async function inspectorSession(webSocketDebuggerUrl) {
  const ws = new WebSocket(webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve);
    ws.addEventListener("error", reject);
  });
  let nextId = 0;
  const waiting = new Map();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(typeof event.data === "string" ? event.data : Buffer.from(event.data).toString());
    waiting.get(message.id)?.(message);
    waiting.delete(message.id);
  });
  return {
    call: (method) =>
      new Promise((resolve) => {
        nextId += 1;
        waiting.set(nextId, resolve);
        ws.send(JSON.stringify({ id: nextId, method, params: {} }));
      }),
    close: () => ws.close(),
  };
}

/** The inspector targets of a workerd (one per isolate: the Workers and Miniflare's own). */
async function inspectorTargets(inspectorPort) {
  return (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
}

/**
 * The JS heap of the edge Worker's isolate after a forced GC, in MiB, through workerd's
 * inspector (Chrome DevTools Protocol on loopback): what the Worker's own code keeps alive, as
 * opposed to the process RSS, which also holds workerd's native memory and Miniflare's KV and
 * Cache API simulators. `pump` sends the edge one request.
 */
export async function edgeHeapAfterGcMiB(inspectorPort, pump, workerName = "oseh-edge-dev") {
  const target = (await inspectorTargets(inspectorPort)).find((t) => t.title === `workerd: worker core:user:${workerName}`);
  if (target === undefined) throw new Error(`no inspector target for ${workerName}`);
  const session = await inspectorSession(target.webSocketDebuggerUrl);
  try {
    // workerd runs the collection on the isolate's thread: an idle isolate answers once a
    // request (`pump`) wakes it.
    const collected = session.call("HeapProfiler.collectGarbage");
    await pump();
    await collected;
    const usage = await session.call("Runtime.getHeapUsage");
    return Number((usage.result.usedSize / 2 ** 20).toFixed(1));
  } finally {
    session.close();
  }
}

/** How long a forced collection may take per isolate before the reading goes on without it. */
const COLLECT_TIMEOUT_MS = 10_000;
/** After the collections, time for the freed native memory to leave the process. */
const AFTER_COLLECT_MS = 1_000;

/**
 * Forces a full GC in every isolate of one workerd (its inspector on `inspectorPort`) and then
 * reads the process's RSS (MiB): the memory it keeps, without what its isolates' garbage still
 * holds. workerd frees a request's native memory (bodies, streams, sockets) only when the JS
 * objects holding it are collected, and V8 collects when its heap asks, not when RSS grows: a
 * raw RSS reading rises and falls by hundreds of MiB with that garbage (docs/performance.md,
 * the soak). `pump` sends requests that wake the isolates (a collection runs on an isolate's
 * thread once it has work).
 */
export async function rssAfterGcMiB(pid, inspectorPort, pump) {
  const targets = await inspectorTargets(inspectorPort);
  const sessions = await Promise.all(targets.map((t) => inspectorSession(t.webSocketDebuggerUrl)));
  try {
    const timeout = () => new Promise((resolve) => setTimeout(resolve, COLLECT_TIMEOUT_MS));
    const collected = Promise.all(sessions.map((session) => Promise.race([session.call("HeapProfiler.collectGarbage"), timeout()])));
    await pump();
    await collected;
  } finally {
    for (const session of sessions) session.close();
  }
  await new Promise((resolve) => setTimeout(resolve, AFTER_COLLECT_MS));
  return memoryMiB(pid).rss;
}

/** Tokens for the fixtures, valid for an hour. */
export async function fixtureTokens() {
  const now = Date.now() / 1000;
  const transcriptFor = async (uid) =>
    `bearer ${await signToken({
      secret: TOKEN_SECRETS.transcript,
      claims: { sub: uid, iss: "oseh", aud: "oseh-transcript", iat: Math.floor(now) - 1, exp: Math.floor(now) + 3600 },
    })}`;
  return {
    transcript: await transcriptFor(TRANSCRIPT),
    transcriptFor,
    content: `bearer ${await signToken({
      secret: TOKEN_SECRETS.content,
      claims: { sub: CONTENT_FILE, iss: "oseh", aud: "oseh-content", iat: Math.floor(now) - 1, exp: Math.floor(now) + 3600 },
    })}`,
    id: `bearer ${await idToken(USER, now)}`,
    prompt: await signToken({
      secret: TOKEN_SECRETS.interactivePrompt,
      claims: { sub: PROMPT, iss: "oseh", aud: "oseh-interactive-prompt", iat: Math.floor(now) - 1, exp: Math.floor(now) + 3600 },
    }),
    admin: `bearer ${await adminToken(now, { exp: Math.floor(now) + 3600 })}`,
  };
}

/** The requests the scenarios make, as autocannon request objects. */
export function requests(tokens) {
  return {
    transcript: { method: "GET", path: `/api/1/transcripts/${TRANSCRIPT}`, headers: { authorization: tokens.transcript } },
    journey: {
      method: "POST",
      path: "/api/1/users/me/start_journey_from_history",
      headers: { authorization: tokens.id, "content-type": "application/json" },
      body: JSON.stringify({ journey_uid: JOURNEY }),
    },
    passthrough: { method: "GET", path: "/api/1/dev/echo?bench=1", headers: { accept: "application/json" } },
    pictures: {
      method: "POST",
      path: "/api/1/interactive_prompts/profile_pictures",
      headers: { authorization: tokens.id, "content-type": "application/json" },
      body: JSON.stringify({ uid: PROMPT, jwt: tokens.prompt, prompt_time: 4, limit: 10 }),
    },
  };
}

/** One GET with fetch, the body read in the chunks it arrives in and dropped: status, Cache-Status, bytes. */
export async function drainGet(url, headers) {
  const response = await fetch(url, { headers });
  let bytes = 0;
  for await (const chunk of response.body ?? []) bytes += chunk.byteLength;
  return { status: response.status, cacheStatus: response.headers.get("cache-status"), bytes };
}

/** One request with fetch: status, Cache-Status and body size, to show what a scenario measures. */
export async function probe(base, request) {
  const response = await fetch(`${base}${request.path}`, { method: request.method, headers: request.headers, body: request.body });
  const bytes = (await response.arrayBuffer()).byteLength;
  return { status: response.status, cacheStatus: response.headers.get("cache-status"), bytes };
}

/**
 * Runs autocannon against `base` with one request shape (`request`) or a cycle of them
 * (`requests`, each with its own path); resolves with the figures the reports print.
 */
export function cannon({ base, request, ...options }) {
  const single = request === undefined ? {} : { method: request.method, headers: request.headers, body: request.body };
  const url = request === undefined ? base : `${base}${request.path}`;
  return new Promise((resolve, reject) => {
    autocannon({ ...options, ...single, url }, (error, result) => {
      if (error) return reject(error);
      resolve({
        requests: result.requests.total,
        reqPerSec: Math.round(result.requests.average),
        p50ms: result.latency.p50,
        p99ms: result.latency.p99,
        // Anything but a 2xx, a socket error or a timeout is an error here.
        errors: result.errors + result.timeouts + result.non2xx,
        non2xx: result.non2xx,
      });
    });
  });
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The machine, for the reports. */
export async function machine() {
  const os = await import("node:os");
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    loadavg: os.loadavg().map((n) => Number(n.toFixed(2))),
    node: process.version,
  };
}
