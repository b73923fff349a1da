import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_SECRETS } from "./test/global-setup";

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: "./wrangler.toml", environment: "dev" },
      miniflare: {
        // Test secrets (test/global-setup.ts): the vectors' secrets where the backend's vectors fix
        // them (../shared/vectors/blocks.json meta.secrets), fixed strings for the edge's own; the
        // dev origin started by the global setup gets the same ones.
        bindings: {
          ...TEST_SECRETS,
          // The dev origin, served over real HTTP by test/global-setup.ts.
          ORIGIN_URL: inject("originUrl"),
        },
      },
    })),
  ],
  test: {
    globalSetup: ["./test/global-setup.ts"],
    include: ["test/**/*.test.ts"],
  },
});
