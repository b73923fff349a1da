#!/usr/bin/env node
// `npm test`: first what the tests need from the machine (redis-server, chromium, ffmpeg:
// installed where it can be, else one message naming the command; scripts/test-prepare.ts),
// then both vitest projects (workers: test/** inside workerd; node: test-node/** in Node),
// then one plain closing line `N passed, N failed` for the two together
// (vitest's own reporter does not print it; CI counts the run by it).
// `--prepare-only` stops after the first step.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, existsSync, rmSync } from "node:fs";
import { prepareTestTools } from "./test-prepare.ts";

const prepareOnly = process.argv.includes("--prepare-only");
const prepared = prepareTestTools({ env: process.env, isRoot: process.getuid?.() === 0, say: (line) => console.log(line) });
if (!prepared.ok) {
  console.error(prepared.message);
  // No test ran: the run itself is the one failure, as when vitest leaves no report (below).
  if (!prepareOnly) console.log("0 passed, 1 failed");
  process.exit(1);
}
if (prepareOnly) process.exit(0);

const out = ".test-results/vitest.json";
mkdirSync(".test-results", { recursive: true });
if (existsSync(out)) rmSync(out);

const args = ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${out}`, ...process.argv.slice(2)];
const run = spawnSync("npx", args, { stdio: "inherit" });

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(out)) {
  const report = JSON.parse(readFileSync(out, "utf8"));
  passed = report.numPassedTests ?? 0;
  failed = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A file that fails to load counts as a failure even when it holds no counted test.
  for (const file of report.testResults ?? []) {
    if (file.status === "failed" && (file.assertionResults ?? []).length === 0) failed += 1;
  }
} else {
  failed = 1;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(run.status === 0 && failed === 0 && passed > 0 ? 0 : 1);
