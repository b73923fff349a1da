/**
 * `X-Edge-Source-Time` marks (docs/admin-api.md "Ordering", docs/storage-schema.md §Shield,
 * docs/security.md §5): a source time far ahead of the edge's clock is refused, so one write
 * cannot pin a key; DELETEs and purges leave marks that make a retried older write late; every
 * mark lives until max(its value's expiry, its write + SOURCE_TIME_WINDOW_SECONDS) and the
 * shield's alarm removes it; an operator's purge without a source time unpins.
 *
 * Production configuration: the Worker's FAMILY_SHIELD and L0 on, on real Durable Objects and KV.
 * The clock is injected: the shield's is the callers' (`now` on every call), so advancing it
 * takes a call at the later time.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import { familyOf } from "../cache/helpers";
import { shieldNameFor, shieldNamesOfFamily, type FamilyShield } from "../../src/shield";
import { freshId } from "../dev-origin/helpers";
import { adminToken } from "../helpers/tokens";
import { callWorker } from "../helpers/worker";

/** The Worker as production runs it: shield bound, L0 on (wrangler.toml's production values). */
const EDGE_ENV = { ...(env as unknown as Record<string, unknown>), L0_MAX_BYTES: "8388608", SHIELD_SHARDS: "16" };
const SHARDS = parseConfig(EDGE_ENV).shieldShards;
/** The shields' own setting (they run on the test environment, where vitest.config.ts pins it). */
const WINDOW = parseConfig(env).sourceTimeWindowSeconds;
const binding = (env as unknown as { FAMILY_SHIELD: DurableObjectNamespace<FamilyShield> }).FAMILY_SHIELD;
const KV = (env as unknown as { CACHE: KVNamespace }).CACHE;
const EDGE = "https://edge.test";
const NOW = Math.floor(Date.now() / 1000);
const DAY = 86_400;

const stubNamed = (name: string) => binding.get(binding.idFromName(name));
const stubOf = (key: string) => stubNamed(shieldNameFor(familyOf(key), key, SHARDS));

async function admin(path: string, init: RequestInit, now: number): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `bearer ${await adminToken(now)}`);
  return callWorker(`${EDGE}/_edge/v1${path}`, { ...init, headers }, { now, env: EDGE_ENV });
}

const timed = (sourceTime: number | undefined): Record<string, string> =>
  sourceTime === undefined ? {} : { "X-Edge-Source-Time": String(sourceTime) };

const put = (key: string, body: string, sourceTime?: number, now = NOW) =>
  admin(`/keys/${encodeURIComponent(key)}`, { method: "PUT", body, headers: timed(sourceTime) }, now);
const del = (key: string, sourceTime?: number, now = NOW) =>
  admin(`/keys/${encodeURIComponent(key)}`, { method: "DELETE", headers: timed(sourceTime) }, now);
const purge = (selector: unknown, sourceTime?: number, now = NOW) =>
  admin("/purge", { method: "POST", body: JSON.stringify(selector), headers: { "Content-Type": "application/json", ...timed(sourceTime) } }, now);

async function status(response: Promise<Response>): Promise<number> {
  return (await response).status;
}

/**
 * The rows a shield keeps about source times: keys' marks (`source_times`, or only `key`'s) and
 * purges' marks (`purge_times`, a table older code does not have: 0 then).
 */
function markRows(stub: DurableObjectStub<FamilyShield>, key?: string): Promise<{ keys: number; purges: number }> {
  return runInDurableObject(stub, async (_instance: FamilyShield, state) => {
    const sql = state.storage.sql;
    const count = (query: string, ...bindings: string[]) => sql.exec<{ n: number }>(query, ...bindings).one().n;
    const hasPurges = count(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'purge_times'`) === 1;
    return {
      keys: key === undefined ? count(`SELECT count(*) AS n FROM source_times`) : count(`SELECT count(*) AS n FROM source_times WHERE key = ?`, key),
      purges: hasPurges ? count(`SELECT count(*) AS n FROM purge_times`) : 0,
    };
  });
}

const keyMarks = async (key: string) => (await markRows(stubOf(key), key)).keys;

function shieldValue(key: string): Promise<string | undefined> {
  return runInDurableObject(stubOf(key), async (_instance: FamilyShield, state) => {
    const row = state.storage.sql.exec<{ bytes: ArrayBuffer }>(`SELECT bytes FROM vals WHERE key = ?`, key).toArray()[0];
    return row === undefined ? undefined : new TextDecoder().decode(row.bytes);
  });
}

const adminKey = (label: string) => `auth:is_admin:oseh_u_${freshId(label)}`;

describe("a source time far ahead of the edge's clock", () => {
  it("reproduction: one PUT stamped now + 1 day is refused (400), nothing applied, and the relay's next eviction is not dropped", async () => {
    const key = adminKey("pin");
    const refused = await put(key, "1", NOW + DAY);
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as { type: string; message: string };
    expect(body.type).toBe("bad_request");
    expect(body.message).toMatch(/^X-Edge-Source-Time is more than 60 s ahead of the edge's clock/);
    expect(await KV.get(key)).toBeNull();
    expect(await shieldValue(key)).toBeUndefined();
    expect(await keyMarks(key)).toBe(0);

    // Before the bound, every relay-style write at the current time answered 409 after that PUT.
    expect(await status(put(key, "1", NOW))).toBe(204);
    expect(await status(del(key, NOW + 0.5))).toBe(204);
    expect(await KV.get(key)).toBeNull();
  });

  it("the bound is 60 s: exactly 60 s ahead is accepted, anything past it refused", async () => {
    const key = adminKey("bound");
    expect(await status(put(key, "1", NOW + 60.5, NOW + 0.5))).toBe(204);
    expect(await status(put(key, "0", NOW + 60.001, NOW))).toBe(400);
    expect(await KV.get(key)).toBe("1");
  });

  it("DELETE and every purge refuse it too, leaving the stored value in place", async () => {
    const key = adminKey("keep");
    expect(await status(put(key, "1"))).toBe(204);
    const ahead = NOW + DAY;
    const refusals = [
      del(key, ahead),
      purge({ keys: [key] }, ahead),
      purge({ family: "auth:is_admin:{sub}" }, ahead),
      purge({ prefix: key }, ahead),
    ];
    for (const response of await Promise.all(refusals)) {
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ type: "bad_request", message: expect.stringMatching(/^X-Edge-Source-Time /) });
    }
    expect(await KV.get(key)).toBe("1");
    expect(await shieldValue(key)).toBe("1");
    // None of them left a mark: an honest write at the current time applies.
    expect(await keyMarks(key)).toBe(0);
    expect(await status(put(key, "0", NOW))).toBe(204);
  });

  it("a malformed one is still refused, also on a purge, before anything is purged", async () => {
    const key = adminKey("bad");
    expect(await status(put(key, "1"))).toBe(204);
    for (const bad of ["soon", "-1", "1e3", "12.5.1", "1234567890123", ""]) {
      const headers = { "Content-Type": "application/json", "X-Edge-Source-Time": bad };
      const response = await admin("/purge", { method: "POST", body: JSON.stringify({ keys: [key] }), headers }, NOW);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ type: "bad_request", message: "X-Edge-Source-Time must be unix seconds" });
    }
    expect(await KV.get(key)).toBe("1");
  });
});

describe("tombstones: a DELETE's mark outlives the value", () => {
  it("PUT at t, DELETE at t+1, a retried PUT at t → 409 while the window runs, even with the value gone; applied after it", async () => {
    const key = adminKey("tomb");
    const t = NOW - 10;
    expect(await status(put(key, "1", t))).toBe(204);
    expect(await status(del(key, t + 1))).toBe(204);
    expect(await KV.get(key)).toBeNull();
    expect(await shieldValue(key)).toBeUndefined();

    const retried = await put(key, "1", t);
    expect(retried.status).toBe(409);
    expect(await retried.json()).toMatchObject({ type: "superseded" });
    expect(await status(put(key, "1", t, NOW + WINDOW - 1))).toBe(409);
    expect(await KV.get(key)).toBeNull();

    // Past the window the tombstone no longer orders anything (and the alarm removes it).
    expect(await status(put(key, "1", t, NOW + WINDOW + 1))).toBe(204);
  });

  it("a PUT's mark lives as long as its value: an older retried PUT cannot replace it after the window", async () => {
    const key = adminKey("value-life");
    expect(await status(put(key, "1", NOW))).toBe(204); // auth:is_admin lives 900 s; the window is longer
    expect(await status(put(key, "0", NOW - 1, NOW + 1))).toBe(409);
    expect(await status(put(key, "0", NOW - 1, NOW + WINDOW + 1))).toBe(204);

    const long = `daily_phone_verifications:${17_000 + Math.floor(Math.random() * 1000)}:18000`; // lives 1 day
    expect(await status(put(long, "{}", NOW))).toBe(204);
    expect(await status(put(long, "[]", NOW - 1, NOW + WINDOW + 1))).toBe(409);
    expect(await status(put(long, "[]", NOW - 1, NOW + DAY + 1))).toBe(204);
  });
});

describe("purges honour X-Edge-Source-Time", () => {
  it("keys: each key as a DELETE at that time; a key with a newer write stays, is not counted, and is listed", async () => {
    const [older, newer] = [adminKey("pk-old"), adminKey("pk-new")];
    expect(await status(put(older, "1", NOW - 5))).toBe(204);
    expect(await status(put(newer, "1", NOW))).toBe(204);
    const response = await purge({ keys: [older, newer] }, NOW - 2);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ purged: 1, cursor: null, superseded: [newer] });
    expect(await KV.get(older)).toBeNull();
    expect(await KV.get(newer)).toBe("1");
    // The purge left a tombstone: the retried older PUT loses.
    expect(await status(put(older, "1", NOW - 5))).toBe(409);
    expect(await status(put(older, "0", NOW - 1))).toBe(204);
  });

  it("family: a later-arriving PUT or DELETE older than the purge → 409, a newer one applies", async () => {
    const word = `w${freshId("fam")}`;
    const key = `emotion_users:pictures:${word}`;
    expect(await status(put(key, "[]", NOW - 5))).toBe(204);
    expect(await status(purge({ family: "emotion_users:pictures:{word}" }, NOW - 2))).toBe(200);
    expect(await KV.get(key)).toBeNull();
    const fresh = `emotion_users:pictures:x${freshId("fam")}`; // never written: only the purge orders it
    expect(await status(put(fresh, "[]", NOW - 3))).toBe(409);
    expect(await status(del(key, NOW - 3))).toBe(409);
    expect(await status(put(key, "[]", NOW - 1))).toBe(204);
    // One mark for the whole family, not one per key.
    expect((await markRows(stubNamed("emotion_users:pictures:{word}"))).purges).toBe(1);
  });

  it("prefix: only keys under the prefix are ordered by it", async () => {
    const slug = freshId("pfx");
    const under = `client_screens:${slug}a`;
    const other = `client_screens:z${slug}`;
    expect(await status(purge({ prefix: `client_screens:${slug}` }, NOW - 2))).toBe(200);
    expect(await status(put(under, "{}", NOW - 3))).toBe(409);
    expect(await status(put(other, "{}", NOW - 3))).toBe(204);
    expect(await status(put(under, "{}", NOW - 2))).toBe(204);
  });

  it("a family purge of a sharded family marks every shard", async () => {
    const key = adminKey("shards");
    expect(await status(purge({ family: "auth:is_admin:{sub}" }, NOW - 100))).toBe(200);
    expect(await status(put(key, "1", NOW - 101))).toBe(409);
    const marked = await Promise.all(shieldNamesOfFamily(familyOf(key), SHARDS).map((name) => markRows(stubNamed(name))));
    expect(marked.map((rows) => rows.purges)).toEqual(marked.map(() => 1));
  });
});

describe("an operator's purge without a source time unpins", () => {
  it("keys: the key's mark goes, so an older relay write applies again", async () => {
    const key = adminKey("unpin-key");
    expect(await status(put(key, "1", NOW + 30))).toBe(204);
    expect(await status(put(key, "0", NOW))).toBe(409);
    expect(await status(purge({ keys: [key] }))).toBe(200);
    expect(await keyMarks(key)).toBe(0);
    expect(await status(put(key, "0", NOW))).toBe(204);
  });

  it("family and prefix: the marks of the keys and the purges they cover go", async () => {
    const slug = freshId("unpin");
    const key = `client_screens:${slug}`;
    expect(await status(put(key, "{}", NOW + 30))).toBe(204);
    expect(await status(purge({ prefix: `client_screens:${slug.slice(0, -2)}` }, NOW + 40))).toBe(200);
    expect(await status(put(key, "{}", NOW))).toBe(409);
    expect(await status(purge({ prefix: "client_screens:" }))).toBe(200);
    expect(await status(put(key, "{}", NOW))).toBe(204);

    const word = `u${freshId("unpin")}`;
    const picture = `emotion_users:pictures:${word}`;
    expect(await status(purge({ family: "emotion_users:pictures:{word}" }, NOW + 40))).toBe(200);
    expect(await status(put(picture, "[]", NOW))).toBe(409);
    expect(await status(purge({ family: "emotion_users:pictures:{word}" }))).toBe(200);
    expect(await status(put(picture, "[]", NOW))).toBe(204);
  });
});

describe("rows are bounded: the alarm removes them whether or not the shield holds values", () => {
  it("200 PUT+DELETE pairs leave 200 rows until the window has passed, then none; a family purge's mark likewise", async () => {
    const family = "utm_conversion_stats:{unix_date}";
    const stub = stubNamed(family);
    const keys = Array.from({ length: 200 }, (_, i) => `utm_conversion_stats:${19_000 + i}`);
    for (const [i, key] of keys.entries()) {
      expect(await status(put(key, "{}", NOW + i / 1000))).toBe(204);
      expect(await status(del(key, NOW + 1 + i / 1000))).toBe(204);
    }
    expect(await markRows(stub)).toEqual({ keys: 200, purges: 0 });
    const values = () => runInDurableObject(stub, async (_i: FamilyShield, state) => state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM vals`).one().n);
    expect(await values()).toBe(0); // the shield holds no values, only marks

    expect(await status(touch(family, NOW + WINDOW - 1))).toBe(204);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await markRows(stub)).toEqual({ keys: 200, purges: 0 });

    expect(await status(touch(family, NOW + WINDOW + 1))).toBe(204);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await markRows(stub)).toEqual({ keys: 0, purges: 0 });
    // Nothing left to remove: the alarm stops.
    expect(await runDurableObjectAlarm(stub)).toBe(false);

    const later = NOW + WINDOW + 2;
    expect(await status(purge({ family }, later, later))).toBe(200);
    expect(await markRows(stub)).toEqual({ keys: 0, purges: 1 });
    expect(await status(touch(family, later + WINDOW - 1))).toBe(204);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await markRows(stub)).toEqual({ keys: 0, purges: 1 });
    expect(await status(touch(family, later + WINDOW))).toBe(204);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await markRows(stub)).toEqual({ keys: 0, purges: 0 });
    expect(await values()).toBe(0);
  });

  it("an object from before marks had a lifetime: its old rows no longer order anything and the alarm removes them", async () => {
    const family = "journey_feedback:{unix_date}";
    const [pinned, old] = ["journey_feedback:19001", "journey_feedback:19002"];
    const stub = stubNamed(family);
    expect(await status(put("journey_feedback:19000", "{}"))).toBe(204); // the object exists
    await runInDurableObject(stub, async (_i: FamilyShield, state) => {
      const sql = state.storage.sql;
      sql.exec(`DROP TABLE source_times`);
      sql.exec(`CREATE TABLE source_times (key TEXT PRIMARY KEY, t REAL NOT NULL)`);
      sql.exec(`INSERT INTO source_times (key, t) VALUES (?, ?), (?, ?)`, pinned, NOW + DAY, old, NOW - 5);
      await state.storage.deleteAlarm();
    });
    await evictDurableObject(stub);

    expect(await status(put(pinned, "{}", NOW))).toBe(204);
    expect(await status(touch(family, NOW + 1))).toBe(204);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await keyMarks(old)).toBe(0);
    const marks = await runInDurableObject(stub, async (_i: FamilyShield, state) =>
      state.storage.sql.exec<{ key: string; t: number }>(`SELECT key, t FROM source_times`).toArray(),
    );
    expect(marks).toEqual([{ key: pinned, t: NOW }]);
  });
});

/** A DELETE without a source time in `family`'s shield at `now`: it carries the clock there and leaves no mark. */
function touch(family: string, now: number): Promise<Response> {
  return del(family.replace("{unix_date}", "18999"), undefined, now);
}
