/**
 * The consistency check (docs/reliability.md "Consistency"): generated concurrent histories with
 * faults, against the real Worker on the real bindings from three isolates in two colos, judged
 * by the model's checker. In `npm test` it is CI-sized (./run.ts `CI_RUNS` × `CI_STEPS`, a fixed
 * seed); `npm run check:consistency` runs it long (`--runs`, `--ops`, `--seed`).
 *
 * Then proof the checker bites: each rule switched off in turn (./mutants.ts; the pure rule
 * function replaced through `vi.mock`, in this file's run only) must be caught within the CI
 * budget (`MUTANT_CI_RUNS` histories of up to `MUTANT_CI_STEPS` steps, the CI seed). If the checker or the steps stop
 * making a rule's race observable, this fails.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { MUTANTS, switchboard } from "./mutants";
import { CI_SEED, MUTANT_CI_RUNS, MUTANT_CI_STEPS, checkRun, printReport, runSize } from "./run";

vi.mock("../../src/shield/ordering", async (importOriginal) => (await import("./mutants")).mutate("src/shield/ordering.ts", await importOriginal()));
vi.mock("../../src/storage/envelope", async (importOriginal) => (await import("./mutants")).mutate("src/storage/envelope.ts", await importOriginal()));
vi.mock("../../src/storage/generations", async (importOriginal) => (await import("./mutants")).mutate("src/storage/generations.ts", await importOriginal()));

const bindings = env as unknown as { CONSISTENCY_REPORT?: string; CONSISTENCY_RUNS?: string };
/** `npm run check:consistency` sizes the run: the long run; the mutants it runs on their own (`--mutants`). */
const longRun = (bindings.CONSISTENCY_RUNS ?? "") !== "";

it("every answer of every generated history is one the model allows, and every key converges", async () => {
  expect(switchboard.on).toBeUndefined();
  const report = await checkRun(runSize());
  if (bindings.CONSISTENCY_REPORT === "1") printReport("run", report);
  expect(report.histories).toBeGreaterThan(0);
  expect(report.failed, `${report.counterexample ?? ""}\n${report.violations ?? ""}`).toBe(false);
});

describe.skipIf(longRun)("the checker bites: each rule switched off is caught within the CI budget", () => {
  for (const [name, mutant] of Object.entries(MUTANTS)) {
    it(`${name} switched off`, async () => {
      switchboard.on = name;
      try {
        const report = await checkRun({ seed: CI_SEED, runs: MUTANT_CI_RUNS, steps: MUTANT_CI_STEPS, shrink: false });
        if (bindings.CONSISTENCY_REPORT === "1") printReport(`mutant ${name}`, report);
        // A violation of the model, not merely a line the run did not expect.
        expect(report.firstFailureAt, `${mutant.rule}: no counterexample in ${report.histories} histories`).toBeDefined();
      } finally {
        switchboard.on = undefined;
      }
    });
  }
});
