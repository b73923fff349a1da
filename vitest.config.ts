import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        // Test secrets: the vectors' secrets where the backend's vectors fix them
        // (../shared/vectors/blocks.json meta.secrets), fixed strings for the edge's own.
        bindings: {
          ORIGIN_URL: "http://127.0.0.1:9/",
          OSEH_IMAGE_FILE_JWT_SECRET: "test-image-secret",
          OSEH_CONTENT_FILE_JWT_SECRET: "test-content-secret",
          OSEH_TRANSCRIPT_JWT_SECRET: "test-transcript-secret",
          OSEH_JOURNEY_JWT_SECRET: "test-journey-secret",
          OSEH_INTERACTIVE_PROMPT_JWT_SECRET: "test-interactive-prompt-secret",
          OSEH_ID_TOKEN_SECRET: "test-id-secret",
          EDGE_ADMIN_JWT_SECRET: "test-edge-admin-secret",
          EDGE_ORIGIN_JWT_SECRET: "test-edge-origin-secret",
        },
      },
    }),
  ],
  test: {
    globalSetup: ["./test/global-setup.ts"],
    include: ["test/**/*.test.ts"],
  },
});
