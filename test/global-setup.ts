/**
 * Runs in Node before the workerd test pool starts: reads the golden vectors from the repo's
 * fixture (test/fixtures/blocks.json, see its README) and hands them to the tests via `inject`, and
 * starts the dev origin (dev/origin) under its own Miniflare on a loopback port, so the edge's
 * integration tests talk to it over real HTTP (`inject("originUrl")`, the edge's ORIGIN_URL).
 * The dev origin's test controls need a bearer secret that the edge must not hold: it is made
 * here, bound to the dev origin only, and handed to the tests (`inject("devControlSecret")`,
 * used by test/helpers/dev-origin.ts alone).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { startDevOrigin } from "../test-node/harness/workers.ts";

export { TEST_SECRETS } from "../test-node/harness/workers.ts";

/** The golden vectors: data from the backend's serializers, kept in the repo (test/fixtures/README.md). */
export const VECTORS_PATH = fileURLToPath(new URL("./fixtures/blocks.json", import.meta.url));

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  project.provide("blocksVectorsJson", readFileSync(VECTORS_PATH, "utf8"));

  const controlSecret = randomBytes(24).toString("base64url");
  const origin = await startDevOrigin({ controlSecret });
  project.provide("originUrl", origin.url);
  project.provide("devControlSecret", controlSecret);
  return origin.dispose;
}
