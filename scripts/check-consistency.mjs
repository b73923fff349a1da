#!/usr/bin/env node
// `npm run check:consistency`: the consistency checker (test/consistency/, docs/reliability.md
// "Consistency") run long, outside `npm test`. Prints how many histories and operations were
// checked, the faults injected and the minutes it took.
//
//   npm run check:consistency                       # 200 histories of up to 60 steps, a random seed
//   npm run check:consistency -- --runs 500 --ops 80 --seed 42
//   npm run check:consistency -- --mutants          # each rule switched off in turn, from the CI seed
//                                                   # (up to 10 histories of the mutants' CI length):
//                                                   # how many histories until the checker caught it
//
// It runs vitest's `consistency` project with the size in the environment (vitest.config.ts
// hands it to the tests as bindings).
import { spawnSync } from "node:child_process";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : args[at + 1];
};
const mutants = args.includes("--mutants");
/** The rows of test/consistency/mutants.ts, in its order. */
const MUTANTS = ["ordering", "source-times", "generations", "stale-bound"];

function run(label, file, environment) {
  const started = Date.now();
  const child = spawnSync("npx", ["vitest", "run", "--project", "consistency", file], {
    env: { ...process.env, CONSISTENCY_REPORT: "1", ...environment },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const output = `${child.stdout}\n${child.stderr}`;
  const line = output.split("\n").find((l) => l.includes("CONSISTENCY_REPORT "));
  if (line === undefined) {
    console.error(output);
    throw new Error(`${label}: the run printed no report (exit ${child.status})`);
  }
  const report = JSON.parse(line.slice(line.indexOf("CONSISTENCY_REPORT ") + "CONSISTENCY_REPORT ".length));
  report.minutes = Math.round((Date.now() - started) / 600) / 100;
  report.exit = child.status;
  if (child.status !== 0 && !mutants) console.error(output.split("\n").filter((l) => !l.includes("CONSISTENCY_REPORT")).slice(-80).join("\n"));
  return report;
}

function faultsOf(report) {
  return Object.values(report.faults).reduce((sum, n) => sum + n, 0);
}

if (mutants) {
  // The CI seed and history length (test/consistency/mutants.test.ts) unless told otherwise; npm
  // test holds each to the CI budget (test/consistency/run.ts MUTANT_CI_RUNS).
  const environment = { CONSISTENCY_SEED: option("seed", ""), CONSISTENCY_RUNS: option("runs", ""), CONSISTENCY_OPS: option("ops", "") };
  let failed = 0;
  for (const name of MUTANTS) {
    const report = run(name, "test/consistency/mutants.test.ts", { ...environment, CONSISTENCY_MUTANT: name });
    // A violation of the model (not a run that failed for another reason).
    const caught = report.firstFailureAt !== undefined && report.firstFailureAt !== null;
    if (!caught) failed += 1;
    console.log(
      `mutant ${name}: ${caught ? `caught at history ${report.firstFailureAt} of ${report.histories}` : `NOT caught in ${report.histories} histories`}` +
        ` (${report.operations} operations, ${report.seconds} s)`,
    );
  }
  process.exit(failed === 0 ? 0 : 1);
}

const seed = option("seed", String(Math.floor(Math.random() * 2 ** 31)));
const report = run("run", "test/consistency/consistency.test.ts", {
  CONSISTENCY_SEED: seed,
  CONSISTENCY_RUNS: option("runs", "200"),
  CONSISTENCY_OPS: option("ops", "60"),
});
console.log(`seed ${report.seed}: ${report.histories} histories, ${report.operations} operations, ${faultsOf(report)} faults injected, ${report.minutes} minutes`);
console.log(`faults: ${Object.entries(report.faults).map(([kind, n]) => `${kind} ${n}`).join(", ")}`);
console.log(`the Worker said: ${Object.entries(report.events).map(([msg, n]) => `${msg} ×${n}`).join(", ") || "nothing"}`);
if (report.failed) {
  console.log(`VIOLATION (first at history ${report.firstFailureAt}): ${report.counterexample}\n${report.violations}`);
  process.exit(1);
}
console.log("no violation");
