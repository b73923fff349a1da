/**
 * `npm run conformance -- --origin URL …`: the checker as a program (see ./command.ts).
 */
import { parseArgs } from "node:util";
import { runConformanceCommand } from "./command";
import { CONFORMANCE_EXIT, CONFORMANCE_OPTIONS, CONFORMANCE_USAGE, type ConformanceValues } from "./usage";

let values: ConformanceValues = {};
try {
  ({ values } = parseArgs({ args: process.argv.slice(2), options: CONFORMANCE_OPTIONS, strict: true, allowPositionals: false }));
} catch (error) {
  process.stderr.write(`oseh-edge conformance: ${error instanceof Error ? error.message : String(error)}\nusage: oseh-edge ${CONFORMANCE_USAGE}\n`);
  process.exit(CONFORMANCE_EXIT.usage);
}
process.exitCode = await runConformanceCommand(values, { env: process.env, stdout: process.stdout, stderr: process.stderr, now: () => Date.now() / 1000 });
