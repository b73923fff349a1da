#!/usr/bin/env node
// `npm run check:start`: starts `npm start` (scripts/start.mjs) from a clean state several times
// in a row and checks that both Workers answer: the dev origin directly, the edge's health route,
// and a passthrough through the edge to the dev origin (so the edge found the origin's port).
// A cold start used to fail when both workerd processes shared one SQLite state folder.
//
// Env: CHECK_START_RUNS (default 5), CHECK_START_TIMEOUT_MS per run (default 90000), and the
// ports of scripts/start.mjs (EDGE_PORT, ORIGIN_PORT, EDGE_INSPECTOR_PORT, ORIGIN_INSPECTOR_PORT),
// which default here to a set apart from `npm start`'s so a running `npm start` is not disturbed.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const runs = Number(process.env.CHECK_START_RUNS || 5);
const timeoutMs = Number(process.env.CHECK_START_TIMEOUT_MS || 90_000);
const ports = {
  EDGE_PORT: process.env.EDGE_PORT || "8797",
  ORIGIN_PORT: process.env.ORIGIN_PORT || "8798",
  EDGE_INSPECTOR_PORT: process.env.EDGE_INSPECTOR_PORT || "9239",
  ORIGIN_INSPECTOR_PORT: process.env.ORIGIN_INSPECTOR_PORT || "9240",
};
const edge = `http://127.0.0.1:${ports.EDGE_PORT}`;
const origin = `http://127.0.0.1:${ports.ORIGIN_PORT}`;

/** What "answers" means for each probe: the status the route is known to give. */
const probes = [
  { name: "dev origin", url: `${origin}/api/1/dev/teapot`, status: 418 },
  { name: "edge health", url: `${edge}/_edge/v1/health`, status: 200 },
  { name: "edge → origin", url: `${edge}/api/1/dev/teapot`, status: 418 },
];

async function probe(url) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return null;
  }
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGINT");
    setTimeout(() => child.kill("SIGKILL"), 15_000).unref();
  });
}

async function once(run) {
  const state = mkdtempSync(join(tmpdir(), "oseh-edge-start-"));
  const output = [];
  const child = spawn(process.execPath, [join(root, "scripts/start.mjs")], {
    cwd: root,
    env: { ...process.env, ...ports, EDGE_STATE_DIR: state },
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [child.stdout, child.stderr]) stream.on("data", (chunk) => output.push(String(chunk)));
  const started = Date.now();
  let result = { ok: false, reason: "timed out" };
  const pending = new Set(probes);
  while (Date.now() - started < timeoutMs) {
    if (child.exitCode !== null) {
      result = { ok: false, reason: `npm start exited (${child.exitCode})` };
      break;
    }
    for (const p of [...pending]) if ((await probe(p.url)) === p.status) pending.delete(p);
    if (pending.size === 0) {
      result = { ok: true, seconds: (Date.now() - started) / 1000 };
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (!result.ok && pending.size > 0) result.reason += `; not answering: ${[...pending].map((p) => p.name).join(", ")}`;
  await stop(child);
  rmSync(state, { recursive: true, force: true });
  if (result.ok) {
    console.log(`run ${run}/${runs}: both Workers answered after ${result.seconds.toFixed(1)} s`);
  } else {
    console.log(`run ${run}/${runs}: FAILED (${result.reason}); its output:`);
    process.stdout.write(output.join("").replace(/^/gm, "    "));
  }
  return result.ok;
}

let good = 0;
for (let run = 1; run <= runs; run++) if (await once(run)) good += 1;
console.log(`${good}/${runs} cold starts of npm start answered on both Workers`);
process.exit(good === runs ? 0 : 1);
