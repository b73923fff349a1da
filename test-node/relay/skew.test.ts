/**
 * Clock skew between the backend (whose event times the relay sends as `X-Edge-Source-Time`) and
 * the edge, which refuses a source time more than 60 s ahead of its clock (docs/admin-api.md): the
 * relay sends the action once more with the time it received the message and logs the skew
 * (docs/relay.md "Times"); if its own clock is ahead too, an eviction goes without a source time,
 * never dropped. Against the real edge and a real Redis; a recorder in front of the edge shows
 * what each call carried.
 */
import { afterEach, describe, expect, inject, it } from "vitest";
import { startHttpRecorder, type HttpRecorder } from "../harness/http-recorder";
import { startRedis, type RedisServer } from "../harness/redis";
import { putKey, readKey, startTestRelay, type TestRelay } from "./helpers";
import { enc, journeyHeader } from "./messages";

const CHANNEL = "ps:interactive_prompts:profile_pictures:push_cache";
const DAY = 86_400;
const wallNow = () => Date.now() / 1000;

let running: { relay: TestRelay; recorder: HttpRecorder; redis: RedisServer } | undefined;
afterEach(async () => {
  await running?.relay.stop();
  await running?.recorder.close();
  await running?.redis.stop();
  running = undefined;
});

/** A relay of its own (own Redis, so the shared relay does not apply these too), behind a recorder. */
async function start(now?: () => number): Promise<{ relay: TestRelay; recorder: HttpRecorder }> {
  const redis = await startRedis();
  const recorder = await startHttpRecorder(inject("edgeUrl"));
  const relay = await startTestRelay({ redisUrl: redis.url, edgeUrl: recorder.url }, now === undefined ? {} : { now });
  running = { relay, recorder, redis };
  return { relay, recorder };
}

function pictures(uid: string, minCheckedAt: number, list?: string): Uint8Array {
  const header = JSON.stringify({ uid, prompt_time: 6, min_checked_at: minCheckedAt, have_updated: list !== undefined });
  return journeyHeader(header, list === undefined ? undefined : enc(list));
}

const listOf = (uid: string) => `{"interactive_prompt_uid":"${uid}","prompt_time":6,"fetched_at":1.0,"profile_pictures":[]}`;
const keyOf = (uid: string) => `interactive_prompts:profile_pictures:${uid}:6`;

function sentTimes(recorder: HttpRecorder, method: string, key: string): (string | undefined)[] {
  return recorder.requests
    .filter((r) => r.method === method && r.path === `/_edge/v1/keys/${encodeURIComponent(key)}`)
    .map((r) => r.headers["x-edge-source-time"] as string | undefined);
}

describe("the backend's clock ahead of the edge's", () => {
  it("a fill and an eviction stamped a day ahead: each refused once, sent again with the receipt time, applied; the skew logged", async () => {
    const { relay, recorder } = await start();
    const uid = `oseh_ip_skew${Date.now().toString(36)}`;
    const key = keyOf(uid);
    const ahead = wallNow() + DAY;

    await relay.publish(CHANNEL, pictures(uid, ahead, listOf(uid)));
    expect(new TextDecoder().decode((await readKey(key)).bytes)).toBe(listOf(uid));
    const puts = sentTimes(recorder, "PUT", key);
    expect(puts).toHaveLength(2);
    expect(puts[0]).toBe(String(ahead));
    expect(Math.abs(Number(puts[1]) - wallNow())).toBeLessThan(30); // the receipt time

    await relay.publish(CHANNEL, pictures(uid, ahead));
    expect((await readKey(key)).status).toBe(404);
    expect(sentTimes(recorder, "DELETE", key)).toHaveLength(2);

    const skews = relay.logs.filter((line) => line.event === "source_time_skew");
    expect(skews).toHaveLength(2);
    for (const line of skews) {
      expect(line.level).toBe("warn");
      expect(line.fields).toMatchObject({ channel: CHANNEL, target: key, sourceTime: ahead, detail: expect.stringMatching(/^400 bad_request: X-Edge-Source-Time is more than 60 s ahead/) });
      expect(Number(line.fields.skewSeconds)).toBeGreaterThan(DAY - 30);
      expect(Number(line.fields.skewSeconds)).toBeLessThanOrEqual(DAY);
    }
    expect(relay.counters()).toMatchObject({ skewed: 2, rejected: 0 });
    expect(relay.logs.filter((line) => line.level === "error")).toEqual([]);

    // The marks left at the edge are the receipt times: the backend's next eviction, stamped with
    // a now the edge accepts, is not answered 409.
    await putKey(key, listOf(uid));
    await relay.publish(CHANNEL, pictures(uid, wallNow()));
    expect((await readKey(key)).status).toBe(404);
    expect(relay.counters()).toMatchObject({ skewed: 2, rejected: 0 });
  });
});

describe("the relay's own clock ahead of the edge's", () => {
  it("an eviction is sent without a source time rather than dropped; a fill is refused and logged", async () => {
    const { relay, recorder } = await start(() => wallNow() + 600);
    const uid = `oseh_ip_ahead${Date.now().toString(36)}`;
    const key = keyOf(uid);
    await putKey(key, listOf(uid));

    await relay.publish(CHANNEL, pictures(uid, wallNow() + 590));
    expect((await readKey(key)).status).toBe(404);
    const deletes = sentTimes(recorder, "DELETE", key);
    expect(deletes).toHaveLength(3);
    expect(deletes[2]).toBeUndefined(); // the last one: no X-Edge-Source-Time
    expect(relay.logs.find((line) => line.event === "eviction_without_source_time")).toMatchObject({ level: "error", fields: { target: key, sourceTime: expect.any(Number) } });

    await relay.publish(CHANNEL, pictures(uid, wallNow() + 590, listOf(uid)));
    expect((await readKey(key)).status).toBe(404);
    expect(sentTimes(recorder, "PUT", key)).toHaveLength(2);
    expect(relay.logs.findLast((line) => line.event === "edge_rejected")).toMatchObject({ level: "error", fields: { status: 400, target: key } });
    expect(relay.counters()).toMatchObject({ skewed: 2, rejected: 1 });
  });
});
