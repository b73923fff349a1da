/**
 * What a command table needs to list `conformance` without loading the checker: its usage line,
 * summary, options and exit codes. Plain erasable TypeScript with no imports of `src/`, so a CLI
 * that runs under Node's type stripping can import it directly (./command.ts needs tsx).
 */
import type { ParseArgsConfig } from "node:util";

/** 0: every check passed; 1: a check failed; 2: bad arguments or configuration. */
export const CONFORMANCE_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export const CONFORMANCE_USAGE =
  'conformance --origin URL [--key KEY]... [--delegate "METHOD PATH [BODY]"]... [--header "Name: value"]... [--json]';

export const CONFORMANCE_SUMMARY =
  "check an origin against the edge's contract (docs/integrate.md §6), with tokens minted from $EDGE_ORIGIN_JWT_SECRET; exit 1 on any failure";

export const CONFORMANCE_OPTIONS: NonNullable<ParseArgsConfig["options"]> = {
  origin: { type: "string" },
  key: { type: "string", multiple: true },
  delegate: { type: "string", multiple: true },
  header: { type: "string", multiple: true },
  json: { type: "boolean", default: false },
};

/** Option values as `node:util` parseArgs returns them. */
export type ConformanceValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface ConformanceIo {
  env: Record<string, string | undefined>;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Unix seconds. */
  now: () => number;
  fetch?: typeof fetch;
}

/** The signature of ./command.ts `runConformanceCommand`, for callers that load it lazily. */
export type RunConformanceCommand = (values: ConformanceValues, io: ConformanceIo) => Promise<number>;
