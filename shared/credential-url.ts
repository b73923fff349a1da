/**
 * May a tool send its credential to this URL? The relay (`EDGE_URL`), the CLI (its edge URL) and
 * `oseh-edge conformance --origin` put an admin token or a values token on every request, so plain
 * `http:` is refused unless the host is this machine (a loopback address), or the operator
 * overrides it by a name that states the risk (docs/security.md §2 "Tokens the tools send").
 *
 * Shared by all three, so it imports nothing and is erasable TypeScript: the CLI runs it under
 * Node's type stripping, the relay and the checker under tsx.
 */

/** The flag of `oseh-edge` (every command, `conformance` included) that accepts plain HTTP to any host. */
export const INSECURE_HTTP_FLAG = "insecure-http-sends-tokens-in-clear";
/** The same override from the environment (the relay's only way): set to `1`. */
export const INSECURE_HTTP_ENV = "INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR";

/**
 * `localhost`, 127.0.0.0/8 and `::1`: a connection to them never leaves the machine. The URL
 * parser has already normalised the host (`127.1` → `127.0.0.1`, `[0:0::1]` → `[::1]`, case).
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === "localhost" || host === "[::1]" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export type InsecureHttpOverride = { ok: true; allowed: boolean } | { ok: false; problem: string };

/** INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR: unset or empty → not allowed, `1` → allowed, anything else is named as a mistake. */
export function insecureHttpFromEnv(env: Readonly<Record<string, string | undefined>>): InsecureHttpOverride {
  const value = env[INSECURE_HTTP_ENV]?.trim() ?? "";
  if (value === "") return { ok: true, allowed: false };
  if (value === "1") return { ok: true, allowed: true };
  return { ok: false, problem: `${INSECURE_HTTP_ENV} must be 1 or unset` };
}

export interface CredentialUrlOptions {
  /** What the URL is called where the operator gave it: `EDGE_URL`, `--url`, `--origin`. */
  name: string;
  /** What would cross the network in clear, e.g. "the admin token". */
  sends: string;
  /** The override was given (the flag, or INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR=1). */
  allowInsecureHttp: boolean;
  /** How this tool's user overrides, for the message: "set …=1" or "pass --… (or set …=1)". */
  override: string;
}

/** Pure: null when `url` (already parsed, http or https) may carry the credential; else a one-line refusal naming the override. */
export function credentialUrlProblem(url: URL, options: CredentialUrlOptions): string | null {
  if (url.protocol !== "http:" || isLoopbackHost(url.hostname) || options.allowInsecureHttp) return null;
  return `${options.name} ${url.origin} is plain HTTP to a host that is not loopback: ${options.sends} would cross the network in clear; use https, or ${options.override} to send it anyway`;
}
