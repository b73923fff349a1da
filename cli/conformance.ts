/**
 * `oseh-edge conformance`: checks an origin against the edge's contract (docs/integrate.md §6).
 * The checker judges answers with the Worker's own modules (`src/keys`, `src/origin`,
 * `src/render`), whose extensionless imports Node's type stripping cannot load, so it is loaded
 * through tsx only when this command runs; the table lists it from ../conformance/usage.ts.
 */
import { tsImport } from "tsx/esm/api";
import {
  CONFORMANCE_OPTIONS,
  CONFORMANCE_SUMMARY,
  CONFORMANCE_USAGE,
  type RunConformanceCommand,
} from "../conformance/usage.ts";
import type { Command } from "./command.ts";
import type { ExitCode } from "./errors.ts";

export const conformanceCommand: Command = {
  name: "conformance",
  usage: CONFORMANCE_USAGE,
  summary: CONFORMANCE_SUMMARY,
  options: CONFORMANCE_OPTIONS,
  async run(ctx) {
    const checker = (await tsImport("../conformance/command.ts", import.meta.url)) as { runConformanceCommand: RunConformanceCommand };
    const { env, stdout, stderr, now } = ctx.io;
    // Its exit codes (0 passed, 1 a check failed, 2 usage) are the CLI's ok / refused / usage.
    return (await checker.runConformanceCommand(ctx.values, { env, stdout, stderr, now })) as ExitCode;
  },
};
