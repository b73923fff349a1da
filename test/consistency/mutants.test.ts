/**
 * Proof the checker bites, measured (docs/reliability.md "Consistency"): with the rule
 * `CONSISTENCY_MUTANT` names switched off (./mutants.ts), a run from the CI seed with the mutants'
 * CI history length (unless told otherwise) must find a counterexample; it prints how many
 * histories it took. Run
 * only by `npm run check:consistency -- --mutants`, one vitest run per mutant. (`npm test` holds
 * every mutant to the CI budget in consistency.test.ts.)
 */
import { env } from "cloudflare:workers";
import { expect, it, vi } from "vitest";
import { MUTANTS, switchboard } from "./mutants";
import { CI_SEED, MUTANT_CI_STEPS, checkRun, printReport } from "./run";

vi.mock("../../src/shield/ordering", async (importOriginal) => (await import("./mutants")).mutate("src/shield/ordering.ts", await importOriginal()));
vi.mock("../../src/storage/envelope", async (importOriginal) => (await import("./mutants")).mutate("src/storage/envelope.ts", await importOriginal()));
vi.mock("../../src/storage/generations", async (importOriginal) => (await import("./mutants")).mutate("src/storage/generations.ts", await importOriginal()));

const bindings = env as unknown as Record<string, string | undefined>;
const name = bindings.CONSISTENCY_MUTANT ?? "";

/**
 * The CI seed and the mutants' CI history length (./run.ts), with room past the CI budget
 * (`MEASURE_RUNS` histories) so a mutant caught late still says how late; `--seed`, `--runs`,
 * `--ops` change them.
 */
const MEASURE_RUNS = 10;
function measureSize() {
  const number = (key: string, fallback: number) => (bindings[key] === undefined || bindings[key] === "" ? fallback : Number(bindings[key]));
  return { seed: number("CONSISTENCY_SEED", CI_SEED), runs: number("CONSISTENCY_RUNS", MEASURE_RUNS), steps: number("CONSISTENCY_OPS", MUTANT_CI_STEPS) };
}

it(`the checker finds a counterexample with ${name || "(no mutant named)"} switched off`, async () => {
  const mutant = MUTANTS[name];
  expect(mutant, `CONSISTENCY_MUTANT must name one of ${Object.keys(MUTANTS).join(", ")}`).toBeDefined();
  switchboard.on = name;
  try {
    const report = await checkRun({ ...measureSize(), shrink: false });
    printReport(`mutant ${name}`, report);
    expect(report.firstFailureAt, `${mutant?.rule}: no counterexample in ${report.histories} histories`).toBeDefined();
  } finally {
    switchboard.on = undefined;
  }
});
