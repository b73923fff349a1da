/**
 * Verification follows PyJWT 2.8.0 as the backend configures it (docs/block-format.md §4 "Verification",
 * docs/design.md §6), and the resource-credential precedence of the image/content routes.
 */
import { SignJWT, type JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import {
  ID_TOKEN_MIN_IAT,
  RESOURCE_KINDS,
  TOKEN_CACHE_MAX_ENTRIES,
  buildResourceClaims,
  createTokenService,
  importHmacKey,
  signHs256,
  createTokenMemory,
  type ResourceKind,
} from "../../src/auth/jwt";
import { loadBlocksVectors } from "../helpers/vectors";
import { FROZEN_NOW, createPrng, vectorSecrets } from "../render/support";

const NOW = 1700000000;

const secrets = vectorSecrets();
const memory = createTokenMemory();
const tokens = createTokenService(secrets, {}, memory);
const SUB = "oseh_if_bg7Hn2JdQ4x1LzP0aY6sCw";

function b64url(bytes: Uint8Array | string): string {
  const raw = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  return btoa(String.fromCharCode(...raw)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A token with any header and payload, signed HMAC-SHA256 or HMAC-SHA512 with `secret`. */
async function craft(header: object, payload: object, secret: string, hash: "SHA-256" | "SHA-512" = "SHA-256"): Promise<string> {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash }, false, ["sign"]);
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input)));
  return `${input}.${b64url(signature)}`;
}

const HS256 = { alg: "HS256", typ: "JWT" };
const imageClaims = (): Record<string, unknown> => ({ ...buildResourceClaims("image", SUB, NOW) });
const image = (token: string, now = NOW, sub?: string) => tokens.verifyResource("image", token, now, sub);

describe("minting", () => {
  it("builds sub, iss, aud, iat, exp in the backend's order", () => {
    expect(JSON.stringify(buildResourceClaims("content", "oseh_cf_x", NOW + 0.9))).toBe(
      '{"sub":"oseh_cf_x","iss":"oseh","aud":"oseh-content","iat":1699999999,"exp":1700001800}',
    );
  });

  it("matches a hand-built PyJWT token for every kind", async () => {
    const secretOf: Record<ResourceKind, string> = {
      image: secrets.imageFile,
      content: secrets.contentFile,
      transcript: secrets.transcript,
      journey: secrets.journey,
      interactive_prompt: secrets.interactivePrompt,
    };
    for (const kind of Object.keys(secretOf) as ResourceKind[]) {
      expect(await tokens.mint(kind, "oseh_x_1", NOW)).toBe(await craft(HS256, buildResourceClaims(kind, "oseh_x_1", NOW), secretOf[kind]));
    }
  });

  it("rejects a non-finite clock, as jose does for a NaN iat", async () => {
    for (const now of [Number.NaN, Infinity, -Infinity]) await expect(tokens.mint("image", SUB, now)).rejects.toThrow(TypeError);
    await expect(signHs256({ ...imageClaims(), exp: Number.NaN }, await importHmacKey(secrets.imageFile, memory))).rejects.toThrow(TypeError);
  });

  it("refuses a key that is not HMAC SHA-256", async () => {
    const hs512 = await crypto.subtle.importKey("raw", new TextEncoder().encode("k"), { name: "HMAC", hash: "SHA-512" }, false, ["sign"]);
    await expect(signHs256(imageClaims(), hs512)).rejects.toThrow(TypeError);
  });

  it("imports each secret once per isolate", () => {
    expect(importHmacKey("same-secret", memory)).toBe(importHmacKey("same-secret", memory));
  });
});

/** The reference minter: jose's SignJWT as the backend-compatible recipe (§4) describes it. */
function joseMint(claims: JWTPayload, key: CryptoKey): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key);
}

const SECRET_OF: Record<ResourceKind, string> = {
  image: secrets.imageFile,
  content: secrets.contentFile,
  transcript: secrets.transcript,
  journey: secrets.journey,
  interactive_prompt: secrets.interactivePrompt,
};

/** A uid-like sub, sometimes with characters JSON must escape or that are not ASCII. */
function randomSub(next: () => number): string {
  const pick = (alphabet: string) => alphabet.charAt(Math.floor(next() * alphabet.length));
  const plain = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
  const odd = ['"', "\\", "\n", "\u0000", "\u001f", "\u007f", "/", "é", "€", "\u2028", "😀", "\ud800", " "];
  let sub = "oseh_";
  const length = Math.floor(next() * 40);
  for (let i = 0; i < length; i++) sub += next() < 0.1 ? pick(odd.join("")) : pick(plain);
  return sub;
}

describe("token service vs a fresh jose SignJWT (the per-second token cache)", () => {
  it("mints jose's bytes for 1000 random subs, clocks and kinds, first and again from the cache", async () => {
    const next = createPrng(42);
    for (let i = 0; i < 1000; i++) {
      const kind = RESOURCE_KINDS[i % RESOURCE_KINDS.length] as ResourceKind;
      const sub = randomSub(next);
      const now = i % 3 === 0 ? FROZEN_NOW + next() * 1e6 : Math.floor(next() * 2 ** 33);
      const expected = await joseMint({ ...buildResourceClaims(kind, sub, now) }, await importHmacKey(SECRET_OF[kind], memory));
      expect(await tokens.mint(kind, sub, now)).toBe(expected);
      // Later in the same second: the kept token, byte for byte what a fresh mint gives.
      expect(await tokens.mint(kind, sub, Math.floor(now) + 0.999)).toBe(expected);
    }
  });

  it("reuses a token within its second only, and never across secrets, kinds or subs", async () => {
    const first = tokens.mint("image", SUB, NOW + 0.1);
    expect(tokens.mint("image", SUB, NOW + 0.9)).toBe(first);
    const other = createTokenService({ ...secrets, imageFile: `${secrets.imageFile}-rotated` }, {}, memory);
    const rotated = await other.mint("image", SUB, NOW + 0.5);
    expect(rotated).not.toBe(await first);
    expect(rotated).toBe(await joseMint({ ...buildResourceClaims("image", SUB, NOW) }, await importHmacKey(`${secrets.imageFile}-rotated`, memory)));
    // Same secret for two kinds: the audience keeps them apart.
    const shared = createTokenService({ ...secrets, contentFile: secrets.imageFile }, {}, memory);
    const content = await shared.mint("content", SUB, NOW);
    expect(content).toBe(await joseMint({ ...buildResourceClaims("content", SUB, NOW) }, await importHmacKey(secrets.imageFile, memory)));
    expect(content).not.toBe(await first);
    expect(await tokens.mint("image", `${SUB}x`, NOW)).not.toBe(await first);
    const nextSecond = await tokens.mint("image", SUB, NOW + 1);
    expect(nextSecond).toBe(await joseMint({ ...buildResourceClaims("image", SUB, NOW + 1) }, await importHmacKey(secrets.imageFile, memory)));
  });

  it("past the cache's bound, tokens are still right (signed, not kept)", async () => {
    const subs = Array.from({ length: TOKEN_CACHE_MAX_ENTRIES + 50 }, (_, i) => `oseh_if_bound${i}`);
    const minted = await Promise.all(subs.map((sub) => tokens.mint("image", sub, NOW + 7)));
    const key = await importHmacKey(secrets.imageFile, memory);
    for (const i of [0, TOKEN_CACHE_MAX_ENTRIES - 1, TOKEN_CACHE_MAX_ENTRIES, TOKEN_CACHE_MAX_ENTRIES + 49]) {
      const expected = await joseMint({ ...buildResourceClaims("image", subs[i] as string, NOW + 7) }, key);
      expect(minted[i]).toBe(expected);
      expect(await tokens.mint("image", subs[i] as string, NOW + 7)).toBe(expected);
    }
  });

  it("signHs256 matches jose for arbitrary claim sets", async () => {
    const key = await importHmacKey(secrets.imageFile, memory);
    const next = createPrng(5);
    const claimSets: JWTPayload[] = [
      {},
      { sub: "x" },
      { ...imageClaims(), jti: "j1", nested: { a: [1, "é", null] } },
      { iat: 1.5, exp: -0, nbf: 1e21 },
      { sub: randomSub(next), aud: ["a", "b"], extra: "\u2028😀" },
    ];
    for (const claims of claimSets) expect(await signHs256(claims, key)).toBe(await joseMint(claims, key));
  });

  it("every vector token equals both jose's and the token service's", async () => {
    const all = loadBlocksVectors().vectors.flatMap((v: { jwts?: Array<{ kind: ResourceKind; token: string; claims: { sub: string } }> }) => v.jwts ?? []);
    expect(all.length).toBeGreaterThanOrEqual(90);
    for (const j of all) {
      const fast = await tokens.mint(j.kind, j.claims.sub, FROZEN_NOW);
      const reference = await joseMint({ ...buildResourceClaims(j.kind, j.claims.sub, FROZEN_NOW) }, await importHmacKey(SECRET_OF[j.kind], memory));
      expect([fast, reference]).toEqual([j.token, j.token]);
    }
  });
});

describe("resource verification", () => {
  it("accepts a fresh token and returns its claims", async () => {
    const token = await tokens.mint("image", SUB, NOW);
    expect(await image(token, NOW, SUB)).toEqual({ ok: true, claims: buildResourceClaims("image", SUB, NOW) });
  });

  it("rejects a sub that is not the route's uid", async () => {
    expect(await image(await tokens.mint("image", SUB, NOW), NOW, "oseh_if_other")).toMatchObject({ ok: false, failure: { reason: "invalid" } });
  });

  it("rejects another kind's token (wrong secret and aud)", async () => {
    expect(await image(await tokens.mint("content", SUB, NOW))).toMatchObject({ ok: false, failure: { reason: "invalid" } });
  });

  it("rejects exp == now and accepts exp == now + 1 (leeway 0)", async () => {
    const token = await tokens.mint("image", SUB, NOW);
    expect((await image(token, NOW + 1799.99)).ok).toBe(true);
    expect(await image(token, NOW + 1800)).toMatchObject({ ok: false, failure: { reason: "invalid" } });
    expect(await image(token, NOW + 1800.5)).toMatchObject({ ok: false });
  });

  it("rejects int(iat) > now, accepts iat == now", async () => {
    const iatNow = await craft(HS256, { ...imageClaims(), iat: NOW }, secrets.imageFile);
    expect((await image(iatNow, NOW)).ok).toBe(true);
    const future = await craft(HS256, { ...imageClaims(), iat: NOW + 1 }, secrets.imageFile);
    expect(await image(future, NOW)).toMatchObject({ ok: false, failure: { reason: "invalid", detail: "iat in the future" } });
    expect(await image(future, NOW + 0.999)).toMatchObject({ ok: false });
    expect((await image(future, NOW + 1)).ok).toBe(true);
    // PyJWT truncates: iat 1700000000.9 counts as 1700000000.
    expect((await image(await craft(HS256, { ...imageClaims(), iat: NOW + 0.9 }, secrets.imageFile), NOW)).ok).toBe(true);
  });

  it("truncates a fractional exp like PyJWT", async () => {
    const token = await craft(HS256, { ...imageClaims(), exp: NOW + 0.5 }, secrets.imageFile);
    expect(await image(token, NOW)).toMatchObject({ ok: false });
  });

  it("rejects alg none and HS512", async () => {
    const payload = b64url(JSON.stringify(imageClaims()));
    expect(await image(`${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${payload}.`)).toMatchObject({ ok: false, failure: { reason: "invalid" } });
    const hs512 = await craft({ alg: "HS512", typ: "JWT" }, imageClaims(), secrets.imageFile, "SHA-512");
    expect(await image(hs512)).toMatchObject({ ok: false, failure: { reason: "invalid" } });
  });

  it("rejects a bad signature and garbage", async () => {
    const token = await tokens.mint("image", SUB, NOW);
    expect((await image(`${token.slice(0, -2)}AA`)).ok).toBe(false);
    for (const junk of ["", "a.b", "a.b.c", "not a jwt", `${token}.x`]) expect(await image(junk)).toMatchObject({ ok: false, failure: { reason: "invalid" } });
  });

  it.each([["wrong aud", { aud: "oseh-content" }], ["wrong iss", { iss: "Oseh" }], ["iss list", { iss: ["oseh"] }]])("rejects %s", async (_n, patch) => {
    expect(await image(await craft(HS256, { ...imageClaims(), ...patch }, secrets.imageFile))).toMatchObject({ ok: false, failure: { reason: "invalid" } });
  });

  it("accepts aud as a list containing the kind's aud, rejects a list without it or with non-strings", async () => {
    const ok = await craft(HS256, { ...imageClaims(), aud: ["other", "oseh-image"] }, secrets.imageFile);
    expect((await image(ok)).ok).toBe(true);
    expect((await image(await craft(HS256, { ...imageClaims(), aud: ["other"] }, secrets.imageFile))).ok).toBe(false);
    expect((await image(await craft(HS256, { ...imageClaims(), aud: ["oseh-image", 1] }, secrets.imageFile))).ok).toBe(false);
  });

  it.each(["sub", "iss", "aud", "iat", "exp"])("rejects a token missing or with null %s", async (claim) => {
    const missing = imageClaims();
    delete missing[claim];
    expect(await image(await craft(HS256, missing, secrets.imageFile))).toMatchObject({ ok: false, failure: { reason: "invalid" } });
    expect(await image(await craft(HS256, { ...imageClaims(), [claim]: null }, secrets.imageFile))).toMatchObject({ ok: false });
  });

  it("checks nbf when present", async () => {
    expect((await image(await craft(HS256, { ...imageClaims(), nbf: NOW + 5 }, secrets.imageFile))).ok).toBe(false);
    expect((await image(await craft(HS256, { ...imageClaims(), nbf: NOW }, secrets.imageFile))).ok).toBe(true);
  });
});

describe("id tokens", () => {
  const idClaims = (): Record<string, unknown> => ({ sub: "oseh_u_x", iss: "oseh", aud: "oseh-id", iat: NOW - 10, exp: NOW + 60, jti: "j1" });

  it("accepts a valid id token", async () => {
    const verified = await tokens.verifyIdToken(await craft(HS256, idClaims(), secrets.idToken), NOW);
    expect(verified).toMatchObject({ ok: true, claims: { sub: "oseh_u_x", jti: "j1" } });
  });

  it.each([
    ["missing jti", (c: Record<string, unknown>) => delete c.jti],
    ["null jti", (c: Record<string, unknown>) => (c.jti = null)],
    ["iat before 1679589900", (c: Record<string, unknown>) => (c.iat = ID_TOKEN_MIN_IAT - 1)],
    ["resource aud", (c: Record<string, unknown>) => (c.aud = "oseh-image")],
    ["expired", (c: Record<string, unknown>) => (c.exp = NOW)],
  ])("rejects %s", async (_n, edit) => {
    const claims = idClaims();
    edit(claims);
    expect(await tokens.verifyIdToken(await craft(HS256, claims, secrets.idToken), NOW)).toMatchObject({ ok: false, failure: { reason: "invalid" } });
  });

  it("accepts iat exactly at the minimum", async () => {
    expect((await tokens.verifyIdToken(await craft(HS256, { ...idClaims(), iat: ID_TOKEN_MIN_IAT }, secrets.idToken), NOW)).ok).toBe(true);
  });

  it("rejects a resource secret", async () => {
    expect((await tokens.verifyIdToken(await craft(HS256, idClaims(), secrets.imageFile), NOW)).ok).toBe(false);
  });
});

