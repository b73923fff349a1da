/**
 * The relay end to end: each channel gets a real message published into a real Redis, and the
 * effect is read back from a real edge through its admin API. Bad messages are logged and
 * skipped. (Reconnects and edge outages, which need their own Redis and edge: outage.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { laMidnightStartOf, laUnixDate } from "../../src/keys";
import { CHANNELS } from "../../relay/channels";
import { homeScreenImagePurgeKeys } from "../../relay/decode/binary";
import { startHttpRecorder } from "../harness/http-recorder";
import { startRedis } from "../harness/redis";
import { startTestRelay, listKeys, putKey, readKey, type TestRelay } from "./helpers";
import { b64, concat, enc, fDate, gzipJson, journeyHeader, loadVectors, prefixed, u16, u32, u64, u8 } from "./messages";

let t: TestRelay;
beforeAll(async () => {
  t = await startTestRelay();
});
afterAll(async () => {
  await t.stop();
});

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const vectors = loadVectors();

describe("fills and evictions from the fixture's real messages", () => {
  it("ps:journeys:external:push_cache: 13 fills store the exact templates; the evict removes one", async () => {
    const fills = vectors.filter((v) => v.pubsub_fill?.channel === "ps:journeys:external:push_cache");
    expect(fills).toHaveLength(13);
    for (const vector of fills) await t.publish(vector.pubsub_fill.channel, b64(vector.pubsub_fill.message_b64));
    for (const vector of fills) {
      const stored = await readKey(vector.cache_key);
      expect(stored.status, vector.id).toBe(200);
      expect(Buffer.from(stored.bytes).toString("base64"), vector.id).toBe(vector.cached_bytes_b64);
    }
    const evict = vectors.find((v) => v.id === "pubsub-journey-evict");
    await t.publish(evict.pubsub_evict.channel, b64(evict.pubsub_evict.message_b64));
    expect((await readKey("journeys:external:oseh_j_Kq3vYk1nX0b2TQ7eW5m9Rg")).status).toBe(404);
  });

  it("ps:journeys:external:push_cache: the jobs server's evict (json.dumps, with spaces)", async () => {
    const key = "journeys:external:oseh_j_SaMpLeOnLy000000000000";
    expect((await readKey(key)).status).toBe(200);
    await t.publish(
      "ps:journeys:external:push_cache",
      journeyHeader('{"uid": "oseh_j_SaMpLeOnLy000000000000", "min_checked_at": 1700000000.123, "have_updated": false}'),
    );
    expect((await readKey(key)).status).toBe(404);
  });

  it("ps:interactive_prompts:push_cache: 4 fills, then their evictions", async () => {
    const prompts = vectors.filter((v) => v.pubsub_fill?.channel === "ps:interactive_prompts:push_cache");
    expect(prompts).toHaveLength(4);
    for (const vector of prompts) {
      await t.publish(vector.pubsub_fill.channel, b64(vector.pubsub_fill.message_b64));
      expect(Buffer.from((await readKey(vector.cache_key)).bytes).toString("base64"), vector.id).toBe(vector.cached_bytes_b64);
      await t.publish(vector.pubsub_evict.channel, b64(vector.pubsub_evict.message_b64));
      expect((await readKey(vector.cache_key)).status, vector.id).toBe(404);
    }
  });

  it("ps:transcripts and ps:journey_share_links:top_sharers store u64-prefixed blobs", async () => {
    const blobs = vectors.filter((v) => ["ps:transcripts", "ps:journey_share_links:top_sharers"].includes(v.pubsub_fill?.channel));
    expect(blobs).toHaveLength(4);
    for (const vector of blobs) {
      await t.publish(vector.pubsub_fill.channel, b64(vector.pubsub_fill.message_b64));
      expect(Buffer.from((await readKey(vector.cache_key)).bytes).toString("base64"), vector.id).toBe(vector.cached_bytes_b64);
    }
  });
});

describe("every other channel", () => {
  it("ps:journey_subcategory_view_stats: today's chart until the LA midnight; a past date is skipped", async () => {
    const today = laUnixDate(Date.now() / 1000);
    const body = '{"items":[{"subcategory":"calm","total_views":3}]}';
    await t.publish("ps:journey_subcategory_view_stats", concat(u32(today), enc(body)));
    const stored = await readKey(`journey_subcategory_view_stats:${today}`);
    expect(text(stored.bytes)).toBe(body);
    expect(stored.expiresAt).toBe(laMidnightStartOf(today + 1));

    await t.publish("ps:journey_subcategory_view_stats", concat(u32(today - 2), enc(body)));
    expect((await readKey(`journey_subcategory_view_stats:${today - 2}`)).status).toBe(404);
    expect(t.logs.some((l) => l.event === "message_skipped" && l.fields.channel === "ps:journey_subcategory_view_stats")).toBe(true);
  });

  it("F-DATE: each of the 20 ps:stats:*:daily channels fills its family", async () => {
    const daily = CHANNELS.filter((spec) => spec.channel.startsWith("ps:stats:"));
    expect(daily).toHaveLength(20);
    const gz = gzipJson({ labels: ["2025-01-01"], total: [1] });
    for (const spec of daily) await t.publish(spec.channel, fDate(20000, 20090, gz));
    for (const spec of daily) {
      const key = `${spec.family.slice(0, spec.family.indexOf("{"))}20000:20090`;
      expect(Buffer.from((await readKey(key)).bytes).equals(Buffer.from(gz)), key).toBe(true);
    }
  });

  it("F-RC ps:revenue_cat:offerings and F-STRIPE ps:stripe:products:prices", async () => {
    const offerings = gzipJson({ current_offering_id: "default", offerings: [] });
    await t.publish("ps:revenue_cat:offerings", concat(prefixed(u16, enc("oseh_u_rc_relay1")), prefixed(u8, enc("appstore")), prefixed(u64, offerings)));
    expect(Buffer.from((await readKey("revenue_cat:offerings:oseh_u_rc_relay1:appstore")).bytes).equals(Buffer.from(offerings))).toBe(true);

    const price = gzipJson({ uid: "price_1", currency: "usd", unit_amount: 999 });
    await t.publish("ps:stripe:products:prices", concat(prefixed(u16, enc("prod_relay1")), prefixed(u64, price)));
    expect(Buffer.from((await readKey("stripe:abridged_prices:prod_relay1")).bytes).equals(Buffer.from(price))).toBe(true);
  });

  it("F-EMAIL ps:email_images: a lookup result fills; an unknown marker deletes; a not_found is never written", async () => {
    const doc = (type: string, uid = "oseh_eim_relay1", extra: Record<string, unknown> = {}) => enc(JSON.stringify({ type, email_image_uid: uid, ext: "png", ...extra }));
    const badExt = doc("bad_ext", "oseh_eim_relay1", { checked: true });
    await t.publish("ps:email_images", prefixed(u64, badExt));
    expect(text((await readKey("email_images:oseh_eim_relay1:png")).bytes)).toBe(text(badExt));
    await t.publish("ps:email_images", prefixed(u64, doc("unknown")));
    expect((await readKey("email_images:oseh_eim_relay1:png")).status).toBe(404);
    // A made-up uid's not_found stays colo-local at the edge: the relay stores nothing and says why.
    await t.publish("ps:email_images", prefixed(u64, doc("not_found", "oseh_eim_relayMadeUp1")));
    expect((await readKey("email_images:oseh_eim_relayMadeUp1:png")).status).toBe(404);
    expect(t.logs).toContainEqual({ level: "info", event: "message_skipped", fields: { channel: "ps:email_images", detail: "a negative answer of email_images:{uid}:{ext} stays colo-local at the edge" } });
  });

  it("F-HSI ps:home_screen_images:available: a fill; a purge of the 28-key window only", async () => {
    const gz = gzipJson([{ home_screen_image_uid: "oseh_hsi_x", start_time: 0, end_time: 86400 }]);
    const window = homeScreenImagePurgeKeys(Date.now() / 1000);
    const inWindow = window[10] as string; // e.g. home_screen_images:<date>:False:False of day 2
    const date = inWindow.split(":")[1] as string;
    await t.publish("ps:home_screen_images:available", concat(u8(1), enc(date), u8(0), u8(1), prefixed(u64, gz)));
    const filled = `home_screen_images:${date}:False:True`;
    expect(Buffer.from((await readKey(filled)).bytes).equals(Buffer.from(gz))).toBe(true);
    const outside = "home_screen_images:2020-01-01:True:True";
    await putKey(outside, gz);

    await t.publish("ps:home_screen_images:available", u8(0));
    expect((await readKey(filled)).status).toBe(404);
    expect((await readKey(outside)).status).toBe(200); // the backend never purges outside the window
  });

  it("F-GENDER ps:users:gender: fill, then purge", async () => {
    const sub = prefixed(u16, enc("oseh_u_relayGender1"));
    const value = '{"gender":"female","source":{"type":"by-first-name","payload":{}}}';
    await t.publish("ps:users:gender", concat(u8(1), sub, prefixed(u64, enc(value))));
    expect(text((await readKey("users:gender:oseh_u_relayGender1")).bytes)).toBe(value);
    await t.publish("ps:users:gender", concat(u8(0), sub));
    expect((await readKey("users:gender:oseh_u_relayGender1")).status).toBe(404);
  });

  it("F-STICKY ps:sticky_random_groups: set, then delete (write-only family: observed by listing)", async () => {
    const name = prefixed(u32, enc("relay-group"));
    await t.publish("ps:sticky_random_groups", concat(name, u8(1), new Uint8Array(32).fill(7)));
    expect(await listKeys("sticky_random_group_number:relay-group")).toEqual(["sticky_random_group_number:relay-group"]);
    expect((await readKey("sticky_random_group_number:relay-group")).status).toBe(403);
    await t.publish("ps:sticky_random_groups", concat(name, u8(0)));
    expect(await listKeys("sticky_random_group_number:relay-group")).toEqual([]);
  });

  it("F-FLOW ps:client_flows: type 0 deletes both forms; type 1 is a documented skip", async () => {
    await putKey("client_flows:relay-flow", '{"uid":"oseh_cf_x"}');
    await putKey("client_flows:relay-flow:full", '{"uid":"oseh_cf_x"}');
    await t.publish("ps:client_flows", concat(u8(0), prefixed(u32, enc("relay-flow"))));
    expect(await listKeys("client_flows:relay-flow")).toEqual([]);
    const skippedBefore = t.counters().skipped;
    await t.publish("ps:client_flows", u8(1));
    expect(t.counters().skipped).toBe(skippedBefore + 1);
  });

  it("F-SCREEN ps:client_screens: delete", async () => {
    await putKey("client_screens:relay-screen", '{"uid":"oseh_cs_x","slug":"relay-screen","schema":{},"flags":0}');
    await t.publish("ps:client_screens", prefixed(u32, enc("relay-screen")));
    expect((await readKey("client_screens:relay-screen")).status).toBe(404);
  });

  it("F-JSON ps:emotion_content_statistics:push_cache: a list is stored as {stats}; null deletes", async () => {
    const stats = [{ emotion: { word: "calm", antonym: "anxious" }, num_journeys: 12 }];
    await t.publish("ps:emotion_content_statistics:push_cache", enc(JSON.stringify({ replace_stats: stats })));
    expect(text((await readKey("emotion_content_statistics")).bytes)).toBe(JSON.stringify({ stats }));
    await t.publish("ps:emotion_content_statistics:push_cache", enc('{"replace_stats": null}'));
    expect((await readKey("emotion_content_statistics")).status).toBe(404);
  });

  it("ps:entitlements:purge deletes the user's entitlements", async () => {
    await putKey("entitlements:oseh_u_relayEnt1", '{"entitlements":{}}');
    await t.publish("ps:entitlements:purge", enc(`{"user_sub":"oseh_u_relayEnt1","min_checked_at":${Date.now() / 1000}}`));
    expect((await readKey("entitlements:oseh_u_relayEnt1")).status).toBe(404);
  });

  it("ps:interactive_prompts:profile_pictures:push_cache: fill, then evict", async () => {
    const header = (updated: boolean) =>
      `{"uid":"oseh_ip_relayPics1","prompt_time":6,"min_checked_at":${Date.now() / 1000},"have_updated":${updated}}`;
    const list = '{"interactive_prompt_uid":"oseh_ip_relayPics1","prompt_time":6,"fetched_at":1.0,"profile_pictures":[]}';
    await t.publish("ps:interactive_prompts:profile_pictures:push_cache", journeyHeader(header(true), enc(list)));
    expect(text((await readKey("interactive_prompts:profile_pictures:oseh_ip_relayPics1:6")).bytes)).toBe(list);
    await t.publish("ps:interactive_prompts:profile_pictures:push_cache", journeyHeader(header(false)));
    expect((await readKey("interactive_prompts:profile_pictures:oseh_ip_relayPics1:6")).status).toBe(404);
  });

  it("ps:interactive_prompts:meta:push_cache: the bare uid evicts the meta", async () => {
    await putKey("interactive_prompts:oseh_ip_relayMeta1:meta", '{"uid":"oseh_ip_relayMeta1"}');
    await t.publish("ps:interactive_prompts:meta:push_cache", enc("oseh_ip_relayMeta1"));
    expect((await readKey("interactive_prompts:oseh_ip_relayMeta1:meta")).status).toBe(404);
  });
});

describe("ordering", () => {
  it("messages for one key are applied in the order Redis delivered them", async () => {
    const sub = prefixed(u16, enc("oseh_u_relayOrder1"));
    const fill = (gender: string) => concat(u8(1), sub, prefixed(u64, enc(`{"gender":"${gender}"}`)));
    const burst = [fill("male"), concat(u8(0), sub), fill("female"), concat(u8(0), sub), fill("nonbinary")];
    for (const message of burst) await t.publish("ps:users:gender", message, { settle: false });
    await t.relay.idle();
    expect(text((await readKey("users:gender:oseh_u_relayOrder1")).bytes)).toBe('{"gender":"nonbinary"}');
  });
});

describe("bad input", () => {
  it("a malformed message on any channel is logged with its channel and a hex preview, and skipped", async () => {
    for (const spec of CHANNELS) {
      // 0xff breaks every framing except F-HSI, where any first byte but 1 is a purge.
      const bad = spec.channel === "ps:home_screen_images:available" ? Uint8Array.of(1, 0x32) : Uint8Array.of(0xff);
      const before = t.counters().malformed;
      await t.publish(spec.channel, bad);
      expect(t.counters().malformed, spec.channel).toBe(before + 1);
      const line = t.logs.findLast((l) => l.event === "malformed_message");
      expect(line?.fields, spec.channel).toMatchObject({ channel: spec.channel, hex: Buffer.from(bad).toString("hex"), bytes: bad.byteLength });
    }
    // Still working afterwards.
    await t.publish("ps:client_screens", prefixed(u32, enc("still-alive")));
    expect(t.relay.health().ok).toBe(true);
  });

  it("a value the edge refuses (a template whose marker is not a uid) is logged as rejected, not retried", async () => {
    const template = concat(u32(2), u8(1), enc("{}"), u32(3), u8(3), enc("abc"));
    const header = '{"uid":"oseh_j_relayRejected1","min_checked_at":1.0,"have_updated":true}';
    const before = t.counters();
    await t.publish("ps:journeys:external:push_cache", journeyHeader(header, template));
    expect(t.counters().rejected).toBe(before.rejected + 1);
    expect(t.counters().retried).toBe(before.retried);
    expect(t.logs.findLast((l) => l.event === "edge_rejected")?.fields).toMatchObject({ status: 422, target: "journeys:external:oseh_j_relayRejected1" });
    expect((await readKey("journeys:external:oseh_j_relayRejected1")).status).toBe(404);
  });
});

describe("what the relay sends and reports", () => {
  it("every call carries a short-lived bearer token and X-Edge-Source-Time; dated fills X-Edge-Expires-At", async () => {
    // Its own Redis, so the main relay does not apply these messages too (and vice versa).
    const redis = await startRedis();
    const recorder = await startHttpRecorder(inject("edgeUrl"));
    const own = await startTestRelay({ redisUrl: redis.url, edgeUrl: recorder.url });
    try {
      const today = laUnixDate(Date.now() / 1000);
      await own.publish("ps:journey_subcategory_view_stats", concat(u32(today), enc('{"items":[]}')));
      await own.publish("ps:entitlements:purge", enc('{"user_sub":"oseh_u_relayHdr1","min_checked_at":1764547000.25}'));
      const [put, del] = recorder.requests.filter((r) => r.path.startsWith("/_edge/v1/keys/"));
      expect(put?.method).toBe("PUT");
      expect(put?.headers["x-edge-expires-at"]).toBe(String(laMidnightStartOf(today + 1)));
      expect(Number(put?.headers["x-edge-source-time"])).toBeGreaterThan(1_700_000_000);
      expect(del).toMatchObject({ method: "DELETE", path: `/_edge/v1/keys/${encodeURIComponent("entitlements:oseh_u_relayHdr1")}` });
      expect(del?.headers["x-edge-source-time"]).toBe("1764547000.25"); // the framing's time, exactly
      const token = String(put?.headers.authorization).replace(/^bearer /, "");
      const claims = JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString()) as { exp: number; iat: number; aud: string };
      expect(claims.aud).toBe("oseh-edge-admin");
      expect(claims.exp - claims.iat).toBeLessThanOrEqual(300);
    } finally {
      await own.stop();
      await recorder.close();
      await redis.stop();
    }
  });

  it("GET /healthz reports the subscription, the edge, the queue and the counters", async () => {
    const response = await fetch(`${t.relay.healthUrl}/healthz`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ ok: true, redis: "subscribed", edge: "ok", queueDepth: 0 });
    expect(body.counters).toMatchObject({ received: expect.any(Number), applied: expect.any(Number), malformed: expect.any(Number) });
    expect((await fetch(`${t.relay.healthUrl}/other`)).status).toBe(404);
  });
});
