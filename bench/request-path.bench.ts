/**
 * The request path through the Worker's own fetch, against the dev origin that
 * test/global-setup.ts serves over real HTTP beside the bench (run by `npm run bench`, never by
 * `npm test`). Prints one `BENCH_PATH_JSON {…}` line that scripts/bench.mjs reports. No timing is
 * asserted: the machine is shared, so what matters are the ratios, each taken within one round in
 * which every scenario runs back to back.
 *
 * Scenarios (requests one at a time; each request's body is read to the end and its waitUntil
 * work settled before the next starts, so background KV/L1 writes are counted where they happen):
 * - transcript GET `/api/1/transcripts/{uid}` with a transcript JWT:
 *   - L1 hit: the default env (Cache API tier on), value already in L1;
 *   - L2 hit: the same key with `L1_CACHE=off` (an env override), so every read goes to KV;
 *   - origin fill: a fresh generated uid (`oseh_t_gen…`) each request, so each is a miss that
 *     goes through the family's shield (Durable Object), which fetches the values endpoint,
 *     validates and writes KV; the Worker answers and writes L1;
 *   - origin fill without the shield: the same with the `FAMILY_SHIELD` binding removed (an env
 *     override), so the fill is made in the isolate; the difference is what the shield adds;
 * - journey start (`POST /api/1/users/me/start_journey_from_history`, id token):
 *   - via the edge: the origin authorizes and delegates, the edge renders the cached template;
 *   - direct: the same request straight to the dev origin without `X-Oseh-Edge`, which renders
 *     the body itself;
 * - passthrough: `GET /api/1/dev/echo` via the edge vs straight to the dev origin.
 * Two more, straight to the dev origin with a valid `X-Oseh-Edge`, split the edge paths into the
 * origin's part and the edge's own: `valuesDirect` (the values endpoint for a fresh transcript
 * key, i.e. the origin's share of a fill) and `journeyDelegateDirect` (the start route answering
 * with its delegation document, i.e. the origin's share of a delegated start).
 * Every answer's status and `Cache-Status` are tallied, so a scenario that did not measure what
 * it claims (an L1 entry that aged out, a fill that hit) shows up in the report.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inject, it } from "vitest";
import { createWorker } from "../src/index";
import { idToken, signToken, TEST_SECRETS } from "../test/helpers/tokens";
import { clock, median } from "./timing";

const EDGE = "http://edge.bench";
const USER = "oseh_u_devUser00000000000001";
const JOURNEY = "oseh_j_devFull0000000000000001";
const TRANSCRIPT = "oseh_t_devTranscript00000000001";

/** Requests per scenario per round, and rounds. Bounded so the whole bench stays within a few minutes on a shared machine. */
const N = {
  l1: 400,
  l2: 400,
  fill: 80,
  fillNoShield: 80,
  valuesDirect: 80,
  journeyEdge: 200,
  journeyDirect: 200,
  journeyDelegateDirect: 200,
  echoEdge: 300,
  echoDirect: 300,
} as const;
type Scenario = keyof typeof N;
const SCENARIOS = Object.keys(N) as Scenario[];
const ROUNDS = 5;
const WARMUP = 30;

/** The dev origin checks tokens against its own (wall) clock, so the edge runs on it too. */
const now = (): number => Date.now() / 1000;

const round3 = (n: number) => Number(n.toFixed(3));

it("request path: cache tiers, delegated render and passthrough vs the dev origin", async () => {
  const originUrl = inject("originUrl");
  const worker = createWorker({ now });
  // One object per config, reused: the Worker parses each env object once (WeakMap).
  const envL1 = env as unknown as Record<string, unknown>;
  const envL2 = { ...envL1, L1_CACHE: "off" };
  const { FAMILY_SHIELD: _shield, ...envNoShield } = envL1;

  const tally: Record<Scenario, Record<string, number>> = Object.fromEntries(SCENARIOS.map((s) => [s, {}])) as never;
  const note = (scenario: Scenario, status: number, cacheStatus: string | null) => {
    const label = `${status} ${cacheStatus ?? "-"}`;
    tally[scenario][label] = (tally[scenario][label] ?? 0) + 1;
  };

  // Where a fill's time goes: until its body is read (what the client waits for) vs settling its
  // waitUntil (the KV and L1 writes). Timers advance at I/O here, and both phases do I/O.
  const fillSplit = { answerMs: 0, settleMs: 0 };
  const viaEdge = async (scenario: Scenario, request: Request, e: Record<string, unknown>): Promise<number> => {
    const ctx = createExecutionContext();
    const t0 = performance.now();
    const response = await worker.fetch!(request as Request<unknown, IncomingRequestCfProperties>, e as never, ctx);
    const bytes = (await response.arrayBuffer()).byteLength;
    const t1 = performance.now();
    await waitOnExecutionContext(ctx);
    if (scenario === "fill") {
      fillSplit.answerMs += t1 - t0;
      fillSplit.settleMs += performance.now() - t1;
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

  const transcriptToken = (uid: string) =>
    signToken({
      secret: TEST_SECRETS.transcript,
      claims: { sub: uid, iss: "oseh", aud: "oseh-transcript", iat: Math.floor(now()) - 1, exp: Math.floor(now()) + 3600 },
    });
  const hitAuth = `bearer ${await transcriptToken(TRANSCRIPT)}`;
  const idAuth = `bearer ${await idToken(USER, now())}`;
  // What the edge sends the origin (docs/origin.md §1): a values token (5 min, so one per batch of
  // fresh transcripts, minted before the timed loop) and a proxy token per delegated start, bound
  // to its method and path (60 s).
  const valuesToken = () =>
    signToken({
      secret: TEST_SECRETS.edgeOrigin,
      claims: { sub: "oseh-edge", iss: "oseh", aud: "oseh-edge-values", iat: Math.floor(now()) - 1, exp: Math.floor(now()) + 299 },
    });
  const proxyToken = () => {
    const wall = Math.floor(Date.now() / 1000);
    return signToken({
      secret: TEST_SECRETS.edgeOrigin,
      claims: { sub: "oseh-edge", iss: "oseh", aud: "oseh-edge-proxy", iat: wall - 1, exp: wall + 59, htm: "POST", htu: "/api/1/users/me/start_journey_from_history", jti: crypto.randomUUID() },
    });
  };
  const journeyBody = JSON.stringify({ journey_uid: JOURNEY });
  const transcriptRequest = (uid: string, auth: string) => new Request(`${EDGE}/api/1/transcripts/${uid}`, { headers: { authorization: auth } });
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

  const once: Record<Exclude<Scenario, "fill" | "fillNoShield" | "valuesDirect">, () => Promise<number>> = {
    l1: () => viaEdge("l1", transcriptRequest(TRANSCRIPT, hitAuth), envL1),
    l2: () => viaEdge("l2", transcriptRequest(TRANSCRIPT, hitAuth), envL2),
    journeyEdge: () => viaEdge("journeyEdge", journeyRequest(EDGE), envL1),
    journeyDirect: () => direct("journeyDirect", journeyRequest(originUrl)),
    // The proxy token is minted per call (an HMAC: microseconds against the round trip), as the
    // edge mints one per forwarded request.
    journeyDelegateDirect: async () => direct("journeyDelegateDirect", journeyRequest(originUrl, { "X-Oseh-Edge": await proxyToken() })),
    echoEdge: () => viaEdge("echoEdge", echoRequest(EDGE), envL1),
    echoDirect: () => direct("echoDirect", echoRequest(originUrl)),
  };

  // Warm-up: JIT, key imports, the edge token, connections; fills the transcript and the journey
  // template into KV and L1. The bytes of one answer each go into the report.
  const bytes: Partial<Record<Scenario, number>> = {};
  for (let i = 0; i < WARMUP; i++) {
    for (const s of Object.keys(once) as Array<keyof typeof once>) bytes[s] = await once[s]();
    for (const t of await freshTranscripts(1)) bytes.fill = await viaEdge("fill", transcriptRequest(t.uid, t.auth), envL1);
    for (const t of await freshTranscripts(1)) bytes.fillNoShield = await viaEdge("fillNoShield", transcriptRequest(t.uid, t.auth), envNoShield);
    for (const t of await freshTranscripts(1)) bytes.valuesDirect = await direct("valuesDirect", valuesRequest(t.uid, t.edgeToken));
  }
  for (const s of SCENARIOS) tally[s] = {};
  fillSplit.answerMs = 0;
  fillSplit.settleMs = 0;

  const rounds: Array<Record<Scenario, number>> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const ms = {} as Record<Scenario, number>;
    const fills = await freshTranscripts(N.fill);
    const unshielded = await freshTranscripts(N.fillNoShield);
    const values = await freshTranscripts(N.valuesDirect);
    for (const s of SCENARIOS) {
      if (s === "fill") {
        const t0 = await clock();
        for (const t of fills) await viaEdge("fill", transcriptRequest(t.uid, t.auth), envL1);
        ms.fill = (await clock()) - t0;
        continue;
      }
      if (s === "fillNoShield") {
        const t0 = await clock();
        for (const t of unshielded) await viaEdge("fillNoShield", transcriptRequest(t.uid, t.auth), envNoShield);
        ms.fillNoShield = (await clock()) - t0;
        continue;
      }
      if (s === "valuesDirect") {
        const t0 = await clock();
        for (const t of values) await direct("valuesDirect", valuesRequest(t.uid, t.edgeToken));
        ms.valuesDirect = (await clock()) - t0;
        continue;
      }
      const run = once[s];
      const t0 = await clock();
      for (let i = 0; i < N[s]; i++) await run();
      ms[s] = (await clock()) - t0;
    }
    rounds.push(ms);
  }

  const rps = (r: Record<Scenario, number>, s: Scenario) => (N[s] / r[s]) * 1000;
  const ratio = (a: Scenario, b: Scenario) => round3(median(rounds.map((r) => rps(r, a) / rps(r, b))));
  const perRequestMs = (s: Scenario) => round3(median(rounds.map((r) => r[s] / N[s])));
  const diff = (a: Scenario, b: Scenario) => round3(median(rounds.map((r) => r[a] / N[a] - r[b] / N[b])));
  const result = {
    rounds: ROUNDS,
    iterations: N,
    bytes,
    // Median over rounds of each scenario's requests/s.
    requestsPerSecond: Object.fromEntries(SCENARIOS.map((s) => [s, Math.round(median(rounds.map((r) => rps(r, s))))])),
    msPerRequest: Object.fromEntries(SCENARIOS.map((s) => [s, perRequestMs(s)])),
    // Per-round ratios of requests/s, median over rounds.
    ratios: {
      l1HitOverFill: ratio("l1", "fill"),
      l2HitOverFill: ratio("l2", "fill"),
      l1HitOverL2Hit: ratio("l1", "l2"),
      journeyEdgeOverDirect: ratio("journeyEdge", "journeyDirect"),
      journeyDelegateDirectOverDirect: ratio("journeyDelegateDirect", "journeyDirect"),
      fillOverValuesDirect: ratio("fill", "valuesDirect"),
      echoEdgeOverDirect: ratio("echoEdge", "echoDirect"),
    },
    // What the edge adds per request, ms (median over rounds of the per-round difference).
    addedMs: {
      journeyEdgeMinusDirect: diff("journeyEdge", "journeyDirect"),
      echoEdgeMinusDirect: diff("echoEdge", "echoDirect"),
      // The edge's own share of a delegated start (proxy, template load, render) ...
      journeyEdgeMinusDelegateDirect: diff("journeyEdge", "journeyDelegateDirect"),
      // ... and of a fill (route, JWT check, validation, KV + L1 writes).
      fillMinusValuesDirect: diff("fill", "valuesDirect"),
      // ... and what the family shield adds to a miss (one Durable Object round trip + its storage).
      fillMinusFillNoShield: diff("fill", "fillNoShield"),
      // The origin: delegating vs rendering itself.
      delegateDirectMinusJourneyDirect: diff("journeyDelegateDirect", "journeyDirect"),
    },
    // A fill split (all rounds): ms/request until the answer's body was read, and in waitUntil.
    fillSplit: {
      answerMs: round3(fillSplit.answerMs / (N.fill * ROUNDS)),
      waitUntilMs: round3(fillSplit.settleMs / (N.fill * ROUNDS)),
    },
    tally,
    roundsMs: rounds.map((r) => Object.fromEntries(SCENARIOS.map((s) => [s, Math.round(r[s])]))),
  };
  console.log(`BENCH_PATH_JSON ${JSON.stringify(result)}`);
});
