/** Exit codes of `oseh-edge` (documented in `oseh-edge help`), and the error that carries one. */
export const EXIT = {
  ok: 0,
  /** The edge refused the call (4xx other than auth/404, or 5xx). */
  refused: 1,
  /** Bad arguments or missing configuration. */
  usage: 2,
  /** The edge could not be reached. */
  unreachable: 3,
  /** The edge refused the credentials (401/403). */
  auth: 4,
  /** No such key (404). */
  notFound: 5,
  /** Stopped by Ctrl-C; a paged purge printed the cursor to resume from. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  readonly code: ExitCode;
  constructor(code: ExitCode, message: string) {
    super(message);
    this.code = code;
  }
}
