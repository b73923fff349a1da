#!/usr/bin/env node
// `npm start` (= `npm run dev`): the dev origin (dev/origin, port 8788) and the edge (repo root,
// port 8787, `--env dev`) under `wrangler dev`, side by side, with prefixed output. Ctrl-C, or
// either process dying, stops both. Ports and the state folder can be moved with EDGE_PORT,
// ORIGIN_PORT, EDGE_INSPECTOR_PORT, ORIGIN_INSPECTOR_PORT and EDGE_STATE_DIR, so two copies (or
// `npm run check:start`) never collide.
// Both read their secrets from a `.dev.vars` copied from `.dev.vars.example` when absent, so the
// tokens one side mints verify on the other (docs/design.md §9).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const EXAMPLE = join(root, ".dev.vars.example");
const ORIGIN_PORT = process.env.ORIGIN_PORT || "8788"; // the edge's [env.dev] ORIGIN_URL points here
const EDGE_PORT = process.env.EDGE_PORT || "8787";
const ORIGIN_INSPECTOR_PORT = process.env.ORIGIN_INSPECTOR_PORT || "9230";
const EDGE_INSPECTOR_PORT = process.env.EDGE_INSPECTOR_PORT || "9229";
const STATE_DIR = process.env.EDGE_STATE_DIR || ".wrangler/state";

for (const target of [join(root, ".dev.vars"), join(root, "dev/origin/.dev.vars")]) {
  if (!existsSync(target)) {
    copyFileSync(EXAMPLE, target);
    console.log(`[start] created ${target.slice(root.length + 1)} from .dev.vars.example`);
  }
}
// The dev origin's test controls (/__dev/…) need a bearer secret that only the dev origin holds,
// never the edge (docs/security.md): a random one, in the dev origin's .dev.vars only.
const originVars = join(root, "dev/origin/.dev.vars");
if (!/^DEV_CONTROL_SECRET=/m.test(readFileSync(originVars, "utf8"))) {
  appendFileSync(originVars, `\nDEV_CONTROL_SECRET=${randomBytes(24).toString("base64url")}\n`);
  console.log("[start] added DEV_CONTROL_SECRET to dev/origin/.dev.vars (the dev origin's controls need it as a bearer token)");
}

const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
// Each Worker persists to its own folder: two workerd processes sharing one state directory race
// on its SQLite files at a cold start (SQLITE_BUSY), and one of them dies.
const common = ["dev", "--ip", "127.0.0.1"];
const services = [
  { name: "origin", args: [...common, "--config", "dev/origin/wrangler.toml", "--persist-to", join(STATE_DIR, "origin"), "--port", ORIGIN_PORT, "--inspector-port", ORIGIN_INSPECTOR_PORT] },
  {
    name: "edge  ",
    args: [
      ...common,
      ...["--config", "wrangler.toml", "--env", "dev", "--persist-to", join(STATE_DIR, "edge")],
      ...["--port", EDGE_PORT, "--inspector-port", EDGE_INSPECTOR_PORT],
      // Follows a moved dev origin; the default is [env.dev]'s own ORIGIN_URL.
      ...(ORIGIN_PORT === "8788" ? [] : ["--var", `ORIGIN_URL:http://127.0.0.1:${ORIGIN_PORT}`]),
    ],
  },
];

const children = [];
let stopping = false;

function prefixLines(name, stream, sink) {
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) sink.write(`[${name}] ${line}\n`);
  });
  stream.on("end", () => {
    if (pending !== "") sink.write(`[${name}] ${pending}\n`);
  });
}

function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill("SIGINT");
  // wrangler shuts workerd down on SIGINT; give it a moment, then insist.
  const force = setTimeout(() => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  }, 5000);
  force.unref();
  let remaining = children.filter((c) => c.exitCode === null).length;
  if (remaining === 0) process.exit(code);
  for (const child of children) {
    child.once("exit", () => {
      remaining -= 1;
      if (remaining <= 0) process.exit(code);
    });
  }
}

for (const service of services) {
  const child = spawn(process.execPath, [wrangler, ...service.args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    // Request.cf would be fetched from Cloudflare at every start; locally the placeholder is enough.
    env: {
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      ...process.env,
      FORCE_COLOR: process.env.FORCE_COLOR ?? "0",
      WRANGLER_SEND_METRICS: "false",
    },
  });
  prefixLines(service.name, child.stdout, process.stdout);
  prefixLines(service.name, child.stderr, process.stderr);
  child.on("exit", (code, signal) => {
    if (!stopping) {
      console.error(`[start] ${service.name.trim()} exited (${signal ?? code}); stopping the other`);
      stopAll(code === 0 ? 1 : (code ?? 1));
    }
  });
  children.push(child);
}

process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));
process.on("SIGHUP", () => stopAll(0));
