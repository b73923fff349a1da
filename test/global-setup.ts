/**
 * Runs in Node before the workerd test pool starts: reads the golden vectors from the repo's
 * fixture (test/fixtures/blocks.json, see its README) and hands them to the tests via `inject`, and
 * starts the dev origin (dev/origin) under its own Miniflare on a loopback port, so the edge's
 * integration tests talk to it over real HTTP (`inject("originUrl")`, the edge's ORIGIN_URL).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import type { TestProject } from "vitest/node";

/**
 * The secrets of both Workers in tests, identical on both sides so tokens interoperate. The
 * backend's vectors fix the resource/id secrets (vectors/blocks.json meta.secrets).
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

const DEV_ORIGIN_ENTRY = fileURLToPath(new URL("../dev/origin/index.ts", import.meta.url));

/** Bundles the dev origin (it imports jose and src/render) and serves it on 127.0.0.1:<free port>. */
async function startDevOrigin(): Promise<{ url: string; dispose: () => Promise<void> }> {
  const bundle = await build({
    entryPoints: [DEV_ORIGIN_ENTRY],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    logLevel: "silent",
  });
  const script = bundle.outputFiles[0]?.text;
  if (script === undefined) throw new Error("esbuild produced no output for the dev origin");
  // Miniflare 5 takes its own options shape; the v4 one (as in dev/origin/wrangler.toml) converts.
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      workers: [
        {
          name: "oseh-dev-origin",
          modules: true,
          script,
          compatibilityDate: "2026-11-01",
          compatibilityFlags: ["nodejs_compat"],
          bindings: { ...TEST_SECRETS },
        },
      ],
    }),
  );
  const url = (await mf.ready).toString().replace(/\/+$/, "");
  return { url, dispose: () => mf.dispose() };
}

/** The golden vectors: data from the backend's serializers, kept in the repo (test/fixtures/README.md). */
export const VECTORS_PATH = fileURLToPath(new URL("./fixtures/blocks.json", import.meta.url));

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  project.provide("blocksVectorsJson", readFileSync(VECTORS_PATH, "utf8"));

  const origin = await startDevOrigin();
  project.provide("originUrl", origin.url);
  return origin.dispose;
}
