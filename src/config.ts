/**
 * The Worker's environment, parsed once into a typed config. A missing secret or a malformed
 * var is a startup error that names it (docs/design.md §9), never a silent default.
 */

/**
 * The bindings, vars and secrets wrangler.toml and .dev.vars.example declare, generated into
 * worker-configuration.d.ts by `npm run cf-typegen` (rerun it after changing a binding; CI checks
 * it is current), plus the optional vars no environment sets by default.
 */
export type Env = Cloudflare.Env & {
  /** Cap on the lifetime of families with no expiry of their own (collab families). */
  COLLAB_MAX_SECONDS?: string;
  /** "off" turns the colo-local Cache API tier off (workers.dev, where it is a no-op). */
  L1_CACHE?: string;
  /** Shards of each family keyed by a user or uid (one shield each); default 16. */
  SHIELD_SHARDS?: string;
  /** Largest value a shield keeps in its own storage; larger ones live in KV only. */
  SHIELD_MAX_VALUE_BYTES?: string;
  /** Bytes of small hot values each isolate keeps in memory (L0); 0 or absent = no L0. */
  L0_MAX_BYTES?: string;
  /** How far ahead an admin service token's `exp` may be (default 3600). */
  ADMIN_TOKEN_MAX_SECONDS?: string;
  /** `<NAME>_PREVIOUS` for each secret the edge verifies with: also accepted during a rotation. */
  OSEH_IMAGE_FILE_JWT_SECRET_PREVIOUS?: string;
  OSEH_CONTENT_FILE_JWT_SECRET_PREVIOUS?: string;
  OSEH_TRANSCRIPT_JWT_SECRET_PREVIOUS?: string;
  OSEH_JOURNEY_JWT_SECRET_PREVIOUS?: string;
  OSEH_INTERACTIVE_PROMPT_JWT_SECRET_PREVIOUS?: string;
  OSEH_ID_TOKEN_SECRET_PREVIOUS?: string;
  EDGE_ADMIN_JWT_SECRET_PREVIOUS?: string;
  /** "off" silences the per-request JSON log line (the test suites; never production). */
  REQUEST_LOG?: string;
};

export const SECRET_NAMES = [
  "OSEH_IMAGE_FILE_JWT_SECRET",
  "OSEH_CONTENT_FILE_JWT_SECRET",
  "OSEH_TRANSCRIPT_JWT_SECRET",
  "OSEH_JOURNEY_JWT_SECRET",
  "OSEH_INTERACTIVE_PROMPT_JWT_SECRET",
  "OSEH_ID_TOKEN_SECRET",
  "EDGE_ADMIN_JWT_SECRET",
  "EDGE_ORIGIN_JWT_SECRET",
] as const;

export type SecretName = (typeof SECRET_NAMES)[number];

/**
 * The secrets the edge verifies tokens with, by config field: each may have a `<NAME>_PREVIOUS`
 * companion, accepted too while it is rotated (docs/security.md). EDGE_ORIGIN_JWT_SECRET has none
 * here: the edge only signs with it (the origin holds the companion).
 */
export const VERIFYING_SECRETS = {
  imageFile: "OSEH_IMAGE_FILE_JWT_SECRET",
  contentFile: "OSEH_CONTENT_FILE_JWT_SECRET",
  transcript: "OSEH_TRANSCRIPT_JWT_SECRET",
  journey: "OSEH_JOURNEY_JWT_SECRET",
  interactivePrompt: "OSEH_INTERACTIVE_PROMPT_JWT_SECRET",
  idToken: "OSEH_ID_TOKEN_SECRET",
  edgeAdmin: "EDGE_ADMIN_JWT_SECRET",
} as const satisfies Partial<Record<keyof Secrets, SecretName>>;

export type VerifyingSecret = keyof typeof VERIFYING_SECRETS;

/** Companions that are set (a blank one is unset). */
export type PreviousSecrets = Partial<Record<VerifyingSecret, string>>;

export interface Secrets {
  imageFile: string;
  contentFile: string;
  transcript: string;
  journey: string;
  interactivePrompt: string;
  idToken: string;
  edgeAdmin: string;
  edgeOrigin: string;
}

export interface Config {
  /** The wrangler environment's name: "dev" locally, "production" otherwise. */
  environment: "dev" | "production";
  /** Origin base URL without a trailing slash. */
  originUrl: string;
  originTimeoutMs: number;
  l1MaxAgeSeconds: number;
  staleIfErrorSeconds: number;
  collabMaxSeconds: number;
  l1Enabled: boolean;
  /** EDGE_MODE: "edge" (default) or "passthrough" (docs/integrate.md §5). */
  mode: EdgeMode;
  /**
   * EDGE_DISABLED_FAMILIES as written (trimmed, empty parts dropped). src/rollout resolves them
   * against the registry: this module imports nothing, so scripts/deploy.mjs can run it in Node.
   */
  disabledFamilyPatterns: readonly string[];
  /** 0 = no L0. */
  l0MaxBytes: number;
  /** Admin service tokens whose `exp` is further ahead than this are refused. */
  adminTokenMaxSeconds: number;
  /** One JSON line per request (src/observe). */
  requestLog: boolean;
  /** Signing always uses `secrets`; verification also accepts these during a rotation. */
  shieldShards: number;
  shieldMaxValueBytes: number;
  /**
   * How long a shield keeps a write's `X-Edge-Source-Time` mark at least (a DELETE's tombstone, a
   * purge's mark): a retried older write arriving later than this may apply (docs/storage-schema.md §Shield).
   */
  sourceTimeWindowSeconds: number;
  /**
   * MEDIA_LEASE_MS: how long a media write's lease at its shield lives without a renewal. The
   * write renews it while its bytes flow; a lapsed lease can no longer commit, and its object is
   * removed (docs/storage-schema.md §Shield "Leases").
   */
  mediaLeaseMs: number;
  secrets: Secrets;
  previousSecrets: PreviousSecrets;
}

/** The rollout switch EDGE_MODE (src/rollout/switches.ts). */
export const EDGE_MODES = ["edge", "passthrough"] as const;
export type EdgeMode = (typeof EDGE_MODES)[number];

export const DEFAULT_ORIGIN_TIMEOUT_MS = 5000;
export const DEFAULT_L1_MAX_AGE_SECONDS = 30; // the purge propagation bound for colo-local copies
export const DEFAULT_STALE_IF_ERROR_SECONDS = 300;
export const DEFAULT_SHIELD_SHARDS = 16; // a hot user/uid family spread over 16 objects of ~1,000 req/s each
/** SQLite-backed Durable Objects refuse a row over 2 MB; 1 MiB leaves room for the envelope. */
export const DEFAULT_SHIELD_MAX_VALUE_BYTES = 1_048_576;
export const MAX_SHIELD_VALUE_BYTES = 2_000_000 - 4096;
/**
 * A media write renews its lease every third of this while bytes flow, and the origin body is cut
 * after 30 s without a byte (MEDIA_FILL_IDLE_TIMEOUT_MS): 40 s + 30 s leaves 50 s for the R2 put
 * to complete and the commit to arrive, so only a write that has stopped loses its lease.
 */
export const DEFAULT_MEDIA_LEASE_MS = 120_000;
/** Shorter leases would spend a write's time renewing; tests use a few hundred ms. */
export const MIN_MEDIA_LEASE_MS = 100;
/** A lease is state the shield keeps in memory; an hour without progress is an abandoned write. */
export const MAX_MEDIA_LEASE_MS = 3_600_000;
export const DEFAULT_COLLAB_MAX_SECONDS = 7 * 86400; // collab entries live until purged, but not forever
/** A leaked service token is good for at most an hour; the relay and the CLI mint fresh ones. */
export const DEFAULT_ADMIN_TOKEN_MAX_SECONDS = 3600;
/** The relay retries a failed call for minutes at most (30 s backoff cap); an hour covers that with room. */
export const DEFAULT_SOURCE_TIME_WINDOW_SECONDS = 3600;
/** Never shorter than the skew a source time may have ahead of the edge's clock (src/shield/ordering.ts). */
export const MIN_SOURCE_TIME_WINDOW_SECONDS = 60;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  // A plain field, not a parameter property: scripts/deploy.mjs runs this file under Node's type
  // stripping, which only erases syntax.
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`oseh-edge configuration is invalid: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

function readInt(
  env: Record<string, unknown>,
  name: string,
  fallback: number,
  min: number,
  problems: string[],
): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const text = typeof raw === "number" ? String(raw) : raw;
  if (typeof text !== "string" || !/^\d+$/.test(text) || Number(text) < min) {
    problems.push(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
    return fallback;
  }
  return Number(text);
}

/**
 * localhost, 127.0.0.0/8, ::1 and 0.0.0.0 (addresses that mean "this machine"), and the reserved
 * `.invalid` names (wrangler.toml's placeholder `https://origin.invalid`): no production origin.
 */
function isLoopbackOrPlaceholderHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (host === "invalid" || host.endsWith(".invalid")) return true;
  return host === "localhost" || host.endsWith(".localhost") || /^127\./.test(host) || host === "::1" || host === "0.0.0.0";
}

function readPreviousSecrets(e: Record<string, unknown>): PreviousSecrets {
  const previous: PreviousSecrets = {};
  for (const [field, name] of Object.entries(VERIFYING_SECRETS) as [VerifyingSecret, SecretName][]) {
    const value = e[`${name}_PREVIOUS`];
    if (typeof value === "string" && value !== "") previous[field] = value;
  }
  return previous;
}

/** Parses the environment: the config, or every missing or malformed setting, named (never a value). */
export function readConfig(env: Env | Record<string, unknown>): { ok: true; config: Config } | { ok: false; problems: string[] } {
  const e = env as Record<string, unknown>;
  const problems: string[] = [];

  const missing = SECRET_NAMES.filter((name) => typeof e[name] !== "string" || e[name] === "");
  if (missing.length > 0) problems.push(`missing secret(s): ${missing.join(", ")}`);

  const environment = e.EDGE_ENV === "dev" ? "dev" : "production";
  if (e.EDGE_ENV !== undefined && e.EDGE_ENV !== "dev" && e.EDGE_ENV !== "production") {
    problems.push(`EDGE_ENV must be "dev" or "production", got ${JSON.stringify(e.EDGE_ENV)}`);
  }

  let originUrl = "";
  const rawOrigin = e.ORIGIN_URL;
  if (typeof rawOrigin !== "string" || rawOrigin === "") {
    problems.push("missing var: ORIGIN_URL");
  } else {
    try {
      const url = new URL(rawOrigin);
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("scheme");
      originUrl = url.toString().replace(/\/+$/, "");
      // A production edge pointed at loopback (the dev default) or plain http would forward every
      // client's credentials in clear or nowhere; only the dev environment may do that.
      if (environment === "production" && (url.protocol !== "https:" || isLoopbackOrPlaceholderHost(url.hostname))) {
        problems.push(`ORIGIN_URL must be an https URL of a real (not loopback, not .invalid) host outside the dev environment, got ${JSON.stringify(rawOrigin)}`);
      }
    } catch {
      problems.push(`ORIGIN_URL must be an absolute http(s) URL, got ${JSON.stringify(rawOrigin)}`);
    }
  }
  if (e.CACHE === undefined || e.CACHE === null) problems.push("missing KV binding: CACHE");

  const rawMode = e.EDGE_MODE;
  let mode: EdgeMode = "edge";
  if (rawMode !== undefined && rawMode !== "") {
    if (typeof rawMode === "string" && (EDGE_MODES as readonly string[]).includes(rawMode)) mode = rawMode as EdgeMode;
    else problems.push(`EDGE_MODE must be one of ${EDGE_MODES.map((m) => JSON.stringify(m)).join(", ")}, got ${JSON.stringify(rawMode)}`);
  }
  const rawDisabled = e.EDGE_DISABLED_FAMILIES;
  if (rawDisabled !== undefined && typeof rawDisabled !== "string") problems.push("EDGE_DISABLED_FAMILIES must be a string");
  const disabledFamilyPatterns = (typeof rawDisabled === "string" ? rawDisabled : "").split(",").map((part) => part.trim()).filter((part) => part !== "");

  const config: Config = {
    environment,
    originUrl,
    originTimeoutMs: readInt(e, "ORIGIN_TIMEOUT_MS", DEFAULT_ORIGIN_TIMEOUT_MS, 1, problems),
    l1MaxAgeSeconds: readInt(e, "L1_MAX_AGE_SECONDS", DEFAULT_L1_MAX_AGE_SECONDS, 1, problems),
    staleIfErrorSeconds: readInt(e, "STALE_IF_ERROR_SECONDS", DEFAULT_STALE_IF_ERROR_SECONDS, 0, problems),
    collabMaxSeconds: readInt(e, "COLLAB_MAX_SECONDS", DEFAULT_COLLAB_MAX_SECONDS, 60, problems),
    l1Enabled: e.L1_CACHE !== "off",
    mode,
    disabledFamilyPatterns,
    l0MaxBytes: readInt(e, "L0_MAX_BYTES", 0, 0, problems),
    adminTokenMaxSeconds: readInt(e, "ADMIN_TOKEN_MAX_SECONDS", DEFAULT_ADMIN_TOKEN_MAX_SECONDS, 1, problems),
    previousSecrets: readPreviousSecrets(e),
    requestLog: e.REQUEST_LOG !== "off",
    shieldShards: readInt(e, "SHIELD_SHARDS", DEFAULT_SHIELD_SHARDS, 1, problems),
    shieldMaxValueBytes: Math.min(readInt(e, "SHIELD_MAX_VALUE_BYTES", DEFAULT_SHIELD_MAX_VALUE_BYTES, 0, problems), MAX_SHIELD_VALUE_BYTES),
    sourceTimeWindowSeconds: readInt(e, "SOURCE_TIME_WINDOW_SECONDS", DEFAULT_SOURCE_TIME_WINDOW_SECONDS, MIN_SOURCE_TIME_WINDOW_SECONDS, problems),
    mediaLeaseMs: Math.min(readInt(e, "MEDIA_LEASE_MS", DEFAULT_MEDIA_LEASE_MS, MIN_MEDIA_LEASE_MS, problems), MAX_MEDIA_LEASE_MS),
    secrets: {
      imageFile: String(e.OSEH_IMAGE_FILE_JWT_SECRET ?? ""),
      contentFile: String(e.OSEH_CONTENT_FILE_JWT_SECRET ?? ""),
      transcript: String(e.OSEH_TRANSCRIPT_JWT_SECRET ?? ""),
      journey: String(e.OSEH_JOURNEY_JWT_SECRET ?? ""),
      interactivePrompt: String(e.OSEH_INTERACTIVE_PROMPT_JWT_SECRET ?? ""),
      idToken: String(e.OSEH_ID_TOKEN_SECRET ?? ""),
      edgeAdmin: String(e.EDGE_ADMIN_JWT_SECRET ?? ""),
      edgeOrigin: String(e.EDGE_ORIGIN_JWT_SECRET ?? ""),
    },
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config };
}

/**
 * `readConfig` for callers to whom a bad environment is fatal (a shield: the Worker refuses such an
 * environment first; the deploy script; tests): throws a ConfigError naming every problem.
 */
export function parseConfig(env: Env | Record<string, unknown>): Config {
  const read = readConfig(env);
  if (!read.ok) throw new ConfigError(read.problems);
  return read.config;
}
