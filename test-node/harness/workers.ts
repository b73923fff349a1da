/**
 * Serves the repo's Workers over loopback HTTP from Node, for tests that run outside workerd: the
 * dev origin (`dev/origin/`) and the edge itself (`src/`), each bundled with esbuild and run by
 * Miniflare on a free port. The workers project (test/global-setup.ts) uses the dev origin from
 * here; the node project (test-node/) uses both.
 */
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

/**
 * The secrets of both Workers in tests, identical on both sides so tokens interoperate. The
 * backend's vectors fix the resource/id secrets (test/fixtures/blocks.json meta.secrets).
 */
export const TEST_SECRETS = {
  OSEH_IMAGE_FILE_JWT_SECRET: "test-image-secret",
  OSEH_CONTENT_FILE_JWT_SECRET: "test-content-secret",
  OSEH_TRANSCRIPT_JWT_SECRET: "test-transcript-secret",
  OSEH_JOURNEY_JWT_SECRET: "test-journey-secret",
  OSEH_INTERACTIVE_PROMPT_JWT_SECRET: "test-interactive-prompt-secret",
  OSEH_ID_TOKEN_SECRET: "test-id-secret",
  EDGE_ADMIN_JWT_SECRET: "test-edge-admin-secret",
  EDGE_ORIGIN_JWT_SECRET: "test-edge-origin-secret",
} as const;

export interface ServedWorker {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The twins' own sockets (`StartEdgeOptions.twins`), by name. */
  directUrls: Record<string, string>;
  dispose: () => Promise<void>;
}

const DEV_ORIGIN_ENTRY = fileURLToPath(new URL("../../dev/origin/index.ts", import.meta.url));
export const EDGE_ENTRY = fileURLToPath(new URL("../../src/index.ts", import.meta.url));
const EDGE_WRANGLER_TOML = fileURLToPath(new URL("../../wrangler.toml", import.meta.url));

/** One ES module bundle of a Worker entry, as wrangler would build it. */
async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    // Node built-ins come from the runtime (nodejs_compat), and `cloudflare:*` modules (the
    // Durable Object base class) from workerd itself, as under wrangler.
    external: ["node:*", "cloudflare:*"],
    logLevel: "silent",
  });
  const script = result.outputFiles[0]?.text;
  if (script === undefined) throw new Error(`esbuild produced no output for ${entry}`);
  return script;
}

/**
 * Serves the Workers in one Miniflare (one workerd process): the first on the main socket, the
 * ones with `unsafeDirectSockets` on their own too.
 */
async function serve(workers: Array<Record<string, unknown>>, port = 0, inspectorPort?: number): Promise<ServedWorker> {
  // Miniflare 5 takes its own options shape; the v4 one (as wrangler produces it) converts.
  const mf = new Miniflare(
    convertV4MiniflareOptions({ host: "127.0.0.1", port, workers, ...(inspectorPort === undefined ? {} : { inspectorPort }) } as never),
  );
  const trim = (u: URL) => u.toString().replace(/\/+$/, "");
  const url = trim(await mf.ready);
  const directUrls: Record<string, string> = {};
  for (const worker of workers.slice(1)) {
    if (worker.unsafeDirectSockets !== undefined) directUrls[worker.name as string] = trim(await mf.unsafeGetDirectURL(worker.name as string));
  }
  return { url, directUrls, dispose: () => mf.dispose() };
}

export interface StartDevOriginOptions {
  /**
   * The bearer secret of the dev origin's test controls (docs/origin.md §8). Never given to the
   * edge; without it every control answers 403.
   */
  controlSecret?: string;
}

/** The dev origin with the test secrets. */
export async function startDevOrigin(options: StartDevOriginOptions = {}): Promise<ServedWorker> {
  return serve([{
    name: "oseh-dev-origin",
    modules: true,
    script: await bundle(DEV_ORIGIN_ENTRY),
    compatibilityDate: "2026-11-01",
    compatibilityFlags: ["nodejs_compat"],
    bindings: { ...TEST_SECRETS, ...(options.controlSecret === undefined ? {} : { DEV_CONTROL_SECRET: options.controlSecret }) },
  }]);
}

export interface StartEdgeOptions {
  /** Where the edge forwards what it does not serve (usually `startDevOrigin().url`). */
  originUrl: string;
  /** A fixed port, e.g. to bring an edge back on the address a client already holds. */
  port?: number;
  /**
   * Copies of the edge in the same workerd, each with some vars changed and a loopback socket of
   * its own (`directUrls[name]`), sharing the edge's KV namespace (the load scripts' L2 and L0
   * twins, scripts/load/).
   */
  twins?: Array<{ name: string; vars: Record<string, string> }>;
  /** workerd's inspector on this loopback port (the soak reads the edge isolate's heap). */
  inspectorPort?: number;
  /** Vars of the edge itself in place of `[env.dev]`'s (the twins start from these too). */
  vars?: Record<string, string>;
  /**
   * "production": the vars of wrangler.toml's top level (production's: L0 on, its timeouts,
   * switches and bounds) over `[env.dev]`'s, except `EDGE_ENV` (dev, the only environment that may
   * use a loopback origin) and `ORIGIN_URL`; the bindings stay `[env.dev]`'s, which bind the same
   * things locally (the shield, KV, R2). The load scripts measure the edge this way. Default "dev".
   */
  settings?: "dev" | "production";
}

/** wrangler.toml's production vars, minus what only a dev edge may set differently (see `settings`). */
function productionVars(): Record<string, unknown> {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(EDGE_WRANGLER_TOML);
  const { EDGE_ENV: _env, ORIGIN_URL: _origin, ...vars } = (workerOptions as { bindings?: Record<string, unknown> }).bindings ?? {};
  return vars;
}

/**
 * The edge as `wrangler.toml`'s `[env.dev]` declares it (vars, KV, and whatever bindings that
 * environment grows), with the test secrets and the given origin. KV and the Cache API are
 * Miniflare's in-memory ones: each call starts an empty edge.
 */
export async function startEdge(options: StartEdgeOptions): Promise<ServedWorker> {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(EDGE_WRANGLER_TOML, "dev");
  // The bundle is one module: wrangler's module rules (for unbundled imports) do not apply and
  // have no Miniflare 5 equivalent.
  const { modulesRules: _rules, ...declaredOptions } = workerOptions as Record<string, unknown>;
  const declared = (workerOptions as { bindings?: Record<string, unknown> }).bindings ?? {};
  const edge = {
    ...declaredOptions,
    name: "oseh-edge-dev",
    modules: true,
    script: await bundle(EDGE_ENTRY),
    // REQUEST_LOG off: one JSON line per request from workerd would bury the test output.
    bindings: {
      ...declared,
      ...(options.settings === "production" ? productionVars() : {}),
      ...TEST_SECRETS,
      ORIGIN_URL: options.originUrl,
      REQUEST_LOG: "off",
      ...options.vars,
    },
  };
  const twins = (options.twins ?? []).map((twin) => ({
    ...edge,
    name: twin.name,
    bindings: { ...edge.bindings, ...twin.vars },
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  }));
  return serve([edge, ...twins], options.port, options.inspectorPort);
}

/**
 * The control for the edge's memory under load (`npm run soak`, `npm run load`): a bare Worker
 * that forwards every request to the origin as it came (method, path, query, headers, body) and
 * returns the origin's answer. No edge code, no bindings; its own Miniflare, so its own workerd
 * process: what workerd itself grows by under the same load, with nothing of the edge in it.
 * `inspectorPort`: workerd's inspector on that loopback port (the soak collects its isolates'
 * garbage before reading its memory, as the edge's).
 */
export async function startBareWorker(options: { originUrl: string; inspectorPort?: number }): Promise<ServedWorker> {
  const script = `export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(new Request(env.ORIGIN_URL + url.pathname + url.search, request));
  },
};`;
  return serve([{ name: "bare-passthrough", modules: true, script, compatibilityDate: "2026-11-01", bindings: { ORIGIN_URL: options.originUrl } }], 0, options.inspectorPort);
}
