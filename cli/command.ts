/**
 * What a command is and what it is handed: the shapes the command table (./commands.ts), the
 * commands in files of their own and the entry point share. Types only, so a command's file
 * never imports the table that lists it.
 */
import type { ParseArgsConfig } from "node:util";
import type { CliClient } from "./client.ts";
import type { ExitCode } from "./errors.ts";

export interface CliIo {
  env: Record<string, string | undefined>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  /** Aborted on Ctrl-C: long commands stop at a safe point and say how to resume. */
  signal: AbortSignal;
  /** Unix seconds. */
  now: () => number;
}

export interface CommandContext {
  io: CliIo;
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
  json: boolean;
  client(): CliClient;
  /** Prints `human` (lines) or, with --json, `data` as one JSON document. */
  print(human: string, data: unknown): void;
}

export interface Command {
  name: string;
  usage: string;
  summary: string;
  /** More for `oseh-edge <command> --help` (what the command sends, and where). */
  details?: string;
  options?: NonNullable<ParseArgsConfig["options"]>;
  run(ctx: CommandContext): Promise<ExitCode>;
}
