/**
 * Render throughput inside workerd (run by `npm run bench`, never by `npm test`).
 * Prints one `BENCH_JSON {…}` line that scripts/bench.mjs reports. No timing is asserted.
 *
 * Each round times, back to back on the same `journey-full` template (6 resource JWTs: 3 image,
 * 2 content, 1 transcript), body read to the end:
 * - cold render: every token freshly signed with jose (the clock moves a second per mint, so the
 *   per-second token cache never hits), compiled template cached — vs the jose floor: the same
 *   6 SignJWT calls alone;
 * - warm render: the production path with the tokens of this second reused;
 * - baseline render: the renderer and hand-assembled minter production ran before
 *   (bench/baseline/renderer.ts), same input;
 * - renderer alone: a constant-token signer — vs the stream floors: the same template bytes passed
 *   through each stream the renderer could write into, fed as a renderer feeds it: the renderer's
 *   own (a pull ReadableStream, one chunk enqueued), a JS TransformStream (the renderer before),
 *   and workerd's native IdentityTransformStream and FixedLengthStream;
 * - the bare HMAC floor (crypto.subtle.sign over a prepared input), for scale.
 * The warm, baseline and alone renders and the floors are each read two ways: by a JS reader (as a
 * route reading a body would) and by the runtime (`new Response(body).arrayBuffer()`, as workerd
 * reads a response body to send it to the client: production's consumer, and the target's).
 * Ratios are per round, median of the rounds: one stretch of a noisy machine each.
 */
import { SignJWT } from "jose";
import { it } from "vitest";
import { buildResourceClaims, createTokenMemory, createTokenService, importHmacKey, type ResourceKind } from "../src/auth/jwt";
import { renderValue, type ResourceSigner } from "../src/render/stream";
import { createTemplateCache } from "../src/render/templates";
import { sha256Hex } from "../src/storage/envelope";
import { base64ToBytes, loadBlocksVectors } from "../test/helpers/vectors";
import { baselineMinter, baselineRenderValue } from "./baseline/renderer";
import { clock, median } from "./timing";

const NOW = 1700000000;

/** The runtime reads the body, as it does a response's to send it. */
async function drainNative(body: ReadableStream<Uint8Array>): Promise<number> {
  return (await new Response(body).arrayBuffer()).byteLength;
}

async function drain(body: ReadableStream<Uint8Array>): Promise<number> {
  const reader = body.getReader();
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return total;
    total += value.length;
  }
}

/** Read by a JS reader and by the runtime (suffix `Native`). */
const READ_BOTH_WAYS = ["warm", "baseline", "alone", "pullFloor", "transformFloor", "identityFloor", "fixedFloor"] as const;
type ReadBothWays = (typeof READ_BOTH_WAYS)[number];
type Scenario = "cold" | "joseFloor" | "hmacFloor" | ReadBothWays | `${ReadBothWays}Native`;
const SCENARIOS: readonly Scenario[] = ["cold", "joseFloor", ...READ_BOTH_WAYS, ...READ_BOTH_WAYS.map((s) => `${s}Native` as const), "hmacFloor"];

it("journey render: cold vs jose floor, warm vs baseline, renderer vs stream floor", async () => {
  const { meta, vectors } = loadBlocksVectors();
  const journey = vectors.find((v) => v.id === "journey-full");
  const s = meta.secrets as Record<string, string>;
  const secrets = {
    imageFile: s.OSEH_IMAGE_FILE_JWT_SECRET ?? "",
    contentFile: s.OSEH_CONTENT_FILE_JWT_SECRET ?? "",
    transcript: s.OSEH_TRANSCRIPT_JWT_SECRET ?? "",
    journey: s.OSEH_JOURNEY_JWT_SECRET ?? "",
    interactivePrompt: s.OSEH_INTERACTIVE_PROMPT_JWT_SECRET ?? "",
    idToken: s.OSEH_ID_TOKEN_SECRET ?? "",
    edgeAdmin: "bench",
    edgeOrigin: "bench",
  };
  // One isolate's token memory and compiled templates, as the Worker keeps them (src/isolate.ts).
  const tokens = createTokenService(secrets, {}, createTokenMemory());
  const templates = createTemplateCache();
  const oldMinter = baselineMinter(secrets);
  const cached = base64ToBytes(journey.cached_bytes_b64);
  const cache = { templates, sha256: await sha256Hex(cached) };
  const jwts = journey.jwts as Array<{ kind: ResourceKind; token: string; claims: { sub: string } }>;
  const minted = jwts.filter((j) => j.token !== journey.journey_jwt_passed_in);
  const mintsPerRender = minted.length;
  const journeyJwt = journey.journey_jwt_passed_in as string;
  const constantToken = minted[0]?.token as string;
  const constantSigner: ResourceSigner = { mint: () => Promise.resolve(constantToken) };

  let coldClock = NOW;
  const renders = {
    warm: () => {
      const r = renderValue(cached, { kind: "journey", journeyJwt, signer: tokens, now: () => NOW + 0.5 }, cache);
      if (!r.ok) throw new Error(r.failure.message);
      return r.body;
    },
    baseline: () => {
      const r = baselineRenderValue(cached, { kind: "journey", journeyJwt, signer: oldMinter, now: () => NOW });
      if (!r.ok) throw new Error(r.failure.message);
      return r.body;
    },
    alone: () => {
      const r = renderValue(cached, { kind: "journey", journeyJwt, signer: constantSigner, now: () => NOW }, cache);
      if (!r.ok) throw new Error(r.failure.message);
      return r.body;
    },
    // The floors: the template's bytes through each stream, written as the renderer writes (one
    // chunk, then close; nothing awaited), so each is the least a renderer on that stream costs.
    pullFloor: () =>
      new ReadableStream<Uint8Array>(
        {
          start(controller) {
            controller.enqueue(cached);
            controller.close();
          },
        },
        { highWaterMark: 0 },
      ),
    transformFloor: () => written(new TransformStream<Uint8Array, Uint8Array>()),
    identityFloor: () => written(new IdentityTransformStream()),
    fixedFloor: () => written(new FixedLengthStream(cached.byteLength)),
  } satisfies Record<ReadBothWays, () => ReadableStream<Uint8Array>>;
  function written(stream: { writable: WritableStream; readable: ReadableStream }): ReadableStream<Uint8Array> {
    const writer = stream.writable.getWriter();
    // A native stream's write settles when it is read: not awaited, as the renderer does not.
    writer.write(cached).catch(() => undefined);
    writer.close().catch(() => undefined);
    return stream.readable as ReadableStream<Uint8Array>;
  }
  const cold = () => {
    const r = renderValue(cached, { kind: "journey", journeyJwt, signer: tokens, now: () => coldClock++ }, cache);
    if (!r.ok) throw new Error(r.failure.message);
    return drain(r.body);
  };

  // The jose floor: the same six SignJWT calls a cold render makes, keys already imported.
  const keys = new Map<ResourceKind, CryptoKey>();
  const secretOf: Record<string, string> = { image: secrets.imageFile, content: secrets.contentFile, transcript: secrets.transcript };
  for (const j of minted) keys.set(j.kind, await importHmacKey(secretOf[j.kind] ?? "", createTokenMemory()));
  let floorClock = NOW;
  const joseSix = async (): Promise<void> => {
    for (const j of minted) {
      await new SignJWT({ ...buildResourceClaims(j.kind, j.claims.sub, floorClock++) })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .sign(keys.get(j.kind) as CryptoKey);
    }
  };
  const hmacKey = keys.get("image") as CryptoKey;
  const signingInput = new TextEncoder().encode(constantToken.split(".").slice(0, 2).join("."));
  const hmacSix = async (): Promise<void> => {
    for (let i = 0; i < mintsPerRender; i++) await crypto.subtle.sign("HMAC", hmacKey, signingInput);
  };

  // Same bytes from every path (the clock-free ones against the vector).
  const warmBody = await (async () => {
    const r = renderValue(cached, { kind: "journey", journeyJwt, signer: tokens, now: () => NOW }, cache);
    return r.ok ? new TextDecoder().decode(new Uint8Array(await new Response(r.body).arrayBuffer())) : "";
  })();
  if (warmBody !== journey.rendered) throw new Error("warm render differs from the vector");

  const N: Record<Scenario, number> = {
    cold: 1500,
    joseFloor: 1500,
    hmacFloor: 3000,
    ...(Object.fromEntries(READ_BOTH_WAYS.flatMap((s) => [[s, 4000], [`${s}Native`, 4000]])) as Record<ReadBothWays | `${ReadBothWays}Native`, number>),
  };
  const once = {
    cold,
    joseFloor: joseSix,
    hmacFloor: hmacSix,
    ...Object.fromEntries(READ_BOTH_WAYS.flatMap((s) => [[s, () => drain(renders[s]())], [`${s}Native`, () => drainNative(renders[s]())]])),
  } as Record<Scenario, () => Promise<unknown>>;
  for (const scenario of SCENARIOS) for (let i = 0; i < 200; i++) await once[scenario](); // warm-up: JIT, keys, caches

  const rounds: Array<Record<Scenario, number>> = [];
  for (let round = 0; round < 5; round++) {
    const ms = {} as Record<Scenario, number>;
    for (const scenario of SCENARIOS) {
      const run = once[scenario];
      const t = await clock();
      for (let i = 0; i < N[scenario]; i++) await run();
      ms[scenario] = (await clock()) - t;
    }
    rounds.push(ms);
  }
  const usPer = (r: Record<Scenario, number>, sc: Scenario) => (r[sc] / N[sc]) * 1000;
  const perSecond = (sc: Scenario) => Math.round(median(rounds.map((r) => 1e6 / usPer(r, sc))));
  const ratio = (a: Scenario, b: Scenario) => Number(median(rounds.map((r) => usPer(r, a) / usPer(r, b))).toFixed(2));
  const result = {
    mintsPerRender,
    renderedBytes: await drain(renders.warm()),
    templateBytes: cached.length,
    perSecond: Object.fromEntries(SCENARIOS.map((sc) => [sc, perSecond(sc)])),
    usPerOp: Object.fromEntries(SCENARIOS.map((sc) => [sc, Number(median(rounds.map((r) => usPer(r, sc))).toFixed(2))])),
    // Time ratios (a's µs per op / b's), per round then median.
    ratios: {
      coldOverJoseFloor: ratio("cold", "joseFloor"),
      // Read by the runtime, as production sends a body (target ≥ 3), and by a JS reader.
      baselineOverWarmNative: ratio("baselineNative", "warmNative"),
      baselineOverWarm: ratio("baseline", "warm"),
      aloneOverPullFloorNative: ratio("aloneNative", "pullFloorNative"),
      aloneOverPullFloor: ratio("alone", "pullFloor"),
      // Each stream's floor against the renderer's own (the pull stream), both ways of reading.
      transformOverPullFloorNative: ratio("transformFloorNative", "pullFloorNative"),
      identityOverPullFloorNative: ratio("identityFloorNative", "pullFloorNative"),
      fixedOverPullFloorNative: ratio("fixedFloorNative", "pullFloorNative"),
      transformOverPullFloor: ratio("transformFloor", "pullFloor"),
      identityOverPullFloor: ratio("identityFloor", "pullFloor"),
      fixedOverPullFloor: ratio("fixedFloor", "pullFloor"),
      joseFloorOverHmacFloor: ratio("joseFloor", "hmacFloor"),
    },
    rounds: rounds.map((r) => Object.fromEntries(SCENARIOS.map((sc) => [sc, Math.round(r[sc])]))),
  };
  console.log(`BENCH_JSON ${JSON.stringify(result)}`);
});
