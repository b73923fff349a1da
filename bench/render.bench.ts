/**
 * Render throughput inside workerd (run by `npm run bench`, never by `npm test`).
 * Prints one `BENCH_JSON {…}` line that scripts/bench.mjs reports. No timing is asserted.
 *
 * - journey renders/s: `journey-full` through renderValue (6 JWT mints: 3 image, 2 content,
 *   1 transcript), body read to the end;
 * - HMAC floor: the same number of HS256 signatures made with crypto.subtle directly over a
 *   prepared signing input, i.e. the cost no renderer can avoid;
 * - fast mint: the same number of tokens through the token service (claims JSON, base64url, one
 *   crypto.subtle.sign), i.e. what the renderer calls;
 * - jose mint: the same tokens through jose's SignJWT (the reference the tests compare against),
 *   to show what the hand-assembled token saves;
 * - renders with a signer that returns a constant token: the renderer's own cost (validation,
 *   walking, the body stream), which bounds the ratio to the floor however fast minting gets.
 * Each round runs all four back to back, so the ratios come from one stretch of a noisy machine.
 */
import { SignJWT } from "jose";
import { it } from "vitest";
import { buildResourceClaims, createTokenService, importHmacKey } from "../src/auth/jwt";
import { renderValue, type ResourceSigner } from "../src/render/stream";
import { base64ToBytes, loadBlocksVectors } from "../test/helpers/vectors";
import { clock, median } from "./timing";

const NOW = 1700000000;

async function drain(body: ReadableStream<Uint8Array>): Promise<number> {
  const reader = body.getReader();
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return total;
    total += value.length;
  }
}

it("journey render throughput vs the HMAC floor", async () => {
  const { meta, vectors } = loadBlocksVectors();
  const journey = vectors.find((v) => v.id === "journey-full");
  const s = meta.secrets as Record<string, string>;
  const tokens = createTokenService({
    imageFile: s.OSEH_IMAGE_FILE_JWT_SECRET ?? "",
    contentFile: s.OSEH_CONTENT_FILE_JWT_SECRET ?? "",
    transcript: s.OSEH_TRANSCRIPT_JWT_SECRET ?? "",
    journey: s.OSEH_JOURNEY_JWT_SECRET ?? "",
    interactivePrompt: s.OSEH_INTERACTIVE_PROMPT_JWT_SECRET ?? "",
    idToken: s.OSEH_ID_TOKEN_SECRET ?? "",
    edgeAdmin: "bench",
    edgeOrigin: "bench",
  });
  const cached = base64ToBytes(journey.cached_bytes_b64);
  const mintsPerRender = (journey.jwts as unknown[]).length - 1; // minus the journey JWT passed in
  const constantToken = journey.jwts[1].token as string;
  const constantSigner: ResourceSigner = { mint: () => Promise.resolve(constantToken) };
  const render = async (signer: ResourceSigner = tokens): Promise<number> => {
    const result = renderValue(cached, { kind: "journey", journeyJwt: journey.journey_jwt_passed_in, signer, now: () => NOW });
    if (!result.ok) throw new Error(result.failure.message);
    return drain(result.body);
  };

  const key = await importHmacKey(s.OSEH_IMAGE_FILE_JWT_SECRET ?? "");
  const signingInput = new TextEncoder().encode((journey.jwts[1].token as string).split(".").slice(0, 2).join("."));

  const SUB = "oseh_if_bg7Hn2JdQ4x1LzP0aY6sCw";
  const joseMint = (): Promise<string> =>
    new SignJWT({ ...buildResourceClaims("image", SUB, NOW) }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key);
  if ((await joseMint()) !== (await tokens.mint("image", SUB, NOW))) throw new Error("fast minter and jose disagree");

  const RENDERS = 3000;
  const MINTS = RENDERS * mintsPerRender;
  const rounds: Array<{ renderMs: number; floorMs: number; fastMs: number; joseMs: number; noMintMs: number }> = [];
  for (let i = 0; i < 200; i++) await render(); // warm-up: JIT and key imports
  for (let round = 0; round < 5; round++) {
    let t = await clock();
    for (let i = 0; i < RENDERS; i++) await render();
    const renderMs = (await clock()) - t;

    t = await clock();
    for (let i = 0; i < MINTS; i++) await crypto.subtle.sign("HMAC", key, signingInput);
    const floorMs = (await clock()) - t;

    t = await clock();
    for (let i = 0; i < MINTS; i++) await tokens.mint("image", SUB, NOW);
    const fastMs = (await clock()) - t;

    t = await clock();
    for (let i = 0; i < MINTS; i++) await joseMint();
    const joseMs = (await clock()) - t;

    t = await clock();
    for (let i = 0; i < RENDERS; i++) await render(constantSigner);
    const noMintMs = (await clock()) - t;
    rounds.push({ renderMs, floorMs, fastMs, joseMs, noMintMs });
  }
  const best = rounds.reduce((a, b) => (b.renderMs < a.renderMs ? b : a));
  const rendersPerSecond = (RENDERS / best.renderMs) * 1000;
  const floorRendersPerSecond = (RENDERS / best.floorMs) * 1000;
  const result = {
    renders: RENDERS,
    mintsPerRender,
    renderedBytes: await render(),
    rendersPerSecond: Math.round(rendersPerSecond),
    floorSignaturesPerSecond: Math.round((MINTS / best.floorMs) * 1000),
    floorRendersPerSecond: Math.round(floorRendersPerSecond),
    fastMintsPerSecond: Math.round((MINTS / best.fastMs) * 1000),
    joseMintsPerSecond: Math.round((MINTS / best.joseMs) * 1000),
    noMintRendersPerSecond: Math.round((RENDERS / best.noMintMs) * 1000),
    // The best ratio any minter could reach: floor time / (floor time + the renderer's own time).
    ratioCeiling: Number(median(rounds.map((r) => r.floorMs / (r.floorMs + r.noMintMs))).toFixed(3)),
    // Per round, all measured back to back; the median damps a noisy machine.
    ratioOfFloor: Number(median(rounds.map((r) => r.floorMs / r.renderMs)).toFixed(3)),
    fastMintRatioOfFloor: Number(median(rounds.map((r) => r.floorMs / r.fastMs)).toFixed(3)),
    fastOverJose: Number(median(rounds.map((r) => r.joseMs / r.fastMs)).toFixed(2)),
    rounds,
  };
  console.log(`BENCH_JSON ${JSON.stringify(result)}`);
});
