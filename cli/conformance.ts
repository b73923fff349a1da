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
import { CONFORMANCE_VALUES_TOKEN_SECONDS } from "../conformance/token-lifetime.ts";
import { INSECURE_HTTP_FLAG } from "../shared/credential-url.ts";
import type { Command } from "./command.ts";
import type { ExitCode } from "./errors.ts";

export const conformanceCommand: Command = {
  name: "conformance",
  usage: CONFORMANCE_USAGE,
  summary: CONFORMANCE_SUMMARY,
  details: [
    "What it sends: a values token (aud oseh-edge-values, signed with EDGE_ORIGIN_JWT_SECRET) on",
    "every values-endpoint request. Such a token reads EVERY family's value from the origin, secret",
    "families included (admin bits, sticky random groups, user data), so the checker mints one per",
    `request, living ${CONFORMANCE_VALUES_TOKEN_SECONDS} s. Point it only at your own origin, over https: plain http is`,
    `refused unless the host is loopback (--${INSECURE_HTTP_FLAG} overrides).`,
  ].join("\n"),
  options: CONFORMANCE_OPTIONS,
  async run(ctx) {
    const checker = (await tsImport("../conformance/command.ts", import.meta.url)) as { runConformanceCommand: RunConformanceCommand };
    const { env, stdout, stderr, now } = ctx.io;
    // Its exit codes (0 passed, 1 a check failed, 2 usage) are the CLI's ok / refused / usage.
    return (await checker.runConformanceCommand(ctx.values, { env, stdout, stderr, now })) as ExitCode;
  },
};
