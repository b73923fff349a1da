// `npm run bench` (scripts/bench.mjs): the render benchmark and the request-path benchmark inside
// workerd. Kept apart from vitest.config.ts so `npm test` (test/**/*.test.ts) never runs it.
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_SECRETS } from "./test/global-setup.ts";

// The plugin reads wrangler.toml through wrangler once per test file, and wrangler says "Using
// secrets defined in .dev.vars" each time at its default level (the tests override those secrets
// anyway). Warnings and errors still print; WRANGLER_LOG set by the caller wins.
process.env.WRANGLER_LOG ??= "warn";

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: "./wrangler.toml", environment: "dev" },
      miniflare: {
        // As in vitest.config.ts: the test secrets on both Workers, and the dev origin that
        // test/global-setup.ts serves on a loopback port (bench/request-path.bench.ts calls it).
        bindings: { ...TEST_SECRETS, ORIGIN_URL: inject("originUrl"), REQUEST_LOG: "off" },
      },
    })),
  ],
  test: {
    globalSetup: ["./test/global-setup.ts"],
    include: ["bench/**/*.bench.ts"],
    // One bench file at a time: on a 2-core machine two would measure each other.
    fileParallelism: false,
    testTimeout: 300_000, // the request path now also times fills with and without the shield
  },
});
