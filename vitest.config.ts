import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_SECRETS } from "./test/global-setup";

/**
 * Two projects under one `npm test`:
 * - `workers`: test/**, inside workerd (the Workers Vitest integration) on Miniflare's real KV,
 *   Cache API and the dev origin over HTTP;
 * - `node`: test-node/**, in Node, for the parts that run outside Workers (the relay, the CLI),
 *   against a real redis-server and the edge served by Miniflare (test-node/global-setup.ts).
 */
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml", environment: "dev" },
            miniflare: {
              // Test secrets (test-node/harness/workers.ts): the vectors' secrets where the
              // backend's vectors fix them, fixed strings for the edge's own; the dev origin
              // started by the global setup gets the same ones.
              bindings: {
                ...TEST_SECRETS,
                // The dev origin, served over real HTTP by test/global-setup.ts.
                ORIGIN_URL: inject("originUrl"),
              },
            },
          })),
        ],
        test: {
          name: "workers",
          globalSetup: ["./test/global-setup.ts"],
          include: ["test/**/*.test.ts"],
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
