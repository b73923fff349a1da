import { describe, expect, it, inject } from "vitest";
import { Redis } from "ioredis";
import { startRedis } from "./redis";

describe("node test harness", () => {
  it("serves the edge and the dev origin over loopback HTTP", async () => {
    const health = await fetch(`${inject("edgeUrl")}/_edge/v1/health`);
    expect(await health.json()).toEqual({ ok: true });
    const families = await fetch(`${inject("edgeUrl")}/_edge/v1/families`);
    expect(families.status).toBe(401); // the admin API wants a token
    expect(inject("originUrl")).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("runs a real redis-server that a test can stop and start again on the same port", async () => {
    const shared = new Redis(inject("redisUrl"), { lazyConnect: true });
    await shared.connect();
    expect(await shared.ping()).toBe("PONG");
    shared.disconnect();

    const own = await startRedis();
    try {
      const client = new Redis(own.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      await client.connect();
      await client.set("k", "v");
      await own.stop();
      await own.start();
      const again = new Redis(own.url, { lazyConnect: true });
      await again.connect();
      expect(await again.get("k")).toBeNull(); // a restart starts empty
      again.disconnect();
      client.disconnect();
    } finally {
      await own.stop();
    }
  });
});
