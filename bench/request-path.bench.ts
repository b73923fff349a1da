/**
 * The request path through the Worker's own fetch, against the dev origin that
 * test/global-setup.ts serves over real HTTP beside the bench (run by `npm run bench`, never by
 * `npm test`). Prints one `BENCH_PATH_JSON {…}` line that scripts/bench.mjs reports. No timing is
 * asserted: the machine is shared, so what matters are the ratios, each taken within one round in
 * which every scenario runs back to back.
 *
 * Two columns, as production configures the edge and with L0 off (the dev environment before):
 * - production: `productionEnv()` (test/helpers/worker.ts) — the shield bound, L0 on at 8 MiB, L1
 *   on, every setting pinned;
 * - L0 off: the same with `L0_MAX_BYTES=0`, so a repeated read is an L1 hit;
 * and, where it says so, L2: L0 and L1 off, every read from KV.
 *
 * Scenarios (one request at a time; each request's body is read to the end and its waitUntil work
 * settled before the next starts, so background KV/L1 writes are counted where they happen):
 * - transcript GET `/api/1/transcripts/{uid}` (a transcript JWT): the hit in each tier (L0 in the
 *   production column, L1 with L0 off, L2); a fill (a fresh generated uid per request, a miss
 *   through the family's shield), in both columns and with the `FAMILY_SHIELD` binding removed;
 * - profile pictures `POST /api/1/interactive_prompts/profile_pictures`, limit 5 and 10: the hit
 *   in each tier (one stored bin, fresh image JWTs from the per-second token cache);
 * - journey start (`POST /api/1/users/me/start_journey_from_history`, id token): via the edge (the
 *   origin authorizes and delegates, the edge renders the cached template: in L0 in the production
 *   column, in L1 with L0 off) and straight to the dev origin, which renders itself;
 * - passthrough: `GET /api/1/dev/echo` via the edge (both columns) and straight to the dev origin.
 * Two more, straight to the dev origin with a valid `X-Oseh-Edge`, split the edge paths into the
 * origin's part and the edge's own: `valuesDirect` (the values endpoint for a fresh transcript
 * key, the origin's share of a fill) and `journeyDelegateDirect` (the start route answering with
 * its delegation document, the origin's share of a delegated start).
 * Every answer's status and `Cache-Status` are tallied, so a scenario that did not measure what
 * it claims (an entry that aged out, a fill that hit) shows up in the report.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { inject, it } from "vitest";
import { createWorker } from "../src/index";
import { idToken, signToken, TEST_SECRETS } from "../test/helpers/tokens";
import { productionEnv } from "../test/helpers/worker";
import { clock, median } from "./timing";

const EDGE = "http://edge.bench";
const USER = "oseh_u_devUser00000000000001";
const JOURNEY = "oseh_j_devFull0000000000000001";
const TRANSCRIPT = "oseh_t_devTranscript00000000001";
/** A prompt the dev origin makes up (dev/origin/fixtures/content.ts); its bin at 4 s has pictures. */
const PROMPT = "oseh_ip_genBenchPictures0000001";

type Column = "production" | "l0Off" | "l2" | "direct";
type Env = Record<string, unknown>;

/** The envs, one object each, reused: the Worker builds its wiring once per env object. */
const PRODUCTION = productionEnv();
const L0_OFF = productionEnv({ L0_MAX_BYTES: "0" });
const L2_ONLY = productionEnv({ L0_MAX_BYTES: "0", L1_CACHE: "off" });
const { FAMILY_SHIELD: _shield, ...NO_SHIELD } = PRODUCTION;

interface ScenarioSpec {
  label: string;
  column: Column;
  /** Requests per round. */
  n: number;
  /** Fresh keys minted before the timed loop (fills), else one request shape reused. */
  fresh?: boolean;
}

/** Requests per scenario per round: bounded so the whole bench stays within a few minutes. */
const SCENARIOS = {
  transcriptL0: { label: "transcript hit", column: "production", n: 400 },
  transcriptL1: { label: "transcript hit", column: "l0Off", n: 400 },
  transcriptL2: { label: "transcript hit", column: "l2", n: 400 },
  fill: { label: "transcript fill (fresh key)", column: "production", n: 60, fresh: true },
  fillL0Off: { label: "transcript fill (fresh key)", column: "l0Off", n: 60, fresh: true },
  fillNoShield: { label: "transcript fill without the shield", column: "production", n: 60, fresh: true },
  valuesDirect: { label: "values endpoint (fresh key)", column: "direct", n: 60, fresh: true },
  pictures5L0: { label: "profile pictures, limit 5", column: "production", n: 300 },
  pictures5L1: { label: "profile pictures, limit 5", column: "l0Off", n: 300 },
  pictures5L2: { label: "profile pictures, limit 5", column: "l2", n: 300 },
  pictures10L0: { label: "profile pictures, limit 10", column: "production", n: 300 },
  pictures10L1: { label: "profile pictures, limit 10", column: "l0Off", n: 300 },
  pictures10L2: { label: "profile pictures, limit 10", column: "l2", n: 300 },
  journeyEdge: { label: "journey start via the edge", column: "production", n: 200 },
  journeyEdgeL0Off: { label: "journey start via the edge", column: "l0Off", n: 200 },
  journeyDirect: { label: "journey start, origin renders", column: "direct", n: 200 },
  journeyDelegateDirect: { label: "journey start, delegation document", column: "direct", n: 200 },
  echoEdge: { label: "passthrough", column: "production", n: 300 },
  echoEdgeL0Off: { label: "passthrough", column: "l0Off", n: 300 },
  echoDirect: { label: "passthrough", column: "direct", n: 300 },
} as const satisfies Record<string, ScenarioSpec>;
type Scenario = keyof typeof SCENARIOS;
const NAMES = Object.keys(SCENARIOS) as Scenario[];
const FILLS = ["fill", "fillL0Off", "fillNoShield"] as const satisfies readonly Scenario[];
const ROUNDS = 5;
const WARMUP = 20;

/** The dev origin checks tokens against its own (wall) clock, so the edge runs on it too. */
const now = (): number => Date.now() / 1000;

const round3 = (n: number) => Number(n.toFixed(3));

it("request path: cache tiers, delegated render and passthrough, production and L0 off, vs the dev origin", async () => {
  const originUrl = inject("originUrl");
  const worker = createWorker({ now });

  const tally: Record<Scenario, Record<string, number>> = Object.fromEntries(NAMES.map((s) => [s, {}])) as never;
  const note = (scenario: Scenario, status: number, cacheStatus: string | null) => {
    const label = `${status} ${cacheStatus ?? "-"}`;
    tally[scenario][label] = (tally[scenario][label] ?? 0) + 1;
  };

  // Where a fill's time goes: until its body is read (what the client waits for) vs settling its
  // waitUntil (the background writes). Timers advance at I/O here, and both phases do I/O.
  // And the fill's own Server-Timing phases (src/cache/phases.ts), summed per phase.
  type Split = { answerMs: number; settleMs: number; n: number; phases: Record<string, number> };
  const fillSplit = Object.fromEntries(FILLS.map((s) => [s, { answerMs: 0, settleMs: 0, n: 0, phases: {} }])) as Record<(typeof FILLS)[number], Split>;
  const viaEdge = async (scenario: Scenario, request: Request, e: Env): Promise<number> => {
    const ctx = createExecutionContext();
    const t0 = performance.now();
    const response = await worker.fetch!(request as Request<unknown, IncomingRequestCfProperties>, e as never, ctx);
    const bytes = (await response.arrayBuffer()).byteLength;
    const t1 = performance.now();
    await waitOnExecutionContext(ctx);
    if ((FILLS as readonly Scenario[]).includes(scenario)) {
      const split = fillSplit[scenario as (typeof FILLS)[number]];
      split.answerMs += t1 - t0;
      split.settleMs += performance.now() - t1;
      split.n += 1;
      for (const entry of (response.headers.get("server-timing") ?? "").split(",")) {
        const [name, dur] = entry.trim().split(";dur=");
        if (name !== undefined && dur !== undefined) split.phases[name] = (split.phases[name] ?? 0) + Number(dur);
      }
    }
    note(scenario, response.status, response.headers.get("cache-status"));
    return bytes;
  };
  const direct = async (scenario: Scenario, request: Request): Promise<number> => {
    const response = await fetch(request);
    const bytes = (await response.arrayBuffer()).byteLength;
    note(scenario, response.status, null);
    return bytes;
  };

  const sign = (secret: string, claims: Record<string, unknown>) => signToken({ secret, claims });
  const wall = () => Math.floor(now());
  const transcriptToken = (uid: string) => sign(TEST_SECRETS.transcript, { sub: uid, iss: "oseh", aud: "oseh-transcript", iat: wall() - 1, exp: wall() + 3600 });
  const hitAuth = `bearer ${await transcriptToken(TRANSCRIPT)}`;
  const idAuth = `bearer ${await idToken(USER, now())}`;
  const promptJwt = await sign(TEST_SECRETS.interactivePrompt, { sub: PROMPT, iss: "oseh", aud: "oseh-interactive-prompt", iat: wall() - 1, exp: wall() + 3600 });
  // What the edge sends the origin (docs/origin.md §1): a values token (5 min, so one per batch of
  // fresh transcripts, minted before the timed loop) and a proxy token per delegated start, bound
  // to its method and path (60 s).
  const valuesToken = () => sign(TEST_SECRETS.edgeOrigin, { sub: "oseh-edge", iss: "oseh", aud: "oseh-edge-values", iat: wall() - 1, exp: wall() + 299 });
  const proxyToken = () =>
    sign(TEST_SECRETS.edgeOrigin, { sub: "oseh-edge", iss: "oseh", aud: "oseh-edge-proxy", iat: wall() - 1, exp: wall() + 59, htm: "POST", htu: "/api/1/users/me/start_journey_from_history", jti: crypto.randomUUID() });

  const journeyBody = JSON.stringify({ journey_uid: JOURNEY });
  const transcriptRequest = (uid: string, auth: string) => new Request(`${EDGE}/api/1/transcripts/${uid}`, { headers: { authorization: auth } });
  const picturesRequest = (limit: number) =>
    new Request(`${EDGE}/api/1/interactive_prompts/profile_pictures`, {
      method: "POST",
      headers: { authorization: idAuth, "content-type": "application/json" },
      body: JSON.stringify({ uid: PROMPT, jwt: promptJwt, prompt_time: 4, limit }),
    });
  const journeyRequest = (base: string, extra: Record<string, string> = {}) =>
    new Request(`${base}/api/1/users/me/start_journey_from_history`, {
      method: "POST",
      headers: { authorization: idAuth, "content-type": "application/json", ...extra },
      body: journeyBody,
    });
  const valuesRequest = (uid: string, edgeToken: string) =>
    new Request(`${originUrl}/api/1/edge/values/${encodeURIComponent(`transcripts:${uid}`)}`, { headers: { "X-Oseh-Edge": edgeToken } });
  const echoRequest = (base: string) => new Request(`${base}/api/1/dev/echo?bench=1`, { headers: { accept: "application/json" } });

  let fillCounter = 0;
  const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  /** Fresh transcript uids with their tokens, minted before the timed loop. */
  const freshTranscripts = async (count: number) => {
    const edgeToken = await valuesToken();
    return Promise.all(
      Array.from({ length: count }, async () => {
        fillCounter += 1;
        const uid = `oseh_t_genbench${runId}x${fillCounter.toString(36)}`;
        return { uid, auth: `bearer ${await transcriptToken(uid)}`, edgeToken };
      }),
    );
  };
  type Fresh = Awaited<ReturnType<typeof freshTranscripts>>[number];

  /** One request of a scenario; fills take their fresh key. */
  const once: Record<Scenario, (fresh?: Fresh) => Promise<number>> = {
    transcriptL0: () => viaEdge("transcriptL0", transcriptRequest(TRANSCRIPT, hitAuth), PRODUCTION),
    transcriptL1: () => viaEdge("transcriptL1", transcriptRequest(TRANSCRIPT, hitAuth), L0_OFF),
    transcriptL2: () => viaEdge("transcriptL2", transcriptRequest(TRANSCRIPT, hitAuth), L2_ONLY),
    fill: (t) => viaEdge("fill", transcriptRequest(t!.uid, t!.auth), PRODUCTION),
    fillL0Off: (t) => viaEdge("fillL0Off", transcriptRequest(t!.uid, t!.auth), L0_OFF),
    fillNoShield: (t) => viaEdge("fillNoShield", transcriptRequest(t!.uid, t!.auth), NO_SHIELD),
    valuesDirect: (t) => direct("valuesDirect", valuesRequest(t!.uid, t!.edgeToken)),
    pictures5L0: () => viaEdge("pictures5L0", picturesRequest(5), PRODUCTION),
    pictures5L1: () => viaEdge("pictures5L1", picturesRequest(5), L0_OFF),
    pictures5L2: () => viaEdge("pictures5L2", picturesRequest(5), L2_ONLY),
    pictures10L0: () => viaEdge("pictures10L0", picturesRequest(10), PRODUCTION),
    pictures10L1: () => viaEdge("pictures10L1", picturesRequest(10), L0_OFF),
    pictures10L2: () => viaEdge("pictures10L2", picturesRequest(10), L2_ONLY),
    journeyEdge: () => viaEdge("journeyEdge", journeyRequest(EDGE), PRODUCTION),
    journeyEdgeL0Off: () => viaEdge("journeyEdgeL0Off", journeyRequest(EDGE), L0_OFF),
    journeyDirect: () => direct("journeyDirect", journeyRequest(originUrl)),
    // The proxy token is minted per call (an HMAC: microseconds against the round trip), as the
    // edge mints one per forwarded request.
    journeyDelegateDirect: async () => direct("journeyDelegateDirect", journeyRequest(originUrl, { "X-Oseh-Edge": await proxyToken() })),
    echoEdge: () => viaEdge("echoEdge", echoRequest(EDGE), PRODUCTION),
    echoEdgeL0Off: () => viaEdge("echoEdgeL0Off", echoRequest(EDGE), L0_OFF),
    echoDirect: () => direct("echoDirect", echoRequest(originUrl)),
  };

  // Warm-up: JIT, key imports, the edge token, connections; fills the transcript, the pictures'
  // bin and the journey template into KV, L1 and L0. The bytes of one answer each go into the report.
  const bytes: Partial<Record<Scenario, number>> = {};
  for (let i = 0; i < WARMUP; i++) {
    for (const s of NAMES) {
      const spec: ScenarioSpec = SCENARIOS[s];
      bytes[s] = spec.fresh ? await once[s]((await freshTranscripts(1))[0]) : await once[s]();
    }
  }
  for (const s of NAMES) tally[s] = {};
  for (const split of Object.values(fillSplit)) Object.assign(split, { answerMs: 0, settleMs: 0, n: 0, phases: {} });

  const rounds: Array<Record<Scenario, number>> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const ms = {} as Record<Scenario, number>;
    const freshKeys = Object.fromEntries(
      await Promise.all(NAMES.filter((s) => (SCENARIOS[s] as ScenarioSpec).fresh).map(async (s) => [s, await freshTranscripts(SCENARIOS[s].n)] as const)),
    ) as Partial<Record<Scenario, Fresh[]>>;
    for (const s of NAMES) {
      const keys = freshKeys[s];
      const t0 = await clock();
      if (keys !== undefined) for (const t of keys) await once[s](t);
      else for (let i = 0; i < SCENARIOS[s].n; i++) await once[s]();
      ms[s] = (await clock()) - t0;
    }
    rounds.push(ms);
  }

  const perRequest = (r: Record<Scenario, number>, s: Scenario) => r[s] / SCENARIOS[s].n;
  const ratio = (a: Scenario, b: Scenario) => round3(median(rounds.map((r) => perRequest(r, b) / perRequest(r, a))));
  const diff = (a: Scenario, b: Scenario) => round3(median(rounds.map((r) => perRequest(r, a) - perRequest(r, b))));
  const result = {
    rounds: ROUNDS,
    scenarios: Object.fromEntries(
      NAMES.map((s) => [
        s,
        {
          ...SCENARIOS[s],
          requestsPerSecond: Math.round(median(rounds.map((r) => 1000 / perRequest(r, s)))),
          msPerRequest: round3(median(rounds.map((r) => perRequest(r, s)))),
          bytes: bytes[s],
        },
      ]),
    ),
    // Per-round ratios of requests/s (a over b), median over rounds.
    ratios: {
      l0HitOverL1Hit: ratio("transcriptL0", "transcriptL1"),
      l0HitOverL2Hit: ratio("transcriptL0", "transcriptL2"),
      l1HitOverL2Hit: ratio("transcriptL1", "transcriptL2"),
      l0HitOverFill: ratio("transcriptL0", "fill"),
      pictures10L0OverL1: ratio("pictures10L0", "pictures10L1"),
      pictures10L0OverL2: ratio("pictures10L0", "pictures10L2"),
      journeyEdgeOverDirect: ratio("journeyEdge", "journeyDirect"),
      journeyEdgeL0OffOverDirect: ratio("journeyEdgeL0Off", "journeyDirect"),
      echoEdgeOverDirect: ratio("echoEdge", "echoDirect"),
      l0HitOverEcho: ratio("transcriptL0", "echoEdge"),
    },
    // What the edge adds per request, ms (median over rounds of the per-round difference).
    addedMs: {
      // The delegated start's edge share: edge time minus the origin's delegation document alone.
      journeyEdgeShare: diff("journeyEdge", "journeyDelegateDirect"),
      journeyEdgeShareL0Off: diff("journeyEdgeL0Off", "journeyDelegateDirect"),
      // The origin: delegating vs rendering itself.
      delegateDirectMinusJourneyDirect: diff("journeyDelegateDirect", "journeyDirect"),
      // A miss's edge share: the fill minus the values endpoint alone ...
      fillEdgeShare: diff("fill", "valuesDirect"),
      fillEdgeShareL0Off: diff("fillL0Off", "valuesDirect"),
      // ... and what the family shield adds to it (one Durable Object round trip + its storage).
      shieldShare: diff("fill", "fillNoShield"),
      echoEdgeMinusDirect: diff("echoEdge", "echoDirect"),
      echoEdgeL0OffMinusDirect: diff("echoEdgeL0Off", "echoDirect"),
    },
    // Each fill's time (all rounds): ms/request until the answer's body was read, and in waitUntil.
    fillSplit: Object.fromEntries(
      Object.entries(fillSplit).map(([s, split]) => [
        s,
        {
          answerMs: round3(split.answerMs / split.n),
          waitUntilMs: round3(split.settleMs / split.n),
          serverTimingMs: Object.fromEntries(Object.entries(split.phases).map(([phase, ms]) => [phase, round3(ms / split.n)])),
        },
      ]),
    ),
    tally,
    roundsMs: rounds.map((r) => Object.fromEntries(NAMES.map((s) => [s, Math.round(r[s])]))),
  };
  console.log(`BENCH_PATH_JSON ${JSON.stringify(result)}`);
});
