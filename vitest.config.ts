import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_SECRETS } from "./test/global-setup.ts";

// The plugin reads wrangler.toml through wrangler once per test file, and wrangler says "Using
// secrets defined in .dev.vars" each time at its default level (the tests override those secrets
// anyway). Warnings and errors still print; WRANGLER_LOG set by the caller wins.
process.env.WRANGLER_LOG ??= "warn";

/**
 * Two projects under one `npm test`:
 * - `workers`: test/**, inside workerd (the Workers Vitest integration) on Miniflare's real KV,
 *   Cache API and the dev origin over HTTP;
 * - `node`: test-node/**, in Node, for the parts that run outside Workers (the relay, the CLI),
 *   against a real redis-server and the edge served by Miniflare (test-node/global-setup.ts).
 */
/**
 * The Workers Vitest integration for the workers projects: wrangler.toml's dev environment, the
 * test entry (src/index.ts with the shields' storage reachable, test/entry.ts), the test secrets
 * and the dev origin. `bindings` are added on top of the shared ones, so a project can pin what its
 * tests rely on for the shields too (a Durable Object reads the project's bindings, not the env a
 * test passes to the Worker's fetch).
 */
function workersPool(bindings: Record<string, string> = {}) {
  return cloudflareTest(({ inject }) => ({
    wrangler: { configPath: "./wrangler.toml", environment: "dev" },
    // src/index.ts with the shields' storage reachable by tests (test/entry.ts).
    main: "./test/entry.ts",
    // workerd's verbose mode prints its internal trace of every failed connection, even
    // one the Worker catches (the origin-down fault tests make them on purpose). Console
    // output and test failures still print.
    verbose: false,
    miniflare: {
      // Test secrets (test-node/harness/workers.ts): the vectors' secrets where the
      // backend's vectors fix them, fixed strings for the edge's own; the dev origin
      // started by the global setup gets the same ones.
      bindings: {
        ...TEST_SECRETS,
        // The dev origin, served over real HTTP by test/global-setup.ts.
        ORIGIN_URL: inject("originUrl"),
        // One JSON line per request would bury the test output; test/observe turns it back on.
        REQUEST_LOG: "off",
        // Small, so the dev origin's ordinary values exercise "too large for the shield's
        // own storage: KV only" (flags like auth:is_admin still fit).
        SHIELD_MAX_VALUE_BYTES: "64",
        // The shields' mark window (docs/storage-schema.md §Shield): the production default,
        // pinned so a local .dev.vars cannot change what test/security/source-times asserts.
        SOURCE_TIME_WINDOW_SECONDS: "3600",
        // The rest of what the shields' fills rely on, at production's values: a shield parses
        // these bindings, not the env a test hands the Worker (test/helpers/worker.ts
        // `productionEnv` pins the same for the Worker), so a .dev.vars with another
        // ORIGIN_TIMEOUT_MS cannot time out a fill a test expects to finish.
        ORIGIN_TIMEOUT_MS: "5000",
        L1_MAX_AGE_SECONDS: "30",
        STALE_IF_ERROR_SECONDS: "300",
        L0_MAX_BYTES: "8388608",
        ...bindings,
      },
    },
  }));
}

/**
 * The consistency checker (test/consistency/, docs/reliability.md "Consistency") runs in a project
 * of its own so the shields run with the settings its model relies on, the same the Worker gets:
 * a short ORIGIN_TIMEOUT_MS (a timeout fault costs little real time), the production L0, and a
 * shield value limit between the checker's small and large values. Sizes come from the
 * environment (`npm run check:consistency`; unset: the CI-sized run, which also holds each rule
 * switched off to being caught within the CI budget). The mutants file, which measures how many
 * histories each took, runs only when a mutant is named (`npm run check:consistency -- --mutants`).
 */
export const CONSISTENCY_BINDINGS = {
  ORIGIN_TIMEOUT_MS: "800",
  L0_MAX_BYTES: "8388608",
  L1_CACHE: "on",
  L1_MAX_AGE_SECONDS: "30",
  STALE_IF_ERROR_SECONDS: "300",
  SHIELD_MAX_VALUE_BYTES: "160",
  SOURCE_TIME_WINDOW_SECONDS: "3600",
  COLLAB_MAX_SECONDS: "604800",
  EDGE_MODE: "edge",
  EDGE_DISABLED_FAMILIES: "",
  MEDIA_LEASE_MS: "120000",
} as const;

const consistencyRun = {
  CONSISTENCY_SEED: process.env.CONSISTENCY_SEED ?? "",
  CONSISTENCY_RUNS: process.env.CONSISTENCY_RUNS ?? "",
  CONSISTENCY_OPS: process.env.CONSISTENCY_OPS ?? "",
  CONSISTENCY_MUTANT: process.env.CONSISTENCY_MUTANT ?? "",
  CONSISTENCY_REPORT: process.env.CONSISTENCY_REPORT ?? "",
};

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [workersPool()],
        test: {
          name: "workers",
          // A shared 2-core machine runs this project beside the node project (real servers, a
          // browser): the byte-equality tests over real HTTP can take seconds there.
          testTimeout: 20_000,
          globalSetup: ["./test/global-setup.ts"],
          include: ["test/**/*.test.ts"],
          exclude: ["test/consistency/**"],
        },
      },
      {
        plugins: [workersPool({ ...CONSISTENCY_BINDINGS, ...consistencyRun })],
        test: {
          name: "consistency",
          // A long run (`npm run check:consistency` sets the size) takes as long as it was asked to.
          testTimeout: process.env.CONSISTENCY_RUNS ? 3_600_000 : 300_000,
          globalSetup: ["./test/global-setup.ts"],
          include: ["test/consistency/**/*.test.ts"],
          exclude: process.env.CONSISTENCY_MUTANT ? [] : ["test/consistency/mutants.test.ts"],
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          globalSetup: ["./test-node/global-setup.ts"],
          include: ["test-node/**/*.test.ts"],
          // Servers started per file (a second edge, a second redis) take a moment on 2 cores.
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
