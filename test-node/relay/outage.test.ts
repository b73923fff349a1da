/**
 * The relay when its neighbours fail, each test with its own redis-server and edge (the shared
 * ones stay untouched): a Redis restart (messages may have been missed → the collab families are
 * purged) and an edge outage (retries, a bounded queue, and a purge of the overflowed families
 * once the edge is back).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startRedis, type RedisServer } from "../harness/redis";
import { startTcpProxy } from "../harness/tcp-proxy";
import { startEdge, type ServedWorker } from "../harness/workers";
import { listKeys, putKey, readKey, startTestRelay, waitFor } from "./helpers";
import { b64, enc, fDate, gzipJson, journeyHeader, loadVectors, prefixed, u32 } from "./messages";

let redis: RedisServer;
let edge: ServedWorker;
beforeAll(async () => {
  redis = await startRedis();
  edge = await startEdge({ originUrl: inject("originUrl") });
});
afterAll(async () => {
  await edge.dispose();
  await redis.stop();
});

const journey = loadVectors().find((v) => v.id === "journey-full");
const transcript = loadVectors().find((v) => v.id === "transcript-basic");

describe("a relay start", () => {
  it("purges the collab families (whatever was published while it was not running was missed)", async () => {
    await putKey("users:gender:oseh_u_start1", '{"gender":"male"}', edge.url);
    await putKey(transcript.cache_key, Buffer.from(transcript.cached_bytes_b64, "base64"), edge.url);
    const t = await startTestRelay({ redisUrl: redis.url, edgeUrl: edge.url }, { purgeCollabOnStart: true });
    try {
      await waitFor("the start purge", () => t.counters().collabPurges === 1);
      await t.relay.idle();
      expect((await readKey("users:gender:oseh_u_start1", edge.url)).status).toBe(404);
      expect((await readKey(transcript.cache_key, edge.url)).status).toBe(200);
      expect(t.logs.find((l) => l.event === "collab_purge")?.fields).toMatchObject({ reason: "started" });
    } finally {
      await t.stop();
    }
  });
});

describe("a Redis restart", () => {
  it("purges the collab families once resubscribed, keeps the fill-only ones, and resumes", async () => {
    const t = await startTestRelay({ redisUrl: redis.url, edgeUrl: edge.url });
    try {
      await putKey(journey.cache_key, Buffer.from(journey.cached_bytes_b64, "base64"), edge.url);
      await putKey("users:gender:oseh_u_restart1", '{"gender":"male"}', edge.url);
      await putKey("client_screens:restart", '{"uid":"oseh_cs_x"}', edge.url);
      await putKey(transcript.cache_key, Buffer.from(transcript.cached_bytes_b64, "base64"), edge.url);

      await redis.stop();
      await waitFor("the relay to see Redis go", () => t.relay.health().redis === "disconnected");
      expect((await fetch(`${t.relay.healthUrl}/healthz`)).status).toBe(503);
      await redis.start();
      await waitFor("the resubscribe purge", () => t.counters().collabPurges === 1);
      await t.relay.idle();

      expect((await readKey(journey.cache_key, edge.url)).status).toBe(404);
      expect((await readKey("users:gender:oseh_u_restart1", edge.url)).status).toBe(404);
      expect((await readKey("client_screens:restart", edge.url)).status).toBe(404);
      expect((await readKey(transcript.cache_key, edge.url)).status).toBe(200);
      expect(t.logs.filter((l) => l.event === "redis_disconnected")).toHaveLength(1);

      // Messages published after the restart are applied again (dated now: the fixture's own
      // message is dated 2023, older than the purge, and an edge that orders writes by source
      // time would rightly drop it).
      const header = JSON.stringify({ uid: journey.cache_key.split(":")[2], min_checked_at: Date.now() / 1000, have_updated: true });
      await t.publish(journey.pubsub_fill.channel, journeyHeader(header, b64(journey.cached_bytes_b64)));
      expect((await readKey(journey.cache_key, edge.url)).status).toBe(200);
      expect((await fetch(`${t.relay.healthUrl}/healthz`)).status).toBe(200);
    } finally {
      await t.stop();
    }
  });
});

describe("an edge outage", () => {
  it("queues and retries; past the queue's bound it drops and purges those families once the edge is back", async () => {
    const proxy = await startTcpProxy(edge.url);
    const t = await startTestRelay({ redisUrl: redis.url, edgeUrl: proxy.url, maxQueue: 3 });
    try {
      await putKey("client_screens:outage-a", '{"uid":"oseh_cs_a"}', edge.url);
      await putKey("client_screens:outage-b", '{"uid":"oseh_cs_b"}', edge.url);

      proxy.cut();
      const gz = gzipJson({ labels: [], total: [] });
      // One in flight (retrying) and three queued: the queue is full.
      for (let day = 0; day < 4; day++) await t.publish("ps:stats:sms_sends:daily", fDate(20000 + day, 20090, gz), { settle: false });
      await waitFor("retries", () => t.counters().retried >= 2);
      expect(t.relay.health()).toMatchObject({ edge: "failing", queueDepth: 3 });
      // This eviction finds no room: dropped, its family remembered.
      await t.publish("ps:client_screens", prefixed(u32, enc("outage-a")), { settle: false });
      expect(t.counters().dropped).toBe(1);
      expect(t.logs.filter((l) => l.event === "edge_unavailable")).toHaveLength(1);

      proxy.restore();
      await t.relay.idle();
      for (let day = 0; day < 4; day++) {
        expect((await readKey(`daily_sms_sends:${20000 + day}:20090`, edge.url)).status, `day ${day}`).toBe(200);
      }
      // The whole family was purged, so the dropped eviction is not missed (and b went too).
      expect(await listKeys("client_screens:outage-", edge.url)).toEqual([]);
      expect(t.relay.health()).toMatchObject({ edge: "ok", queueDepth: 0 });
      expect(t.logs.some((l) => l.event === "overflow_purge_queued" && l.fields.family === "client_screens:{slug}")).toBe(true);
      expect(t.logs.some((l) => l.event === "edge_recovered")).toBe(true);
    } finally {
      await t.stop();
      await proxy.close();
    }
  });
});
