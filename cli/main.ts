#!/usr/bin/env node
/**
 * `oseh-edge <command>` (`npx oseh-edge …`, or `npm run edge -- …`): the operator's CLI for the
 * edge's admin API. Runs as TypeScript under Node (type stripping); talks to EDGE_URL with an
 * admin token minted from EDGE_ADMIN_JWT_SECRET (or given with --token).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { INSECURE_HTTP_ENV, INSECURE_HTTP_FLAG, insecureHttpFromEnv } from "../shared/credential-url.ts";
import { createClient, type CliClient } from "./client.ts";
import type { CliIo, CommandContext } from "./command.ts";
import { COMMANDS } from "./commands.ts";
import { CliError, EXIT, type ExitCode } from "./errors.ts";

const GLOBAL_OPTIONS: NonNullable<ParseArgsConfig["options"]> = {
  json: { type: "boolean", default: false },
  token: { type: "string" },
  url: { type: "string" },
  [INSECURE_HTTP_FLAG]: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
};

export function helpText(): string {
  return [
    "usage: oseh-edge <command> [options]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.usage}\n      ${c.summary}`),
    "",
    "options for every command:",
    "  --url URL      the edge (default: $EDGE_URL)",
    "  --token TOKEN  an admin token (default: one minted from $EDGE_ADMIN_JWT_SECRET)",
    "  --json         machine-readable output",
    `  --${INSECURE_HTTP_FLAG}`,
    `                 send tokens over plain http to a host that is not loopback (anyone on the`,
    `                 path can read and replay them); also ${INSECURE_HTTP_ENV}=1`,
    "",
    "exit codes: 0 ok, 1 the edge refused, 2 usage or configuration, 3 edge unreachable,",
    "            4 credentials refused, 5 no such key, 130 interrupted (purge prints its cursor)",
  ].join("\n");
}

/** Runs one command line; never throws, always an exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.stdout.write(`${helpText()}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr.write(`oseh-edge: unknown command ${JSON.stringify(name)}\n\n${helpText()}\n`);
    return EXIT.usage;
  }
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: [...rest], options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
    } catch (error) {
      throw new CliError(EXIT.usage, `${error instanceof Error ? error.message : String(error)}\nusage: oseh-edge ${command.usage}`);
    }
    const { values, positionals } = parsed;
    if (values.help === true) {
      io.stdout.write(`usage: oseh-edge ${command.usage}\n${command.summary}\n${command.details === undefined ? "" : `\n${command.details}\n`}`);
      return EXIT.ok;
    }
    const json = values.json === true;
    const insecureEnv = insecureHttpFromEnv(io.env);
    if (!insecureEnv.ok) throw new CliError(EXIT.usage, insecureEnv.problem);
    const allowInsecureHttp = values[INSECURE_HTTP_FLAG] === true || insecureEnv.allowed;
    let client: CliClient | undefined;
    const ctx: CommandContext = {
      io,
      values,
      positionals,
      json,
      client: () =>
        (client ??= createClient({
          url: typeof values.url === "string" ? values.url : io.env.EDGE_URL,
          urlName: typeof values.url === "string" ? "--url" : "EDGE_URL",
          allowInsecureHttp,
          token: typeof values.token === "string" ? values.token : undefined,
          secret: io.env.EDGE_ADMIN_JWT_SECRET,
          now: io.now,
        })),
      print(human, data) {
        if (json) io.stdout.write(`${JSON.stringify(data)}\n`);
        else if (human !== "") io.stdout.write(`${human}\n`);
      },
    };
    return await command.run(ctx);
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`oseh-edge ${name}: ${error.message}\n`);
      return error.code;
    }
    io.stderr.write(`oseh-edge ${name}: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.refused;
  }
}

// Run as a program (not when a test imports runCli).
if (import.meta.main) {
  const controller = new AbortController();
  process.on("SIGINT", () => {
    // First Ctrl-C: stop at the next safe point (a purge prints its cursor). Second: now.
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    controller.abort();
  });
  const code = await runCli(process.argv.slice(2), {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    signal: controller.signal,
    now: () => Date.now() / 1000,
  });
  process.exitCode = code;
}
