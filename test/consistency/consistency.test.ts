/**
 * The consistency check (docs/reliability.md "Consistency"): generated concurrent histories with
 * faults, against the real Worker on the real bindings from three isolates in two colos, judged
 * by the model's checker. In `npm test` it is CI-sized (./run.ts `CI_RUNS` × `CI_STEPS`, a fixed
 * seed); `npm run check:consistency` runs it long (`--runs`, `--ops`, `--seed`).
 */
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { checkRun, printReport, runSize } from "./run";

it("every answer of every generated history is one the model allows, and every key converges", async () => {
  const report = await checkRun(runSize());
  if ((env as unknown as { CONSISTENCY_REPORT?: string }).CONSISTENCY_REPORT === "1") printReport("run", report);
  expect(report.histories).toBeGreaterThan(0);
  expect(report.failed, `${report.counterexample ?? ""}\n${report.violations ?? ""}`).toBe(false);
});
