/**
 * The relay's settings, from the environment, parsed once. Every missing or malformed setting is
 * reported by name (never by value: the secret must not reach a log).
 */
import { INSECURE_HTTP_ENV, credentialUrlProblem, insecureHttpFromEnv } from "../shared/credential-url";

export interface RelayConfig {
  redisUrl: string;
  /** The edge's base URL without a trailing slash. */
  edgeUrl: string;
  edgeAdminSecret: string;
  healthHost: string;
  /** 0 picks a free port (tests). */
  healthPort: number;
  maxQueue: number;
  edgeTimeoutMs: number;
}

export const DEFAULTS = {
  healthHost: "127.0.0.1",
  healthPort: 8807,
  /** Actions held while the edge is unreachable; past this their families are purged later. */
  maxQueue: 10_000,
  edgeTimeoutMs: 10_000,
} as const;

export type ConfigResult = { ok: true; config: RelayConfig } | { ok: false; errors: string[] };

type Env = Readonly<Record<string, string | undefined>>;

function url(env: Env, name: string, protocols: readonly string[], example: string, errors: string[]): string {
  const value = env[name]?.trim();
  if (value === undefined || value === "") {
    errors.push(`${name} is not set (e.g. ${example})`);
    return "";
  }
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    errors.push(`${name} is not a URL`);
    return "";
  }
  if (!protocols.includes(parsed.protocol)) {
    errors.push(`${name} must be a ${protocols.join(" or ")} URL, not ${parsed.protocol}`);
    return "";
  }
  return value.replace(/\/+$/, "");
}

function integer(env: Env, name: string, fallback: number, min: number, max: number, errors: string[]): number {
  const value = env[name]?.trim();
  if (value === undefined || value === "") return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    errors.push(`${name} must be an integer from ${min} to ${max}`);
    return fallback;
  }
  return Number(value);
}

export function parseRelayConfig(env: Env): ConfigResult {
  const errors: string[] = [];
  const redisUrl = url(env, "REDIS_URL", ["redis:", "rediss:"], "redis://127.0.0.1:6379", errors);
  const edgeUrl = url(env, "EDGE_URL", ["https:", "http:"], "https://edge.example.com", errors);
  const insecure = insecureHttpFromEnv(env);
  if (!insecure.ok) errors.push(insecure.problem);
  // Every call carries an admin token: plain http only to this machine, or when the operator says so.
  const clear =
    edgeUrl === "" ? null : credentialUrlProblem(new URL(edgeUrl), { name: "EDGE_URL", sends: "the relay's admin tokens", allowInsecureHttp: insecure.ok && insecure.allowed, override: `set ${INSECURE_HTTP_ENV}=1` });
  if (clear !== null) errors.push(clear);
  const secret = env.EDGE_ADMIN_JWT_SECRET;
  if (secret === undefined || secret === "") {
    errors.push("EDGE_ADMIN_JWT_SECRET is not set (the edge's admin token secret)");
  } else if (secret.trim() !== secret) {
    errors.push("EDGE_ADMIN_JWT_SECRET has leading or trailing whitespace");
  }
  const healthHost = env.RELAY_HEALTH_HOST?.trim() || DEFAULTS.healthHost;
  const healthPort = integer(env, "RELAY_HEALTH_PORT", DEFAULTS.healthPort, 0, 65_535, errors);
  const maxQueue = integer(env, "RELAY_QUEUE_MAX", DEFAULTS.maxQueue, 1, 10_000_000, errors);
  const edgeTimeoutMs = integer(env, "RELAY_EDGE_TIMEOUT_MS", DEFAULTS.edgeTimeoutMs, 100, 600_000, errors);
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, config: { redisUrl, edgeUrl, edgeAdminSecret: secret as string, healthHost, healthPort, maxQueue, edgeTimeoutMs } };
}
