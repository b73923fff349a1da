// `npm run bench` (scripts/bench.mjs): the render benchmark inside workerd. Kept apart from
// vitest.config.ts so `npm test` (test/**/*.test.ts) never runs it.
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" } })],
  test: {
    globalSetup: ["./test/global-setup.ts"],
    include: ["bench/**/*.bench.ts"],
    testTimeout: 120_000,
  },
});
