/**
 * `POST /api/1/emotions/personalized` (docs/routes.md, "Personalized emotions"): the body planning,
 * the draw (deterministic with a scripted source; its distribution against exact probabilities),
 * then end to end through the Worker's own fetch against the dev origin, in the production
 * topology (shield bound, L0 on), with the random source injected.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { planPersonalizedEmotions, readStoredStats, selectEmotions, type EmotionStat } from "../../src/routes/emotions-plan";
import { idToken, signToken, TEST_SECRETS } from "../helpers/tokens";
import { callWorker, uniqueId } from "../helpers/worker";
import { scriptedRandom, seededRandom } from "../helpers/random";
import type { RandomSource } from "../../src/util/random";
import { AUTH_BODY } from "./helpers";
import { originReceived, productionEnv, wallNow } from "./edge";

const EDGE = "https://edge.test";
const PATH = "/api/1/emotions/personalized";
const USER = "oseh_u_devUser00000000000001";
const ENV = productionEnv();
const NOT_FOUND = '{"detail":"Not Found"}';

/**
 * The dev origin's `emotion_content_statistics` (dev/origin/fixtures/families.ts), as
 * `CachedEmotionContentStatistics(stats=…).model_dump_json()` writes it
 * (emotions/lib/emotion_content.py:244-248): compact, words with journeys by count then word,
 * then those without any by (word, antonym).
 */
const DEV_STATS_JSON =
  '{"stats":[{"emotion":{"word":"lost","antonym":"find yourself"},"num_journeys":9},{"emotion":{"word":"angry","antonym":"calm down"},"num_journeys":7},' +
  '{"emotion":{"word":"sad","antonym":"cheer up"},"num_journeys":7},{"emotion":{"word":"stressed","antonym":"relax"},"num_journeys":5},' +
  '{"emotion":{"word":"calm","antonym":"stay calm"},"num_journeys":4},{"emotion":{"word":"sleepy","antonym":"sleep well"},"num_journeys":3},' +
  '{"emotion":{"word":"relaxed","antonym":"unwind"},"num_journeys":2},{"emotion":{"word":"grateful","antonym":"give thanks"},"num_journeys":1},' +
  '{"emotion":{"word":"bored","antonym":"get inspired"},"num_journeys":0},{"emotion":{"word":"lonely","antonym":"connect"},"num_journeys":0}]}';

function devStats(): readonly EmotionStat[] {
  const read = readStoredStats(new TextEncoder().encode(DEV_STATS_JSON));
  if (!read.ok) throw new Error(read.reason);
  return read.stats;
}

const words = (items: readonly { word: string }[]) => items.map((e) => e.word);

/** `{"items":[{"word":…,"antonym":…}]}` as `RetrieveDailyEmotionsResponse(…).model_dump_json()` writes it. */
function expectedBody(pairs: ReadonlyArray<readonly [string, string]>): string {
  return `{"items":[${pairs.map(([word, antonym]) => `{"word":"${word}","antonym":"${antonym}"}`).join(",")}]}`;
}

describe("the body, as FastAPI and pydantic read it (pure)", () => {
  it.each([
    ['{"num_emotions":3}', [], 3],
    ['{"num_emotions":16,"recently_seen":[]}', [], 16],
    ['{"num_emotions":1,"recently_seen":[["a"],["b","c"]],"local_time":null}', [["a"], ["b", "c"]], 1],
    ['{"num_emotions":4,"local_time":{"hour_24":23,"minute":59,"second":1},"extra":[1]}', [], 4],
    ['{"num_emotions":4,"local_time":{"hour_24":0,"minute":0}}', [], 4],
  ])("%s is served", (text, recentlySeen, numEmotions) => {
    expect(planPersonalizedEmotions(text, "application/json")).toEqual({ kind: "serve", recentlySeen, numEmotions });
  });

  it.each([
    ["num_emotions missing", "{}"],
    ["num_emotions 0", '{"num_emotions":0}'],
    ["num_emotions 17", '{"num_emotions":17}'],
    ["num_emotions a string number", '{"num_emotions":"3"}'],
    ["num_emotions a float", '{"num_emotions":3.0}'],
    ["num_emotions a boolean", '{"num_emotions":true}'],
    ["recently_seen null", '{"num_emotions":3,"recently_seen":null}'],
    ["six recently_seen lists", '{"num_emotions":3,"recently_seen":[["a"],["a"],["a"],["a"],["a"],["a"]]}'],
    ["an empty recently_seen list", '{"num_emotions":3,"recently_seen":[[]]}'],
    ["seventeen words in a list", `{"num_emotions":3,"recently_seen":[${JSON.stringify(Array.from({ length: 17 }, (_, i) => `w${i}`))}]}`],
    ["a word that is not a string", '{"num_emotions":3,"recently_seen":[["a",1]]}'],
    ["a word with a lone surrogate", '{"num_emotions":3,"recently_seen":[["\\udc00"]]}'],
    ["recently_seen a list of words", '{"num_emotions":3,"recently_seen":["a"]}'],
    ["local_time hour 24", '{"num_emotions":3,"local_time":{"hour_24":24,"minute":0}}'],
    ["local_time minute 60", '{"num_emotions":3,"local_time":{"hour_24":1,"minute":60}}'],
    ["local_time without minute", '{"num_emotions":3,"local_time":{"hour_24":1}}'],
    ["local_time a string hour", '{"num_emotions":3,"local_time":{"hour_24":"1","minute":0}}'],
    ["local_time with a duplicate key", '{"num_emotions":3,"local_time":{"hour_24":1,"minute":0,"minute":1}}'],
    ["local_time a number", '{"num_emotions":3,"local_time":5}'],
    ["duplicate keys", '{"num_emotions":3,"num_emotions":4}'],
    ["not JSON", "{"],
    ["an array", "[]"],
  ])("%s passes through", (_name, text) => {
    expect(planPersonalizedEmotions(text, "application/json").kind).toBe("passthrough");
  });

  it("a body that is not JSON to FastAPI (another Content-Type) passes through", () => {
    expect(planPersonalizedEmotions('{"num_emotions":3}', "text/plain").kind).toBe("passthrough");
  });
});

describe("the draw (pure, scripted random)", () => {
  it("more words than asked for, nothing recently seen: numpy's weighted choice, successive", () => {
    const random = scriptedRandom([0, 28, 7]);
    const selected = selectEmotions(devStats(), { recentlySeen: [], numEmotions: 3 }, random);
    // 38 journeys: 0 → lost; then 29 without lost: 28 → grateful (the last); then 28: 7 → sad.
    expect(random.asked).toEqual([38, 29, 28]);
    expect(selected.ok && words(selected.items)).toEqual(["lost", "grateful", "sad"]);
  });

  it("the exclusion walks recently_seen from the last list back, each shuffled, and stops as soon as few enough remain", () => {
    // Last list shuffled [calm, sad, stressed] → [stressed, sad, calm] → [sad, stressed, calm]; sad
    // then stressed go, leaving 6 = num_emotions: the earlier list is never read.
    const random = scriptedRandom([0, 0, 5, 0, 3, 1, 1]);
    const selected = selectEmotions(devStats(), { recentlySeen: [["lost", "angry"], ["calm", "sad", "stressed"]], numEmotions: 6 }, random);
    expect(random.asked).toEqual([3, 2, 6, 5, 4, 3, 2]);
    // [lost, angry, calm, sleepy, relaxed, grateful], Fisher–Yates from the end: 5↔5, 4↔0, 3↔3, 2↔1, 1↔1.
    expect(selected.ok && words(selected.items)).toEqual(["relaxed", "calm", "angry", "sleepy", "lost", "grateful"]);
  });

  it("calm, relaxed and sleepy are never excluded; a list that does not bring it low enough is used up, then the weighted draw", () => {
    const random = scriptedRandom([0, 0, 0, 0, 0, 0, 0]);
    const selected = selectEmotions(devStats(), { recentlySeen: [["calm", "relaxed", "sleepy", "lost"]], numEmotions: 4 }, random);
    // The shuffle of 4, then four picks among 29 journeys (lost gone), each of the first remaining.
    expect(random.asked).toEqual([4, 3, 2, 29, 22, 15, 10]);
    expect(selected.ok && words(selected.items)).toEqual(["angry", "sad", "stressed", "calm"]);
  });

  it("one recent word brings it low enough: the shuffle of what remains, the earlier list untouched", () => {
    const random = scriptedRandom([0, 0, 0, 0, 0, 0]);
    const selected = selectEmotions(devStats(), { recentlySeen: [["lost"], ["angry"]], numEmotions: 7 }, random);
    expect(random.asked).toEqual([7, 6, 5, 4, 3, 2]); // a one-word list is shuffled without a draw
    expect(selected.ok && words(selected.items)).toEqual(["sad", "stressed", "calm", "sleepy", "relaxed", "grateful", "lost"]);
  });

  it("words without journeys are never offered; a repeated word keeps its first place and its last stat", () => {
    const stats: EmotionStat[] = [
      { emotion: { word: "a", antonym: "first" }, numJourneys: 1 },
      { emotion: { word: "zero", antonym: "z" }, numJourneys: 0 },
      { emotion: { word: "b", antonym: "b" }, numJourneys: 2 },
      { emotion: { word: "a", antonym: "last" }, numJourneys: 3 },
      { emotion: { word: "neg", antonym: "n" }, numJourneys: -1 },
    ];
    const random = scriptedRandom([0]);
    const selected = selectEmotions(stats, { recentlySeen: [], numEmotions: 5 }, random);
    expect(random.asked).toEqual([2]);
    expect(selected.ok && selected.items).toEqual([
      { word: "b", antonym: "b" },
      { word: "a", antonym: "last" },
    ]);
  });

  it("no statistics: an empty list, no draw", () => {
    const random = scriptedRandom([]);
    expect(selectEmotions([], { recentlySeen: [["x"]], numEmotions: 3 }, random)).toEqual({ ok: true, items: [] });
  });
});

describe("the draw's distribution (pure, seeded random)", () => {
  /**
   * Tolerance: every outcome's count must lie within 6 binomial standard deviations of N·p. The
   * seed is fixed, so a run is deterministic; and for a correct sampler under any seed the chance
   * that some outcome strays that far is below 60 × 2·Φ(−6) ≈ 1.2e-7 (the rarest expected count
   * is about 476, where the normal approximation holds), so a change of seed cannot make it fail
   * either. With N = 200,000 the band is at most ±0.0034 in probability (±0.0007 for the rarest
   * outcome), while the mistakes this guards against move some outcome by more: drawing the set by
   * weight but ordering it uniformly puts P(a,b,c) at 0.0532 instead of 0.0667, four bands away.
   */
  const SIGMAS = 6;

  function expectFrequencies(observed: ReadonlyMap<string, number>, exact: ReadonlyMap<string, number>, draws: number): void {
    expect([...observed.keys()].filter((k) => !exact.has(k))).toEqual([]);
    for (const [outcome, p] of exact) {
      const band = SIGMAS * Math.sqrt(draws * p * (1 - p));
      const count = observed.get(outcome) ?? 0;
      expect(Math.abs(count - draws * p), `${outcome}: ${count} draws, expected ${(draws * p).toFixed(1)} ± ${band.toFixed(1)}`).toBeLessThanOrEqual(band);
    }
  }

  function frequencies(stats: readonly EmotionStat[], numEmotions: number, draws: number, random: RandomSource): Map<string, number> {
    const counts = new Map<string, number>();
    for (let i = 0; i < draws; i++) {
      const selected = selectEmotions(stats, { recentlySeen: [], numEmotions }, random);
      if (!selected.ok) throw new Error(selected.reason);
      const key = words(selected.items).join(",");
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  it("ordered picks without replacement: P(x1, x2, x3) = w1/W · w2/(W − w1) · w3/(W − w1 − w2)", () => {
    const weights: ReadonlyArray<readonly [string, number]> = [["a", 5], ["b", 4], ["c", 3], ["d", 2], ["e", 1]];
    const stats = weights.map(([word, numJourneys]) => ({ emotion: { word, antonym: word }, numJourneys }));
    const size = 3;
    // The exact distribution of successive weighted sampling, over every ordered triple.
    const exact = new Map<string, number>();
    const walk = (prefix: readonly number[], left: number, p: number): void => {
      if (prefix.length === size) {
        exact.set(prefix.map((i) => weights[i]?.[0]).join(","), p);
        return;
      }
      weights.forEach(([, w], i) => {
        if (!prefix.includes(i)) walk([...prefix, i], left - w, (p * w) / left);
      });
    };
    walk([], weights.reduce((sum, [, w]) => sum + w, 0), 1);
    expect(exact.size).toBe(60);
    expect([...exact.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);

    const draws = 200_000;
    expectFrequencies(frequencies(stats, size, draws, seededRandom(0x5eed)), exact, draws);
  });

  it("few enough words: a uniform shuffle, every order 1/24", () => {
    const stats = ["a", "b", "c", "d"].map((word, i) => ({ emotion: { word, antonym: word }, numJourneys: i + 1 }));
    const exact = new Map<string, number>();
    const permute = (done: readonly string[], rest: readonly string[]): void => {
      if (rest.length === 0) exact.set(done.join(","), 1 / 24);
      rest.forEach((w, i) => permute([...done, w], [...rest.slice(0, i), ...rest.slice(i + 1)]));
    };
    permute([], ["a", "b", "c", "d"]);
    const draws = 120_000;
    expectFrequencies(frequencies(stats, 4, draws, seededRandom(0xc0ffee)), exact, draws);
  });
});

describe("the stored statistics (pure)", () => {
  it.each([
    ["not JSON", "{"],
    ["a bare list (the backend's doc shape, not what it stores)", "[]"],
    ["an emotion without its antonym", '{"stats":[{"emotion":{"word":"a"},"num_journeys":1}]}'],
    ["a fractional count", '{"stats":[{"emotion":{"word":"a","antonym":"b"},"num_journeys":1.5}]}'],
    ["a count past 2^53", '{"stats":[{"emotion":{"word":"a","antonym":"b"},"num_journeys":9007199254740993}]}'],
  ])("%s is not served", (_name, text) => {
    expect(readStoredStats(new TextEncoder().encode(text)).ok).toBe(false);
  });

  it("counts whose sum is past 2^53 are not weighed", () => {
    const stats = ["a", "b", "c"].map((word) => ({ emotion: { word, antonym: word }, numJourneys: 2 ** 52 }));
    expect(selectEmotions(stats, { recentlySeen: [], numEmotions: 1 }, scriptedRandom([])).ok).toBe(false);
  });
});

describe("end to end, production topology", () => {
  async function post(body: string | Uint8Array, headers: Record<string, string>, now: number, random: RandomSource = seededRandom(1)): Promise<{ response: Response; text: string }> {
    const response = await callWorker(`${EDGE}${PATH}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body }, { now, env: ENV, random });
    return { response, text: await response.clone().text() };
  }
  const userAuth = async (now: number) => ({ authorization: `bearer ${await idToken(USER, now)}` });
  /** Bodies unique per test, so the origin's request log tells them apart. */
  const tagged = (fields: Record<string, unknown>) => JSON.stringify({ ...fields, tag: uniqueId("emo") });

  it("runs with the shield bound and L0 on", () => {
    expect((env as unknown as Record<string, unknown>).FAMILY_SHIELD).toBeDefined();
    expect(ENV.L0_MAX_BYTES).toBe("8388608");
  });

  it("a miss fills, then a hit; byte for byte; local_time changes nothing (its branch can never run)", async () => {
    const now = wallNow();
    const first = scriptedRandom([0, 28, 7]);
    const miss = await post(tagged({ num_emotions: 3 }), await userAuth(now), now, first);
    expect(miss.response.status).toBe(200);
    expect(miss.text).toBe(expectedBody([["lost", "find yourself"], ["grateful", "give thanks"], ["sad", "cheer up"]]));
    expect(miss.response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(miss.response.headers.has("cache-control")).toBe(false);
    expect(miss.response.headers.get("content-length")).toBe(String(miss.text.length));
    expect(miss.response.headers.get("cache-status")).toBe("oseh-edge; fwd=miss; stored");
    // A fill's phases follow the edge's own time (src/cache/phases.ts).
    expect(miss.response.headers.get("server-timing")).toMatch(/^edge;dur=\d+, tier;dur=\d+, shield;dur=\d+, origin;dur=\d+, store;dur=\d+$/);
    expect(first.remaining()).toBe(0);
    // The dev origin's value, stored as it came.
    expect(await env.CACHE.get("emotion_content_statistics")).toBe(DEV_STATS_JSON);

    // 22:30 without sleepy among the picks is what the branch was meant for; it compares
    // `hour_24 >= 18 and hour_24 <= 4`, so nothing changes and no further draw is made.
    // The key is global (other test files read it from the dev origin too), so the origin's fill
    // counter cannot be compared here; the shield's L0 hit is the edge's own account of it (the
    // per-key counter is asserted for profile pictures, whose keys are this file's alone).
    const second = scriptedRandom([0, 28, 7]);
    const hit = await post(tagged({ num_emotions: 3, local_time: { hour_24: 22, minute: 30 } }), await userAuth(now), now, second);
    expect(hit.text).toBe(miss.text);
    expect(hit.response.headers.get("cache-status")).toBe("oseh-edge; hit; detail=l0");
    expect(second.asked).toEqual([38, 29, 28]);
  });

  it("crypto randomness by default: three distinct words with journeys", async () => {
    const now = wallNow();
    const headers = { ...(await userAuth(now)), "content-type": "application/json" };
    const response = await callWorker(`${EDGE}${PATH}`, { method: "POST", headers, body: tagged({ num_emotions: 3 }) }, { now, env: ENV });
    expect(response.status).toBe(200);
    const items = ((await response.json()) as { items: { word: string }[] }).items;
    expect(new Set(words(items)).size).toBe(3);
    for (const word of words(items)) expect(["lost", "angry", "sad", "stressed", "calm", "sleepy", "relaxed", "grateful"]).toContain(word);
  });

  it.each([
    ["no Authorization", async () => ({}), "not_set"],
    ["another scheme", async (now: number) => ({ authorization: `Bearer ${await idToken(USER, now)}` }), "bad_format"],
    ["an id token with another secret", async (now: number) => ({ authorization: `bearer ${await signToken({ secret: TEST_SECRETS.image, claims: { sub: USER, iss: "oseh", aud: "oseh-id", iat: now - 1, exp: now + 60, jti: "j" } })}` }), "invalid"],
    ["an expired id token", async (now: number) => ({ authorization: `bearer ${await idToken(USER, now, { iat: now - 100, exp: now })}` }), "invalid"],
    ["an id token without jti", async (now: number) => ({ authorization: `bearer ${await idToken(USER, now, { jti: undefined })}` }), "invalid"],
  ] as const)("%s: the backend's body, the cache not read, the origin not asked", async (_name, headers, failure) => {
    const now = wallNow();
    const body = tagged({ num_emotions: 3 });
    const { response, text } = await post(body, await headers(now), now, scriptedRandom([]));
    expect([response.status, text]).toEqual([failure === "invalid" ? 403 : 401, AUTH_BODY[failure]]);
    expect(response.headers.get("cache-status")).toBe("oseh-edge; fwd=bypass; detail=not-consulted");
    expect(await originReceived(PATH, body)).toEqual([]);
  });

  describe("pass-through: the origin gets the request as sent and answers it", () => {
    async function expectPassedThrough(body: string, headers: Record<string, string>, now: number): Promise<void> {
      const { response, text } = await post(body, headers, now, scriptedRandom([]));
      expect([response.status, text]).toEqual([404, NOT_FOUND]);
      expect(response.headers.get("cache-status")).toBe("oseh-edge; fwd=bypass");
      const received = await originReceived(PATH, body);
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ method: "POST", bodyLength: new TextEncoder().encode(body).byteLength });
    }

    it.each([
      ["num_emotions a string number", { num_emotions: "3" }],
      ["num_emotions 0", { num_emotions: 0 }],
      ["num_emotions 17", { num_emotions: 17 }],
      ["six recently_seen lists", { num_emotions: 3, recently_seen: [["a"], ["a"], ["a"], ["a"], ["a"], ["a"]] }],
      ["an empty recently_seen list", { num_emotions: 3, recently_seen: [[]] }],
      ["a word that is not a string", { num_emotions: 3, recently_seen: [[1]] }],
      ["local_time hour 24", { num_emotions: 3, local_time: { hour_24: 24, minute: 0 } }],
    ])("%s", async (_name, fields) => {
      const now = wallNow();
      await expectPassedThrough(tagged(fields), await userAuth(now), now);
    });

    it("duplicate keys", async () => {
      const now = wallNow();
      await expectPassedThrough(`{"num_emotions":3,"num_emotions":4,"tag":"${uniqueId("emo")}"}`, await userAuth(now), now);
    });

    it("a body FastAPI refuses is the origin's even without Authorization (validation comes before auth)", async () => {
      await expectPassedThrough(tagged({ num_emotions: 99 }), {}, wallNow());
    });

    it("a user token (`bearer oseh_ut_…`): the origin looks it up", async () => {
      await expectPassedThrough(tagged({ num_emotions: 3 }), { authorization: "bearer oseh_ut_devUser00000000000001" }, wallNow());
    });

    it("a body over the cap goes on whole", async () => {
      const now = wallNow();
      await expectPassedThrough(tagged({ num_emotions: 3, pad: "x".repeat(9000) }), await userAuth(now), now);
    });
  });
});
