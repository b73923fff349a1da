/**
 * Resource JWTs and id tokens, exactly as the backend mints and checks them
 * (catalog/blocks-spec.md §4; DESIGN §5, §6).
 *
 * Minting: PyJWT HS256, header `{"alg":"HS256","typ":"JWT"}`, payload keys in insertion order
 * `sub, iss, aud, iat, exp`, integer seconds, `iat = now − 1`, `exp = now + 1800`. jose's
 * SignJWT serializes the constructor object with JSON.stringify (insertion order kept) and the
 * protected header likewise, so the tokens are byte-identical to the backend's.
 *
 * Verification: PyJWT 2.8.0 `decode` with `algorithms=["HS256"]`, `require=[sub, iss, exp, aud,
 * iat]`, exact issuer, audience string-or-list, leeway 0. jose's `jwtVerify` does the signature,
 * algorithm, issuer, audience and exp checks; the rest (null claims, `int(iat) > now`, PyJWT's
 * int() truncation of float claims, id-token `jti` / minimum `iat`) is checked here.
 */
import { SignJWT, errors, jwtVerify, type JWTPayload } from "jose";
import type { Secrets } from "../config";
import type { AuthFailure } from "./bearer";

export type ResourceKind = "image" | "content" | "transcript" | "journey" | "interactive_prompt";

export const RESOURCE_KINDS: readonly ResourceKind[] = ["image", "content", "transcript", "journey", "interactive_prompt"];

/** `aud` per kind (blocks-spec §4 table). */
export const RESOURCE_AUDIENCE: Readonly<Record<ResourceKind, string>> = {
  image: "oseh-image",
  content: "oseh-content",
  transcript: "oseh-transcript",
  journey: "oseh-journey",
  interactive_prompt: "oseh-interactive-prompt",
};

const RESOURCE_SECRET: Readonly<Record<ResourceKind, keyof Secrets>> = {
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

const PROTECTED_HEADER = { alg: "HS256", typ: "JWT" } as const; // PyJWT sorts header keys: alg, typ

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

const keyCache = new Map<string, Promise<CryptoKey>>();

/**
 * One HMAC-SHA256 CryptoKey per secret per isolate: jose re-imports a raw secret on every call
 * (research/platform-facts.md §4.2). Imported lazily, since global scope may not do async work.
 */
export function importHmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (key === undefined) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    // A rejected import must not poison the cache for the isolate's lifetime.
    key.catch(() => keyCache.delete(secret));
    keyCache.set(secret, key);
  }
  return key;
}

/** Signs claims as-is (key order preserved). Knows nothing about streams or kinds. */
export function signHs256(claims: JWTPayload, key: CryptoKey): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(PROTECTED_HEADER).sign(key);
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
  /** A fresh resource JWT for `sub`, byte-identical to the backend's for the same clock. */
  mint(kind: ResourceKind, sub: string, now: number): Promise<string>;
  /** The backend's `auth_presigned` for one kind; `expectedSub` is the route's uid check. */
  verifyResource(kind: ResourceKind, token: string, now: number, expectedSub?: string): Promise<VerifyResult>;
  /** The backend's id-token check (`auth.py`): aud `oseh-id`, `jti` required, iat ≥ 1679589900. */
  verifyIdToken(token: string, now: number): Promise<VerifyResult>;
}

export function createTokenService(secrets: Secrets): TokenService {
  const keyFor = (kind: ResourceKind): Promise<CryptoKey> => importHmacKey(secrets[RESOURCE_SECRET[kind]]);
  return {
    async mint(kind, sub, now) {
      return signHs256({ ...buildResourceClaims(kind, sub, now) }, await keyFor(kind));
    },
    async verifyResource(kind, token, now, expectedSub) {
      const policy: VerifyPolicy = { audience: RESOURCE_AUDIENCE[kind], required: RESOURCE_REQUIRED };
      if (expectedSub !== undefined) policy.expectedSub = expectedSub;
      return verifyWithPolicy(token, await keyFor(kind), now, policy);
    },
    async verifyIdToken(token, now) {
      return verifyWithPolicy(token, await importHmacKey(secrets.idToken), now, {
        audience: ID_TOKEN_AUDIENCE,
        required: ID_TOKEN_REQUIRED,
        minIat: ID_TOKEN_MIN_IAT,
      });
    },
  };
}
