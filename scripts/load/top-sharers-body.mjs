#!/usr/bin/env node
// `node scripts/load/top-sharers-body.mjs`: what an admin's large top-sharers body costs the edge
// in memory (docs/security.md §4, §5). One POST of 1024 chunks of 64 KiB of spaces (64 MiB,
// `Transfer-Encoding: chunked`, `content-type: application/json`, an admin's id token) to
// `POST /api/1/admin/journey_share_links/top_sharers`, and the same body to a passthrough route
// (`POST /api/1/dev/nothing`), each against a fresh edge workerd (a process keeps the pages it
// freed, so a second case would reuse the first one's) and a dev origin that reads the whole body
// and answers 404. The RSS of the edge's workerd — its process and any children, read with `ps`
// every 100 ms — is reported as growth over idle (peak − idle), median of TOP_SHARERS_ROUNDS
// (default 3). Loopback only; nothing is asserted: the figures go to docs/security.md.
import http from "node:http";
import { execFileSync } from "node:child_process";
import { machine, median, workerdChildren } from "./harness.mjs";
import { startDevOrigin, startEdge } from "../../test-node/harness/workers.ts";
import { idToken } from "../../test/helpers/tokens.ts";

const CHUNK_BYTES = 64 * 1024;
const CHUNKS = 1024;
const ROUNDS = Number(process.env.TOP_SHARERS_ROUNDS ?? 3);
const SAMPLE_MS = 100;
/** An admin at the dev origin (docs/origin.md §8). */
const ADMIN = "oseh_u_devAdmin0000000000001";
const CASES = {
  topSharers: "/api/1/admin/journey_share_links/top_sharers",
  passthrough: "/api/1/dev/nothing",
};

// However the run goes, it ends.
const deadline = setTimeout(() => {
  console.error("top-sharers-body: over time, stopping");
  process.exit(2);
}, (ROUNDS * 2 * 90 + 60) * 1000);
deadline.unref();

/** RSS in MiB of `pid` and its descendants, from one `ps` listing. */
function treeRssMiB(pid) {
  const rows = execFileSync("ps", ["-eo", "pid=,ppid=,rss="])
    .toString()
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/));
  const tree = new Set([String(pid)]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [child, parent] of rows) {
      if (tree.has(parent) && !tree.has(child)) {
        tree.add(child);
        grew = true;
      }
    }
  }
  return rows.filter(([row]) => tree.has(row)).reduce((sum, [, , rss]) => sum + Number(rss), 0) / 1024;
}

/** One chunked POST of the body, written as fast as the socket takes it; status and Cache-Status. */
function postBody(url, headers) {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: "POST", headers: { ...headers, "transfer-encoding": "chunked" } }, (response) => {
      response.resume();
      response.on("end", () => resolve({ status: response.statusCode, cacheStatus: response.headers["cache-status"] }));
    });
    request.on("error", reject);
    const chunk = Buffer.alloc(CHUNK_BYTES, 0x20);
    let sent = 0;
    const write = () => {
      while (sent < CHUNKS) {
        sent += 1;
        if (!request.write(chunk)) return void request.once("drain", write);
      }
      request.end();
    };
    write();
  });
}

async function oneCase(path) {
  const origin = await startDevOrigin();
  const before = workerdChildren();
  // The origin reads 64 MiB before it answers: a head timeout that a loaded machine cannot trip.
  const edge = await startEdge({ originUrl: origin.url, vars: { ORIGIN_TIMEOUT_MS: "120000" } });
  const pid = [...workerdChildren()].find((p) => !before.has(p));
  try {
    if (pid === undefined) throw new Error("could not find the edge's workerd");
    const token = `bearer ${await idToken(ADMIN, Date.now() / 1000)}`;
    await new Promise((resolve) => setTimeout(resolve, 1000)); // settle after start-up
    const idle = treeRssMiB(pid);
    let peak = idle;
    const sampler = setInterval(() => {
      peak = Math.max(peak, treeRssMiB(pid));
    }, SAMPLE_MS);
    let answer;
    try {
      answer = await postBody(`${edge.url}${path}`, { "content-type": "application/json", authorization: token });
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, treeRssMiB(pid));
    return { ...answer, idleMiB: Number(idle.toFixed(1)), growthMiB: Number((peak - idle).toFixed(1)) };
  } finally {
    await edge.dispose();
    await origin.dispose();
  }
}

const runs = { topSharers: [], passthrough: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, path] of Object.entries(CASES)) {
    const result = await oneCase(path);
    console.log(JSON.stringify({ round, case: name, ...result }));
    runs[name].push(result);
  }
}
console.log(
  JSON.stringify(
    {
      body: `${CHUNKS} chunks of ${CHUNK_BYTES} bytes of spaces (${(CHUNKS * CHUNK_BYTES) / 2 ** 20} MiB), chunked`,
      rounds: ROUNDS,
      medianGrowthMiB: Object.fromEntries(Object.entries(runs).map(([name, results]) => [name, median(results.map((r) => r.growthMiB))])),
      growthMiB: Object.fromEntries(Object.entries(runs).map(([name, results]) => [name, results.map((r) => r.growthMiB)])),
      machine: await machine(),
      at: new Date().toISOString(),
    },
    null,
    2,
  ),
);
