/**
 * Global setup of the node test project (tests that run in Node, not inside workerd): a real
 * `redis-server`, the dev origin, and the edge (wrangler.toml's `dev` environment, the test
 * secrets) served over loopback HTTP by Miniflare. Tests read their addresses with `inject`.
 */
import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { startRedis } from "./harness/redis";
import { TEST_SECRETS, startDevOrigin, startEdge } from "./harness/workers";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startRedis();
  // The dev origin's controls (docs/origin.md §8), for tests that change its values or hold its
  // answers; never given to the edge.
  const controlSecret = randomBytes(24).toString("base64url");
  const origin = await startDevOrigin({ controlSecret });
  const edge = await startEdge({ originUrl: origin.url });
  project.provide("redisUrl", redis.url);
  project.provide("originUrl", origin.url);
  project.provide("devControlSecret", controlSecret);
  project.provide("edgeUrl", edge.url);
  project.provide("edgeAdminSecret", TEST_SECRETS.EDGE_ADMIN_JWT_SECRET);
  return async () => {
    await edge.dispose();
    await origin.dispose();
    await redis.stop();
  };
}
