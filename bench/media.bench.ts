/**
 * Media through the Worker's own fetch against the dev origin (run by `npm run bench`, never by
 * `npm test`). Prints `BENCH_MEDIA_JSON {…}` for scripts/bench.mjs. Nothing is asserted.
 *
 * - A 4 MiB content export part: from L1 (the colo's copy of the object), from R2 (`L1_CACHE=off`),
 *   passed through (the origin does not serve `s3_files`, so the edge forwards the request to the
 *   origin's own route), and straight from the dev origin; and a 1 MiB range of it from L1 and R2.
 *   Each round runs every scenario back to back; ratios are taken within a round.
 * - A 40 MiB part: one fill (origin → R2 and client at once) and one read from R2, the body read
 *   in the chunks it arrives in and dropped. The bench prints `BENCH_MEDIA_MARK` lines around it,
 *   and scripts/bench.mjs samples the workerd processes' RSS meanwhile (memory must stay flat).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { inject, it } from "vitest";
import { createWorker } from "../src/index";
import { setFault } from "../test/helpers/dev-origin";
import { signToken, TEST_SECRETS } from "../test/helpers/tokens";
import { productionEnv } from "../test/helpers/worker";
import { clock, median } from "./timing";

const EDGE = "http://edge.bench";
const CONTENT_FILE = "oseh_cf_devAudio00000000000001";
const N = { l1: 6, r2: 6, passthrough: 6, direct: 6, rangeL1: 12, rangeR2: 12 } as const;
type Scenario = keyof typeof N;
const SCENARIOS = Object.keys(N) as Scenario[];
const ROUNDS = 3;
const RANGE = "bytes=1048576-2097151"; // 1 MiB from the middle of the part

const now = (): number => Date.now() / 1000;
const round3 = (n: number) => Number(n.toFixed(3));

async function drain(body: ReadableStream<Uint8Array> | null): Promise<number> {
  if (body === null) return 0;
  let n = 0;
  const reader = body.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) n += next.value.byteLength;
  return n;
}

it("media: a 4 MiB part from L1, R2 and passthrough, a 1 MiB range, and a 40 MiB part", async () => {
  const originUrl = inject("originUrl");
  const worker = createWorker({ now });
  // Production's settings (the shield bound, L0 and L1 on); R2 reads with L1 off.
  const envL1 = productionEnv();
  const envR2 = productionEnv({ L1_CACHE: "off" });
  const token = await signToken({
    secret: TEST_SECRETS.content,
    claims: { sub: CONTENT_FILE, iss: "oseh", aud: "oseh-content", iat: Math.floor(now()) - 1, exp: Math.floor(now()) + 3600 },
  });
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const partPath = (tail: string) => `/api/1/content_files/exports/parts/oseh_cfep_${tail}.mp4`;
  const cached = partPath(`bench4MiB${run}`);
  const unserved = partPath(`benchPass4MiB${run}`);
  await setFault(`s3_files:oseh_s3f_benchPass4MiB${run}`, { kind: "unsupported" });

  const tally: Record<string, Record<string, number>> = {};
  const viaEdge = async (label: string, path: string, e: Record<string, unknown>, range?: string): Promise<number> => {
    const ctx = createExecutionContext();
    const headers: Record<string, string> = { authorization: `bearer ${token}`, ...(range === undefined ? {} : { range }) };
    const response = await worker.fetch!(new Request(`${EDGE}${path}`, { headers }) as Request<unknown, IncomingRequestCfProperties>, e as never, ctx);
    const bytes = await drain(response.body);
    await waitOnExecutionContext(ctx);
    const key = `${response.status} ${response.headers.get("cache-status") ?? "-"}`;
    tally[label] = { ...tally[label], [key]: (tally[label]?.[key] ?? 0) + 1 };
    return bytes;
  };
  const once: Record<Scenario, () => Promise<number>> = {
    l1: () => viaEdge("l1", cached, envL1),
    r2: () => viaEdge("r2", cached, envR2),
    passthrough: () => viaEdge("passthrough", unserved, envL1),
    direct: async () => {
      const response = await fetch(`${originUrl}${cached}`, { headers: { authorization: `bearer ${token}` } });
      const bytes = await drain(response.body);
      tally["direct"] = { ...tally["direct"], [`${response.status}`]: (tally["direct"]?.[`${response.status}`] ?? 0) + 1 };
      return bytes;
    },
    rangeL1: () => viaEdge("rangeL1", cached, envL1, RANGE),
    rangeR2: () => viaEdge("rangeR2", cached, envR2, RANGE),
  };

  // Fill, then an R2 read that puts the object in L1; every scenario once more as warm-up.
  await viaEdge("warmup", cached, envL1);
  await viaEdge("warmup", cached, envL1);
  for (const s of SCENARIOS) await once[s]();
  for (const k of Object.keys(tally)) delete tally[k];

  const rounds: Array<Record<Scenario, number>> = [];
  for (let round = 0; round < ROUNDS; round++) {
    // The L1 copy lives L1_MAX_AGE_SECONDS: refresh it before each round's L1 scenarios.
    await viaEdge("warmup", cached, envL1);
    const ms = {} as Record<Scenario, number>;
    for (const s of SCENARIOS) {
      const t0 = await clock();
      for (let i = 0; i < N[s]; i++) await once[s]();
      ms[s] = (await clock()) - t0;
    }
    rounds.push(ms);
  }
  delete tally["warmup"];

  // 40 MiB: a fill, then a read from R2 (over the L1 object limit), memory sampled outside.
  const big = partPath(`bench40MiB${run}`);
  const marks: Record<string, number> = {};
  const mark = async (name: string) => {
    await clock();
    marks[name] = Date.now();
    console.log(`BENCH_MEDIA_MARK ${name} ${marks[name]}`);
    // Give the sampler in scripts/bench.mjs time to see the process at rest.
    await new Promise((resolve) => setTimeout(resolve, 500));
  };
  await mark("big-start");
  let t0 = await clock();
  const bigFillBytes = await viaEdge("big", big, envL1);
  const bigFillMs = (await clock()) - t0;
  await mark("big-mid");
  t0 = await clock();
  const bigHitBytes = await viaEdge("big", big, envL1);
  const bigHitMs = (await clock()) - t0;
  await mark("big-end");

  const rps = (r: Record<Scenario, number>, s: Scenario) => (N[s] / r[s]) * 1000;
  const ratio = (a: Scenario, b: Scenario) => round3(median(rounds.map((r) => rps(r, a) / rps(r, b))));
  const result = {
    rounds: ROUNDS,
    iterations: N,
    msPerRequest: Object.fromEntries(SCENARIOS.map((s) => [s, round3(median(rounds.map((r) => r[s] / N[s])))])),
    mibPerSecond: Object.fromEntries(
      SCENARIOS.map((s) => [s, round3(median(rounds.map((r) => (s.startsWith("range") ? 1 : 4) * rps(r, s))))]),
    ),
    ratios: {
      l1OverR2: ratio("l1", "r2"),
      r2OverPassthrough: ratio("r2", "passthrough"),
      l1OverPassthrough: ratio("l1", "passthrough"),
      passthroughOverDirect: ratio("passthrough", "direct"),
      rangeL1OverRangeR2: ratio("rangeL1", "rangeR2"),
    },
    big: { fillBytes: bigFillBytes, fillMs: Math.round(bigFillMs), hitBytes: bigHitBytes, hitMs: Math.round(bigHitMs), marks },
    tally,
  };
  console.log(`BENCH_MEDIA_JSON ${JSON.stringify(result)}`);
});
