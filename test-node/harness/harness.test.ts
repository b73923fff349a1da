import { describe, expect, it, inject } from "vitest";
import { Redis } from "ioredis";
import { SignJWT } from "jose";
import { startRedis } from "./redis";
import { startBareWorker, startEdge, TEST_SECRETS } from "./workers";

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

  it("serves the edge with production's settings and the dev environment's alike (L0 on: a second read is an L0 hit), and L0 off when told", async () => {
    const now = Math.floor(Date.now() / 1000);
    const uid = "oseh_t_devTranscript00000000001";
    const token = await new SignJWT({ sub: uid, iss: "oseh", aud: "oseh-transcript", iat: now - 1, exp: now + 600 })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(new TextEncoder().encode(TEST_SECRETS.OSEH_TRANSCRIPT_JWT_SECRET));
    const secondRead = async (settings: "dev" | "production", vars: Record<string, string> = {}) => {
      const edge = await startEdge({ originUrl: inject("originUrl"), settings, vars });
      try {
        const read = () => fetch(`${edge.url}/api/1/transcripts/${uid}`, { headers: { authorization: `bearer ${token}` } });
        await (await read()).arrayBuffer();
        const again = await read();
        await again.arrayBuffer();
        return again.headers.get("cache-status");
      } finally {
        await edge.dispose();
      }
    };
    expect(await secondRead("production")).toBe("oseh-edge; hit; detail=l0");
    // [env.dev] is production's topology except EDGE_ENV and ORIGIN_URL (wrangler.toml).
    expect(await secondRead("dev")).toBe("oseh-edge; hit; detail=l0");
    expect(await secondRead("dev", { L0_MAX_BYTES: "0" })).not.toContain("detail=l0");
  });

  it("serves a bare Worker that forwards every request to the origin as it came", async () => {
    const bare = await startBareWorker({ originUrl: inject("originUrl") });
    try {
      const response = await fetch(`${bare.url}/api/1/dev/echo?x=1`, { method: "POST", body: "hello", headers: { "x-probe": "p" } });
      const direct = await fetch(`${inject("originUrl")}/api/1/dev/echo?x=1`, { method: "POST", body: "hello", headers: { "x-probe": "p" } });
      expect(response.status).toBe(direct.status);
      expect(response.headers.get("cache-status")).toBeNull(); // no edge in between
      // What the origin saw: the same method, path, query, body and headers (a Worker's fetch adds
      // `cf-worker`, and the connection header is the runtime's).
      type Echo = { method: string; path: string; query: string; body: string; headers: Record<string, string> };
      const seen = (await response.json()) as Echo;
      const straight = (await direct.json()) as Echo;
      const { "cf-worker": _worker, connection: _c1, ...forwarded } = seen.headers;
      const { connection: _c2, ...sent } = straight.headers;
      expect({ ...seen, headers: forwarded }).toEqual({ ...straight, headers: sent });
    } finally {
      await bare.dispose();
    }
  });
});
