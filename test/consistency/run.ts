/**
 * One checked run of generated histories (fast-check: a fixed seed and number of runs, so CI
 * replays the same steps; a failure shrinks to a minimal history and prints its seed and path).
 * The CI-sized run and the long run (`npm run check:consistency`) differ only in size, set by
 * the project's bindings (vitest.config.ts reads them from the environment).
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { vi } from "vitest";
import { describeViolations } from "./checker";
import { historyArbitrary, noteWorkerEvent, runHistory } from "./harness";

/** The CI-sized run: a fixed seed, 6 histories of up to 30 steps (docs/reliability.md "Consistency"). */
export const CI_SEED = 20_261_122;
export const CI_RUNS = 6;
export const CI_STEPS = 30;
/**
 * The CI budget for a mutant (consistency.test.ts): within this many histories of up to
 * `MUTANT_CI_STEPS` steps from the CI seed the checker must find a counterexample with the rule
 * switched off. A run stops at its first counterexample, so a mutant caught early costs little.
 */
export const MUTANT_CI_RUNS = 6;
export const MUTANT_CI_STEPS = 20;

export interface RunSize {
  seed: number;
  runs: number;
  steps: number;
  /** Shrink a failing history (the long run and CI do; the mutants stop at the first). */
  shrink: boolean;
}

export function runSize(): RunSize {
  const e = env as unknown as Record<string, string | undefined>;
  const number = (name: string, fallback: number) => (e[name] === undefined || e[name] === "" ? fallback : Number(e[name]));
  return { seed: number("CONSISTENCY_SEED", CI_SEED), runs: number("CONSISTENCY_RUNS", CI_RUNS), steps: number("CONSISTENCY_OPS", CI_STEPS), shrink: true };
}

export interface RunReport {
  seed: number;
  histories: number;
  operations: number;
  faults: Record<string, number>;
  /** The Worker's event lines, by message (each one a fault it survived and said so). */
  events: Record<string, number>;
  seconds: number;
  failed: boolean;
  /** The history index (1-based) at which the first violation was found. */
  firstFailureAt?: number;
  counterexample?: string;
  violations?: string;
}

/**
 * Runs `size` and reports. The Worker's event lines (src/observe/log.ts) are captured, not
 * printed: each must be one JSON event; they are counted by message in the report.
 */
/** How many of a failing history's event lines its report shows (the last ones). */
const SAID_LINES = 40;

export async function checkRun(size: RunSize): Promise<RunReport> {
  const started = Date.now();
  const report: RunReport = { seed: size.seed, histories: 0, operations: 0, faults: {}, events: {}, seconds: 0, failed: false };
  const strange: string[] = [];
  /** The current history's event lines: a failing history's are reported with its violations. */
  let said: string[] = [];
  const capture = (...args: unknown[]) => {
    const line = args.map(String).join(" ");
    try {
      const event = JSON.parse(line) as { msg?: unknown };
      const msg = event.msg;
      if (typeof msg !== "string") throw new Error("no msg");
      noteWorkerEvent(event);
      report.events[msg] = (report.events[msg] ?? 0) + 1;
      said.push(line);
    } catch {
      strange.push(line);
    }
  };
  const spies = [vi.spyOn(console, "error").mockImplementation(capture), vi.spyOn(console, "warn").mockImplementation(capture)];
  let lastViolations = "";
  try {
    const details = await fc.check(
      fc.asyncProperty(historyArbitrary(size.steps), async (commands) => {
        said = [];
        const result = await runHistory(commands);
        report.histories += 1;
        report.operations += result.operations;
        for (const [kind, n] of result.injected) report.faults[kind] = (report.faults[kind] ?? 0) + n;
        if (result.violations.length > 0) {
          lastViolations = describeViolations(result.history, result.violations);
          if (said.length > 0) lastViolations += `\nthe Worker said, in that history:\n${said.slice(-SAID_LINES).join("\n")}`;
          report.firstFailureAt ??= report.histories;
          return false;
        }
        return true;
      }),
      { seed: size.seed, numRuns: size.runs, endOnFailure: !size.shrink },
    );
    report.failed = details.failed;
    if (details.failed) {
      report.counterexample = `seed ${details.seed}, path ${details.counterexample === null ? "" : String(details.counterexample[0])}, replay with fc.check({ seed: ${details.seed}, path: "${details.counterexamplePath}" })`;
      report.violations = lastViolations || String(details.errorInstance);
    }
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  if (strange.length > 0) {
    report.failed = true;
    report.violations = `${report.violations ?? ""}\nlines that are not the Worker's events:\n${strange.slice(0, 10).join("\n")}`;
  }
  report.seconds = Math.round((Date.now() - started) / 100) / 10;
  return report;
}

/** One line for a person, and the report as JSON for scripts/check-consistency.mjs. */
export function printReport(label: string, report: RunReport): void {
  const faults = Object.entries(report.faults).reduce((sum, [, n]) => sum + n, 0);
  console.log(
    `consistency ${label}: ${report.histories} histories, ${report.operations} operations, ${faults} faults injected, ${report.seconds} s, ` +
      `${report.failed ? `VIOLATION (first at history ${report.firstFailureAt})` : "no violation"}`,
  );
  console.log(`CONSISTENCY_REPORT ${JSON.stringify({ label, ...report })}`);
}
