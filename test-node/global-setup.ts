/**
 * Global setup of the node test project (tests that run in Node, not inside workerd): a real
 * `redis-server`, the dev origin, and the edge (wrangler.toml's `dev` environment, the test
 * secrets) served over loopback HTTP by Miniflare. Tests read their addresses with `inject`.
 */
import type { TestProject } from "vitest/node";
import { startRedis } from "./harness/redis";
import { TEST_SECRETS, startDevOrigin, startEdge } from "./harness/workers";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startRedis();
  const origin = await startDevOrigin();
  const edge = await startEdge({ originUrl: origin.url });
  project.provide("redisUrl", redis.url);
  project.provide("originUrl", origin.url);
  project.provide("edgeUrl", edge.url);
  project.provide("edgeAdminSecret", TEST_SECRETS.EDGE_ADMIN_JWT_SECRET);
  return async () => {
    await edge.dispose();
    await origin.dispose();
    await redis.stop();
  };
}
