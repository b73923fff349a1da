/**
 * `oseh-edge conformance`: arguments, output and exit code around ./run.ts. The usage line and
 * options a command table lists are in ./usage.ts.
 */
import { credentialUrlProblem, INSECURE_HTTP_ENV, INSECURE_HTTP_FLAG, insecureHttpFromEnv } from "../shared/credential-url";
import type { Check } from "./checks";
import { parseDelegateArg, parseHeaderArg, runConformance, type DelegateRoute } from "./run";
import { CONFORMANCE_EXIT, CONFORMANCE_USAGE, type ConformanceIo, type ConformanceValues as Values, type RunConformanceCommand } from "./usage";

const strings = (value: Values[string]): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : typeof value === "string" ? [value] : []);

export function formatChecks(checks: readonly Check[]): string {
  const lines = checks.map((check) => `${check.ok ? "ok  " : "FAIL"} ${check.name} — ${check.detail}`);
  const failed = checks.filter((check) => !check.ok).length;
  lines.push(`${checks.length} checks: ${checks.length - failed} passed, ${failed} failed`);
  return lines.join("\n");
}

/** Runs the command with parsed option values; never throws, always an exit code. */
export const runConformanceCommand: RunConformanceCommand = async (values: Values, io: ConformanceIo): Promise<number> => {
  const usage = (message: string) => {
    io.stderr.write(`oseh-edge conformance: ${message}\nusage: oseh-edge ${CONFORMANCE_USAGE}\n`);
    return CONFORMANCE_EXIT.usage;
  };
  const origin = typeof values.origin === "string" ? values.origin : "";
  let url: URL;
  try {
    url = new URL(origin);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("scheme");
  } catch {
    return usage(`--origin must be an absolute http(s) URL, got ${JSON.stringify(origin)}`);
  }
  const insecure = insecureHttpFromEnv(io.env);
  if (!insecure.ok) return usage(insecure.problem);
  const clear = credentialUrlProblem(url, {
    name: "--origin",
    sends: "values tokens (each reads any family's value, secret families included)",
    allowInsecureHttp: values[INSECURE_HTTP_FLAG] === true || insecure.allowed,
    override: `pass --${INSECURE_HTTP_FLAG} (or set ${INSECURE_HTTP_ENV}=1)`,
  });
  if (clear !== null) return usage(clear);
  const secret = io.env.EDGE_ORIGIN_JWT_SECRET ?? "";
  if (secret === "") return usage("EDGE_ORIGIN_JWT_SECRET is not set (the secret the edge and the origin share)");

  const delegates: DelegateRoute[] = [];
  const headers: [string, string][] = [];
  for (const arg of strings(values.delegate)) {
    const parsed = parseDelegateArg(arg);
    if (typeof parsed === "string") return usage(parsed);
    delegates.push(parsed);
  }
  for (const arg of strings(values.header)) {
    const parsed = parseHeaderArg(arg);
    if (typeof parsed === "string") return usage(parsed);
    headers.push(parsed);
  }

  const checks = await runConformance({
    origin,
    secret,
    keys: strings(values.key),
    delegates,
    headers,
    now: io.now,
    ...(io.fetch === undefined ? {} : { fetch: io.fetch }),
  });
  const failed = checks.filter((check) => !check.ok).length;
  if (values.json === true) io.stdout.write(`${JSON.stringify({ origin, passed: checks.length - failed, failed, checks })}\n`);
  else io.stdout.write(`${formatChecks(checks)}\n`);
  return failed === 0 ? CONFORMANCE_EXIT.ok : CONFORMANCE_EXIT.failed;
};
