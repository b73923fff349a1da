/**
 * Proof the checker bites (docs/reliability.md "Consistency"): with one rule switched off (./mutants.ts,
 * `CONSISTENCY_MUTANT`), the CI-sized run must find a counterexample. Run only by
 * `npm run check:consistency -- --mutants`, one vitest run per mutant; it prints how many
 * histories it took.
 */
import { env } from "cloudflare:workers";
import { expect, it, vi } from "vitest";
import { MUTANTS } from "./mutants";
import { checkRun, printReport, runSize } from "./run";

const mutate = vi.hoisted(() => async (module: string, real: Record<string, unknown>) => {
  const { env: bindings } = await import("cloudflare:workers");
  const { MUTANTS: table } = await import("./mutants");
  const chosen = table[(bindings as unknown as { CONSISTENCY_MUTANT?: string }).CONSISTENCY_MUTANT ?? ""];
  if (chosen === undefined || chosen.module !== module) return real;
  if (typeof real[chosen.name] !== "function") throw new Error(`${module} has no function ${chosen.name}: re-point test/consistency/mutants.ts`);
  return { ...real, [chosen.name]: chosen.replace(real) };
});

vi.mock("../../src/shield/ordering", async (importOriginal) => mutate("src/shield/ordering.ts", await importOriginal()));
vi.mock("../../src/storage/envelope", async (importOriginal) => mutate("src/storage/envelope.ts", await importOriginal()));
vi.mock("../../src/storage/generations", async (importOriginal) => mutate("src/storage/generations.ts", await importOriginal()));

const name = (env as unknown as { CONSISTENCY_MUTANT?: string }).CONSISTENCY_MUTANT ?? "";

it(`the checker finds a counterexample with ${name || "(no mutant named)"} switched off`, async () => {
  const mutant = MUTANTS[name];
  expect(mutant, `CONSISTENCY_MUTANT must name one of ${Object.keys(MUTANTS).join(", ")}`).toBeDefined();
  const report = await checkRun({ ...runSize(), shrink: false });
  printReport(`mutant ${name}`, report);
  expect(report.failed, `${mutant?.rule}: no counterexample in ${report.histories} histories`).toBe(true);
});
