/**
 * What a request costs the platform (docs/cost.md): the exact operations each kind of request
 * makes, counted by wrappers around the real bindings (../helpers/counting.ts) while the Worker is
 * driven through its own fetch in the production topology — the shield bound, L0 on, L1 on — with
 * the dev origin over real HTTP. Requests go one at a time and each one's background work
 * (waitUntil) is settled before its counts are read, so what a request leaves behind is its own.
 *
 * The counts must equal scripts/cost/operations.json, which `npm run cost` prices and from which
 * docs/cost.md's table is rendered (checked below too), so the doc, the cost script and the code
 * cannot drift. A kind whose count misses the target keeps today's count there, with the
 * target named in its `target` field and in a comment here; the core redesign changes both.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { createWorker } from "../../src/index";
import { createIsolate } from "../../src/isolate";
import { renderAnswerPathTable, renderOperationsTable, type KindCounts, type OperationsFile } from "../../scripts/cost/model";
import operationsJson from "../../scripts/cost/operations.json";
import costDoc from "../../docs/cost.md?raw";
import { createOperationCounter, type OperationCounts } from "../helpers/counting";
import { adminToken, idToken, signToken, TEST_SECRETS } from "../helpers/tokens";
import { productionEnv, uniqueId } from "../helpers/worker";
import { resourceToken } from "../routes/helpers";

const operations = operationsJson as OperationsFile;
const EDGE = "https://edge.test";
const USER = "oseh_u_devUser00000000000001";
const JOURNEY = "oseh_j_devFull0000000000000001";
const CONTENT_FILE = "oseh_cf_devAudio00000000000001";
/** The dev origin checks tokens on its own (wall) clock, so the edge runs on it too. */
const wallNow = () => Math.floor(Date.now() / 1000);

const counter = createOperationCounter();
const real = env as unknown as { CACHE: KVNamespace; MEDIA: R2Bucket; FAMILY_SHIELD: DurableObjectNamespace };
/** The production topology, every binding the Worker touches wrapped by the counter. */
const ENV = productionEnv({
  CACHE: counter.kv(real.CACHE),
  MEDIA: counter.r2(real.MEDIA),
  FAMILY_SHIELD: counter.shieldNamespace(real.FAMILY_SHIELD),
});

let restore: () => void = () => undefined;
beforeAll(() => {
  restore = counter.install(inject("originUrl"));
});
afterAll(() => restore());

/** One isolate of the Worker (its own L0 and memory) in one colo (that colo's Cache API, counted). */
interface Isolate {
  colo: string;
  /** One request: its counts until the Worker's fetch returned the Response (what the client waited on), and in all. */
  send(path: string, init?: RequestInit): Promise<Sent>;
  call(path: string, init?: RequestInit): Promise<Response>;
  /** Moves this isolate's clock `seconds` ahead of the wall clock (the origin keeps the wall clock). */
  aheadBy(seconds: number): void;
}

interface Sent {
  response: Response;
  /** Made before the Worker's fetch returned its Response: on the client's path to the first byte. */
  beforeAnswer: OperationCounts;
}

async function isolateIn(colo: string = `colo-${uniqueId("c")}`): Promise<Isolate> {
  const cache = counter.cache(await caches.open(colo));
  let ahead = 0;
  const worker = createWorker({ isolate: createIsolate(), now: () => Date.now() / 1000 + ahead, colo: () => cache });
  const send = async (path: string, init?: RequestInit): Promise<Sent> => {
    const ctx = createExecutionContext();
    const response = await worker.fetch!(new Request(`${EDGE}${path}`, init) as Request<unknown, IncomingRequestCfProperties>, ENV as never, ctx);
    const beforeAnswer = counter.counts();
    // The body read before waiting, so a streamed body's producer can finish; then waitUntil.
    const body = await response.arrayBuffer();
    await waitOnExecutionContext(ctx);
    return { response: new Response(body, { status: response.status, headers: response.headers }), beforeAnswer };
  };
  return {
    colo,
    send,
    call: async (path, init) => (await send(path, init)).response,
    aheadBy: (seconds) => {
      ahead = seconds;
    },
  };
}

/** Zero counts dropped, so a kind lists only what it does. */
function nonZero(counts: OperationCounts): KindCounts {
  const keep = (side: object) => Object.fromEntries(Object.entries(side).filter(([, n]) => n !== 0)) as Record<string, number>;
  return { worker: keep(counts.worker), shield: keep(counts.shield) };
}

interface Measured {
  status: number;
  cacheStatus: string | null;
  /** Reported, not compared: its milliseconds vary (src/cache/phases.ts). */
  serverTiming: string | null;
  counts: KindCounts;
  beforeAnswer: KindCounts;
}

/** The counts of one request (its body read, its waitUntil settled) and what it answered. */
async function measure(send: () => Promise<Sent>): Promise<Measured> {
  counter.reset();
  const { response, beforeAnswer } = await send();
  return { status: response.status, cacheStatus: response.headers.get("cache-status"), serverTiming: response.headers.get("server-timing"), counts: nonZero(counter.counts()), beforeAnswer: nonZero(beforeAnswer) };
}

/** The kind's answer and counts equal scripts/cost/operations.json's. */
function expectKind(kind: string, result: Measured): KindCounts {
  const expected = operations.kinds[kind];
  expect(expected, `scripts/cost/operations.json has no kind ${kind}`).toBeDefined();
  expect({ status: result.status, cacheStatus: result.cacheStatus }).toEqual({ status: expected?.status, cacheStatus: expected?.cacheStatus });
  expect(result.counts).toEqual({ worker: expected?.worker, shield: expected?.shield });
  expect(result.beforeAnswer).toEqual(expected?.beforeAnswer);
  return result.counts;
}

const transcriptPath = (uid: string) => `/api/1/transcripts/${uid}`;
const transcript = async (at: Isolate, uid: string) =>
  at.send(transcriptPath(uid), { headers: { authorization: `bearer ${await resourceToken("transcript", uid, wallNow())}` } });
/** The dev origin makes up a transcript for any `oseh_t_gen…` uid. */
const freshTranscript = () => `oseh_t_gen${uniqueId("cost")}`;

/** An isolate that has read the family's L1 generation already (as a warm isolate has). */
async function warm(at: Isolate): Promise<Isolate> {
  await transcript(at, freshTranscript());
  return at;
}

const NO_STORAGE = ["kvReads", "kvGenerationReads", "kvWrites", "kvDeletes", "kvLists", "durableObjectRequests", "r2ClassA", "r2ClassB"];
const storageOps = (counts: KindCounts) => NO_STORAGE.reduce((n, name) => n + (counts.worker[name] ?? 0) + (counts.shield[name] ?? 0), 0);

describe("a transcript (a KV family), warm isolates", () => {
  it("a miss with fill, then L0, L1 and L2 hits", async () => {
    const here = await warm(await isolateIn());
    const uid = freshTranscript();

    const missed = await measure(() => transcript(here, uid));
    // The miss's phases: the tier reads, the shield request (the origin's time inside it), the local copies.
    expect(missed.serverTiming).toMatch(/^edge;dur=\d+, tier;dur=\d+, shield;dur=\d+, origin;dur=\d+, store;dur=\d+$/);
    const miss = expectKind("missFill", missed);
    // Target (issue 24): at most one shield request and one KV write — met.
    expect(miss.worker.durableObjectRequests).toBe(1);
    expect((miss.worker.kvWrites ?? 0) + (miss.shield.kvWrites ?? 0)).toBe(1);

    // The same isolate again. Target: an L0 hit makes no KV, DO or R2 operation — met.
    const l0 = await measure(() => transcript(here, uid));
    expect(l0.serverTiming).toMatch(/^edge;dur=\d+$/);
    expect(storageOps(expectKind("l0Hit", l0))).toBe(0);

    // Another isolate of the same colo: its L0 lacks the key, the colo's Cache API has it.
    // Target: an L1 hit makes no KV, DO or R2 operation — met.
    const neighbour = await warm(await isolateIn(here.colo));
    expect(storageOps(expectKind("l1Hit", await measure(() => transcript(neighbour, uid))))).toBe(0);

    // An isolate in another colo: KV, and the colo copy written back in the background.
    const away = await warm(await isolateIn());
    expectKind("l2Hit", await measure(() => transcript(away, uid)));
  });

  it("an isolate's first request of a family also reads the family's L1 generation", async () => {
    const here = await isolateIn();
    const uid = freshTranscript();
    await transcript(here, uid);
    const cold = await isolateIn(here.colo);
    const counts = expectKind("l1HitColdIsolate", await measure(() => transcript(cold, uid)));
    expect(counts.worker.kvGenerationReads).toBe(1);
  });
});

const promptJwt = (uid: string, now: number) =>
  signToken({ secret: TEST_SECRETS.interactivePrompt, claims: { sub: uid, iss: "oseh", aud: "oseh-interactive-prompt", iat: now - 1, exp: now + 1800 } });

describe("a profile-pictures hit (the route's key in L0)", () => {
  it("limit 10", async () => {
    const here = await isolateIn();
    const uid = `oseh_ip_gen${uniqueId("pp")}`;
    const now = wallNow();
    const send = async () =>
      here.send("/api/1/interactive_prompts/profile_pictures", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `bearer ${await idToken(USER, now)}` },
        body: JSON.stringify({ uid, jwt: await promptJwt(uid, now), prompt_time: 4, limit: 10 }),
      });
    await send(); // the miss fills the bin
    expect(storageOps(expectKind("profilePicturesL0Hit", await measure(send)))).toBe(0);
  });
});

describe("a refresh ahead (a hit in its value's last tenth of life or last 60 s)", () => {
  it("profile pictures (two minutes' life): a hit 10 s before the expiry refreshes the key through its shield, after the answer", async () => {
    const here = await isolateIn();
    // Another colo's isolate that read the bin before the refresh, and hits it in the window after.
    const away = await isolateIn();
    const uid = `oseh_ip_gen${uniqueId("rf")}`;
    const now = wallNow();
    const sendFrom = (at: Isolate) => async () =>
      at.send("/api/1/interactive_prompts/profile_pictures", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `bearer ${await idToken(USER, now)}` },
        body: JSON.stringify({ uid, jwt: await promptJwt(uid, now), prompt_time: 4, limit: 10 }),
      });
    const send = sendFrom(here);
    await send(); // the miss fills the bin: it lives 120 s, its refresh window is its last 12 s
    here.aheadBy(100);
    away.aheadBy(100);
    await send(); // a hit before the window, from KV (the copies of the fill outlived L1_MAX_AGE_SECONDS), back-filled
    await sendFrom(away)(); // the same in the other colo: its L0 holds the bin until it is refreshed
    here.aheadBy(110);
    const refresh = expectKind("refreshAhead", await measure(send));
    // The refresh is one shield request and, inside it, one origin request and one KV write.
    expect(refresh.worker.durableObjectRequests).toBe(1);
    expect(refresh.shield.originRequests).toBe(1);
    expect((refresh.worker.kvWrites ?? 0) + (refresh.shield.kvWrites ?? 0)).toBe(1);
    // The other isolate's hit in the window: one shield request, answered from the shield's record
    // (the bin is over the tests' SHIELD_MAX_VALUE_BYTES, so without a copy); no origin request.
    away.aheadBy(111);
    const answered = expectKind("refreshAheadAnswered", await measure(sendFrom(away)));
    expect(answered.worker.durableObjectRequests).toBe(1);
    expect(answered.shield).toEqual({});
    expect(answered.worker.originRequests ?? 0).toBe(0);
  });
});

describe("a delegated journey start (the origin authorizes and delegates, the edge renders)", () => {
  const start = async (at: Isolate, journey = JOURNEY) =>
    at.send("/api/1/users/me/start_journey_from_history", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `bearer ${await idToken(USER, wallNow())}` },
      body: JSON.stringify({ journey_uid: journey }),
    });
  /** Another journey's start warms the template family's generation, not this template. */
  const warmJourneys = async (at: Isolate) => {
    await start(at, "oseh_j_devPlain000000000000001");
    return at;
  };

  it("the template in L0, L1 and L2", async () => {
    const here = await warmJourneys(await isolateIn());
    await start(here); // the template is in this isolate's L0 from here on
    // Target: with the template in L0, no storage round trip besides the delegation document — met.
    const l0 = expectKind("delegatedRender", await measure(() => start(here)));
    expect(storageOps(l0)).toBe(0);
    expect(l0.worker.originRequests).toBe(1);

    const neighbour = await warmJourneys(await isolateIn(here.colo));
    expectKind("delegatedRenderL1", await measure(() => start(neighbour)));
    const away = await warmJourneys(await isolateIn());
    expectKind("delegatedRenderL2", await measure(() => start(away)));
  });
});

describe("a content export part (media: bytes in R2, metadata in KV)", () => {
  it("first (filled from the origin), then from R2, then from L1", async () => {
    const here = await isolateIn();
    const partOf = (path: string) => async () =>
      here.send(path, { headers: { authorization: `bearer ${await resourceToken("content", CONTENT_FILE, wallNow())}` } });
    const exportPart = () => `/api/1/content_files/exports/parts/oseh_cfep_${uniqueId("cost")}.mp4`;
    await partOf(exportPart())(); // warms the isolate (the metadata family's generation)
    const part = partOf(exportPart());
    expectKind("mediaPartFill", await measure(part));
    // Target: a media hit from L1 makes one R2 pointer read by design and nothing else.
    const fromR2 = expectKind("mediaPartR2", await measure(part));
    expect(fromR2.worker.r2ClassB).toBeGreaterThanOrEqual(2); // the pointer and the slice
    const fromL1 = expectKind("mediaPartL1", await measure(part));
    expect(storageOps(fromL1)).toBe(1);
    expect(fromL1.worker.r2ClassB).toBe(1);
  });
});

describe("a passthrough", () => {
  it("GET /api/1/dev/echo: the origin answers, nothing stored", async () => {
    const here = await warm(await isolateIn());
    expectKind("passthrough", await measure(() => here.send("/api/1/dev/echo?cost=1", { headers: { accept: "application/json" } })));
  });
});

describe("purges (the admin API, a service token)", () => {
  const purge = async (at: Isolate, body: unknown) =>
    at.send("/_edge/v1/purge", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${await adminToken(wallNow())}` },
      body: JSON.stringify(body),
    });

  it("one key", async () => {
    const here = await warm(await isolateIn());
    const uid = freshTranscript();
    await transcript(here, uid);
    expectKind("purgeKey", await measure(() => purge(here, { keys: [`transcripts:${uid}`] })));
  });

  it("a family: O(1) before its paged cleanup (one page here, three keys)", async () => {
    const here = await isolateIn();
    // A family nothing else in this file writes, so the page holds exactly these keys.
    const keys = ["a", "b", "c"].map((tail) => `users:oseh_u_cost${uniqueId(tail)}:created_at`);
    for (const key of keys) {
      const put = await here.call(`/_edge/v1/keys/${encodeURIComponent(key)}`, { method: "PUT", body: "1700000000.5", headers: { authorization: `Bearer ${await adminToken(wallNow())}` } });
      expect(put.status).toBe(204);
    }
    expectKind("purgeFamily3Keys", await measure(() => purge(here, { family: "users:{sub}:created_at" })));
  });
});

describe("scripts/cost/operations.json and docs/cost.md", () => {
  it("docs/cost.md's operations table is the one rendered from the measured file", () => {
    expect(costDoc).toContain(renderOperationsTable(operations));
    expect(costDoc).toContain(renderAnswerPathTable(operations));
  });
});
