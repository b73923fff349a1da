/**
 * Resource JWTs and id tokens, exactly as the backend mints and checks them
 * (docs/block-format.md §4; docs/design.md §5, §6).
 *
 * Minting: PyJWT HS256, header `{"alg":"HS256","typ":"JWT"}`, payload keys in insertion order
 * `sub, iss, aud, iat, exp`, integer seconds, `iat = now − 1`, `exp = now + 1800`, signed with
 * jose's SignJWT. A token is a pure function of (secret, sub, aud, second), so the isolate keeps
 * this second's tokens (bounded) and hands the same bytes out again: the tokens of a hot journey
 * are the same for every user, so under load a render signs nothing (docs/performance.md).
 *
 * Verification: PyJWT 2.8.0 `decode` with `algorithms=["HS256"]`, `require=[sub, iss, exp, aud,
 * iat]`, exact issuer, audience string-or-list, leeway 0. jose's `jwtVerify` does the signature,
 * algorithm, issuer, audience and exp checks; the rest (null claims, `int(iat) > now`, PyJWT's
 * int() truncation of float claims, id-token `jti` / minimum `iat`) is checked here.
 */
import { errors, jwtVerify, SignJWT, type JWTPayload } from "jose";
import type { PreviousSecrets, Secrets } from "../config";
import type { AuthFailure } from "./bearer";

export type ResourceKind = "image" | "content" | "transcript" | "journey" | "interactive_prompt";

export const RESOURCE_KINDS: readonly ResourceKind[] = ["image", "content", "transcript", "journey", "interactive_prompt"];

/** `aud` per kind (docs/block-format.md §4 table). */
export const RESOURCE_AUDIENCE: Readonly<Record<ResourceKind, string>> = {
  image: "oseh-image",
  content: "oseh-content",
  transcript: "oseh-transcript",
  journey: "oseh-journey",
  interactive_prompt: "oseh-interactive-prompt",
};

/** The secret each kind is signed with. */
export const RESOURCE_SECRET: Readonly<Record<ResourceKind, keyof Secrets>> = {
  image: "imageFile",
  content: "contentFile",
  transcript: "transcript",
  journey: "journey",
  interactive_prompt: "interactivePrompt",
};

export const JWT_ISSUER = "oseh";
export const ID_TOKEN_AUDIENCE = "oseh-id";
export const JWT_LIFETIME_SECONDS = 1800; // create_jwt default duration; no render caller overrides it (§4)
export const JWT_BACKDATE_SECONDS = 1; // iat = now − 1 because the verifier rejects int(iat) > now (§4)
export const ID_TOKEN_MIN_IAT = 1679589900; // auth.py: id tokens issued before this are refused

export interface ResourceClaims {
  sub: string;
  iss: typeof JWT_ISSUER;
  aud: string;
  iat: number;
  exp: number;
}

/** The claims the backend's `create_jwt` builds, in its key order. Pure. */
export function buildResourceClaims(kind: ResourceKind, sub: string, now: number): ResourceClaims {
  const seconds = Math.floor(now);
  return {
    sub,
    iss: JWT_ISSUER,
    aud: RESOURCE_AUDIENCE[kind],
    iat: seconds - JWT_BACKDATE_SECONDS,
    exp: seconds + JWT_LIFETIME_SECONDS,
  };
}

/**
 * What signing and verifying keep per isolate (src/isolate.ts): imported keys, and the tokens
 * minted in the current second (see `cachedToken`), and the edge's values token (src/origin/tokens.ts).
 */
export interface TokenMemory {
  readonly keys: Map<string, Promise<CryptoKey>>;
  /** The second `ofSecond` belongs to. */
  second: number;
  ofSecond: Map<string, string | Promise<string>>;
  /** The values token per secret, reused until shortly before it expires. */
  readonly values: Map<string, Promise<{ token: string; iat: number; renewAt: number }>>;
}

export function createTokenMemory(): TokenMemory {
  return { keys: new Map(), second: Number.NaN, ofSecond: new Map(), values: new Map() };
}

/**
 * One HMAC-SHA256 CryptoKey per secret per isolate: jose re-imports a raw secret on every call
 * (docs/platform.md §4.2). Imported lazily, since global scope may not do async work.
 */
export function importHmacKey(secret: string, memory: TokenMemory): Promise<CryptoKey> {
  const { keys } = memory;
  let key = keys.get(secret);
  if (key === undefined) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    // A rejected import must not poison the cache for the isolate's lifetime.
    key.catch(() => keys.delete(secret));
    keys.set(secret, key);
  }
  return key;
}

/** Like jose's setters: a JSON-serialised NaN or Infinity would be `null`, which no verifier accepts. */
function assertFiniteTimes(claims: JWTPayload): void {
  for (const claim of ["iat", "nbf", "exp"] as const) {
    const value = claims[claim];
    if (typeof value === "number" && !Number.isFinite(value)) throw new TypeError(`"${claim}" claim must be a finite number`);
  }
}

/** HS256 over the claims as given (key order preserved), under `{"alg":"HS256","typ":"JWT"}`. */
export function signHs256(claims: JWTPayload, key: CryptoKey): Promise<string> {
  try {
    assertFiniteTimes(claims);
    return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Resource tokens minted in the current second, per isolate: key → the token once signed (a
 * string, handed out synchronously), or the pending signature (a promise, so that concurrent
 * renders of one journey share one). Only one second is kept; a mint for another second starts
 * a new map. Bounded: past the cap a mint is signed and not kept.
 */
export const TOKEN_CACHE_MAX_ENTRIES = 4096;

/**
 * This second's token for (secret, aud, sub), from the isolate's cache or freshly signed. The
 * secret is part of the key, so token services with different secrets never share a token.
 */
function cachedToken(memory: TokenMemory, secret: string, aud: string, sub: string, second: number, sign: () => Promise<string>): string | Promise<string> {
  if (second !== memory.second) {
    memory.second = second;
    memory.ofSecond = new Map();
  }
  const key = `${secret}\u0000${aud}\u0000${sub}`;
  const hit = memory.ofSecond.get(key);
  if (hit !== undefined) return hit;
  const token = sign();
  if (memory.ofSecond.size < TOKEN_CACHE_MAX_ENTRIES) {
    const map = memory.ofSecond;
    map.set(key, token);
    token.then(
      (signed) => {
        if (map.get(key) === token) map.set(key, signed);
      },
      // A failed signature must not be handed out for the rest of the second.
      () => map.delete(key),
    );
  }
  return token;
}

export type VerifiedClaims = JWTPayload & { sub: string; iss: string; iat: number; exp: number };

export type VerifyResult = { ok: true; claims: VerifiedClaims } | { ok: false; failure: AuthFailure };

interface VerifyPolicy {
  audience: string;
  required: readonly string[];
  minIat?: number;
  expectedSub?: string;
}

const RESOURCE_REQUIRED = ["sub", "iss", "exp", "aud", "iat"] as const;
const ID_TOKEN_REQUIRED = [...RESOURCE_REQUIRED, "jti"] as const;

function invalid(detail: string): { ok: false; failure: AuthFailure } {
  return { ok: false, failure: { reason: "invalid", detail } };
}

/** PyJWT's `int(claim)` for a JSON number: truncation toward zero. */
function pyInt(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? Math.trunc(value) : null;
}

async function verifyWithPolicy(token: string, key: CryptoKey, now: number, policy: VerifyPolicy): Promise<VerifyResult> {
  const seconds = Math.floor(now);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ["HS256"],
      issuer: JWT_ISSUER,
      audience: policy.audience,
      requiredClaims: [...policy.required],
      // jose compares against floor(currentDate); for integer claims that equals PyJWT's
      // comparisons with a float `now` (int(exp) <= now ⇔ exp <= floor(now)).
      currentDate: new Date(seconds * 1000),
      clockTolerance: 0,
    }));
  } catch (error) {
    return invalid(error instanceof errors.JOSEError ? error.code : "unverifiable");
  }
  // PyJWT's `require` treats null as missing; jose only checks presence.
  for (const claim of policy.required) {
    if (payload[claim] === null || payload[claim] === undefined) return invalid(`missing ${claim}`);
  }
  if (typeof payload.sub !== "string") return invalid("sub is not a string");
  // PyJWT rejects a list audience with any non-string member ("Invalid claim format in token").
  if (Array.isArray(payload.aud) && payload.aud.some((a) => typeof a !== "string")) return invalid("aud list malformed");
  const exp = pyInt(payload.exp);
  const iat = pyInt(payload.iat);
  if (exp === null) return invalid("exp is not a number");
  if (iat === null) return invalid("iat is not a number");
  // jose compares a fractional exp as-is; PyJWT truncates first.
  if (exp <= seconds) return invalid("expired");
  // jose only checks iat with maxTokenAge; PyJWT's leeway-0 rule is `int(iat) > now`.
  if (iat > seconds) return invalid("iat in the future");
  if (policy.minIat !== undefined && iat < policy.minIat) return invalid("iat before the minimum");
  if (policy.expectedSub !== undefined && payload.sub !== policy.expectedSub) return invalid("sub mismatch");
  return { ok: true, claims: payload as VerifiedClaims };
}

export interface TokenService {
  /**
   * A resource JWT for `sub`, byte-identical to the backend's (and to a fresh jose mint) for the
   * same clock; a string when this second's token is already kept, so a warm render need not wait.
   */
  mint(kind: ResourceKind, sub: string, now: number): string | Promise<string>;
  /** The backend's `auth_presigned` for one kind; `expectedSub` is the route's uid check. */
  verifyResource(kind: ResourceKind, token: string, now: number, expectedSub?: string): Promise<VerifyResult>;
  /** The backend's id-token check (`auth.py`): aud `oseh-id`, `jti` required, iat ≥ 1679589900. */
  verifyIdToken(token: string, now: number): Promise<VerifyResult>;
}

/** jose's code for a signature made with another key: the one failure a previous secret can fix. */
const SIGNATURE_MISMATCH = "ERR_JWS_SIGNATURE_VERIFICATION_FAILED";

/**
 * Verifies with the current secret and, only when the signature does not match and a rotation is
 * under way, with the previous one (docs/security.md "rotation"). Signing never uses `previous`.
 */
async function verifyRotating(
  memory: TokenMemory,
  token: string,
  current: string,
  previous: string | undefined,
  now: number,
  policy: VerifyPolicy,
): Promise<VerifyResult> {
  const result = await verifyWithPolicy(token, await importHmacKey(current, memory), now, policy);
  if (result.ok || previous === undefined || result.failure.reason !== "invalid" || result.failure.detail !== SIGNATURE_MISMATCH) return result;
  return verifyWithPolicy(token, await importHmacKey(previous, memory), now, policy);
}

/** `memory`: the isolate's (src/isolate.ts), so keys are imported and tokens signed once per isolate. */
export function createTokenService(secrets: Secrets, previous: PreviousSecrets, memory: TokenMemory): TokenService {
  const keyFor = (kind: ResourceKind): Promise<CryptoKey> => importHmacKey(secrets[RESOURCE_SECRET[kind]], memory);
  // Resolved keys, so a cold mint after the first signs without waiting a turn for the import.
  const signingKeys = new Map<ResourceKind, CryptoKey>();
  const sign = async (kind: ResourceKind, sub: string, second: number): Promise<string> => {
    let key = signingKeys.get(kind);
    if (key === undefined) {
      key = await keyFor(kind);
      signingKeys.set(kind, key);
    }
    return signHs256({ ...buildResourceClaims(kind, sub, second) }, key);
  };
  return {
    mint(kind, sub, now) {
      // The claims (and so the clock) are fixed before anything is awaited.
      const second = Math.floor(now);
      if (!Number.isFinite(second)) return Promise.reject(new TypeError(`mint clock must be a finite number, got ${now}`));
      return cachedToken(memory, secrets[RESOURCE_SECRET[kind]], RESOURCE_AUDIENCE[kind], sub, second, () => sign(kind, sub, second));
    },
    async verifyResource(kind, token, now, expectedSub) {
      const policy: VerifyPolicy = { audience: RESOURCE_AUDIENCE[kind], required: RESOURCE_REQUIRED };
      if (expectedSub !== undefined) policy.expectedSub = expectedSub;
      const field = RESOURCE_SECRET[kind];
      return verifyRotating(memory, token, secrets[field], previous[field as keyof PreviousSecrets], now, policy);
    },
    async verifyIdToken(token, now) {
      return verifyRotating(memory, token, secrets.idToken, previous.idToken, now, {
        audience: ID_TOKEN_AUDIENCE,
        required: ID_TOKEN_REQUIRED,
        minIat: ID_TOKEN_MIN_IAT,
      });
    },
  };
}
