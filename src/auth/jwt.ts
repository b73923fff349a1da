/**
 * Resource JWTs and id tokens, exactly as the backend mints and checks them
 * (catalog/blocks-spec.md §4; DESIGN §5, §6).
 *
 * Minting: PyJWT HS256, header `{"alg":"HS256","typ":"JWT"}`, payload keys in insertion order
 * `sub, iss, aud, iat, exp`, integer seconds, `iat = now − 1`, `exp = now + 1800`. The token is
 * assembled here (constant header, payload JSON, base64url, one `crypto.subtle.sign`) instead of
 * with jose's SignJWT: minting is on the render hot path (six tokens per journey), and SignJWT's
 * header normalisation, crit/b64 checks and per-call key preparation made a journey render run
 * at 0.14–0.15 of the bare HMAC floor. The bytes are those of SignJWT with the same claims and
 * protected header (test/auth/jwt.test.ts checks both against each other and the vectors).
 *
 * Verification: PyJWT 2.8.0 `decode` with `algorithms=["HS256"]`, `require=[sub, iss, exp, aud,
 * iat]`, exact issuer, audience string-or-list, leeway 0. jose's `jwtVerify` does the signature,
 * algorithm, issuer, audience and exp checks; the rest (null claims, `int(iat) > now`, PyJWT's
 * int() truncation of float claims, id-token `jti` / minimum `iat`) is checked here.
 */
import { errors, jwtVerify, type JWTPayload } from "jose";
import type { PreviousSecrets, Secrets } from "../config";
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

/** base64url(`{"alg":"HS256","typ":"JWT"}`): PyJWT sorts header keys, so every token starts so (§4). */
export const JWT_HEADER_B64URL = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

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

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Every 12-bit value as its two base64url characters: one lookup per half of a 3-byte group. */
const BASE64URL_PAIRS: readonly string[] = Array.from(
  { length: 4096 },
  (_, i) => `${BASE64URL_ALPHABET.charAt(i >> 6)}${BASE64URL_ALPHABET.charAt(i & 63)}`,
);

/** base64url without padding (RFC 7515 §2). Sized for signatures and claim sets, not for megabytes. */
export function encodeBase64Url(bytes: Uint8Array): string {
  const whole = bytes.length - (bytes.length % 3);
  let out = "";
  let i = 0;
  for (; i < whole; i += 3) {
    const group = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out += (BASE64URL_PAIRS[group >> 12] as string) + (BASE64URL_PAIRS[group & 4095] as string);
  }
  if (i + 1 === bytes.length) {
    out += BASE64URL_PAIRS[(bytes[i] as number) << 4] as string;
  } else if (i + 2 === bytes.length) {
    const group = ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
    out += (BASE64URL_PAIRS[group >> 4] as string) + BASE64URL_ALPHABET.charAt((group & 15) << 2);
  }
  return out;
}

const NON_ASCII = /[^\x00-\x7f]/;
const BASE64_TO_URL: Readonly<Record<string, string>> = { "+": "-", "/": "_", "=": "" };
const utf8 = new TextEncoder();

/**
 * base64url of the UTF-8 bytes of a JSON text. Claim sets are ASCII in practice (uids, §4), and
 * for ASCII text `btoa` is the UTF-8 encoding already and measured fastest in workerd for
 * ~120-byte payloads; anything else goes through TextEncoder.
 */
function encodeJsonBase64Url(json: string): string {
  if (NON_ASCII.test(json)) return encodeBase64Url(utf8.encode(json));
  return btoa(json).replace(/[+/=]/g, (c) => BASE64_TO_URL[c] as string);
}

/** Keys already checked to be HMAC-SHA256 signing keys (what jose checks on every call). */
const hs256Keys = new WeakSet<CryptoKey>();

function assertHs256Key(key: CryptoKey): void {
  if (hs256Keys.has(key)) return;
  const algorithm = key.algorithm;
  const hash = algorithm.name === "HMAC" && "hash" in algorithm ? algorithm.hash : undefined;
  if (hash?.name !== "SHA-256" || !key.usages.includes("sign")) {
    throw new TypeError("HS256 needs an HMAC SHA-256 CryptoKey with the sign usage");
  }
  hs256Keys.add(key);
}

/** `header.payload.signature` for a payload JSON text, under the constant HS256 header. */
async function signPayloadJson(json: string, key: CryptoKey): Promise<string> {
  assertHs256Key(key);
  const signingInput = `${JWT_HEADER_B64URL}.${encodeJsonBase64Url(json)}`;
  const signature = await crypto.subtle.sign("HMAC", key, utf8.encode(signingInput));
  return `${signingInput}.${encodeBase64Url(new Uint8Array(signature))}`;
}

/** Like jose: a JSON-serialised NaN or Infinity would be `null`, which no verifier accepts. */
function assertFiniteTimes(claims: JWTPayload): void {
  for (const claim of ["iat", "nbf", "exp"] as const) {
    const value = claims[claim];
    if (typeof value === "number" && !Number.isFinite(value)) throw new TypeError(`"${claim}" claim must be a finite number`);
  }
}

/**
 * Signs claims as-is (key order preserved), with the bytes jose's SignJWT gives for the same
 * claims and `{alg:"HS256",typ:"JWT"}`. Knows nothing about streams or kinds.
 */
export function signHs256(claims: JWTPayload, key: CryptoKey): Promise<string> {
  try {
    assertFiniteTimes(claims);
    return signPayloadJson(JSON.stringify(claims), key);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Per kind, the payload JSON between the sub and the iat: `,"iss":"oseh","aud":"oseh-image","iat":`. */
const CLAIMS_AFTER_SUB: Readonly<Record<ResourceKind, string>> = Object.fromEntries(
  RESOURCE_KINDS.map((kind) => [kind, `,"iss":${JSON.stringify(JWT_ISSUER)},"aud":${JSON.stringify(RESOURCE_AUDIENCE[kind])},"iat":`]),
) as Record<ResourceKind, string>;

/**
 * `JSON.stringify(buildResourceClaims(kind, sub, now))` without building the object: the same
 * text for every string `sub` (JSON.stringify escapes it as it would inside the object).
 */
export function resourceClaimsJson(kind: ResourceKind, sub: string, now: number): string {
  const seconds = Math.floor(now);
  if (!Number.isFinite(seconds)) throw new TypeError(`mint clock must be a finite number, got ${now}`);
  return `{"sub":${JSON.stringify(sub)}${CLAIMS_AFTER_SUB[kind]}${seconds - JWT_BACKDATE_SECONDS},"exp":${seconds + JWT_LIFETIME_SECONDS}}`;
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

/** jose's code for a signature made with another key: the one failure a previous secret can fix. */
const SIGNATURE_MISMATCH = "ERR_JWS_SIGNATURE_VERIFICATION_FAILED";

/**
 * Verifies with the current secret and, only when the signature does not match and a rotation is
 * under way, with the previous one (docs/security.md "rotation"). Signing never uses `previous`.
 */
async function verifyRotating(token: string, current: string, previous: string | undefined, now: number, policy: VerifyPolicy): Promise<VerifyResult> {
  const result = await verifyWithPolicy(token, await importHmacKey(current), now, policy);
  if (result.ok || previous === undefined || result.failure.reason !== "invalid" || result.failure.detail !== SIGNATURE_MISMATCH) return result;
  return verifyWithPolicy(token, await importHmacKey(previous), now, policy);
}

export function createTokenService(secrets: Secrets, previous: PreviousSecrets = {}): TokenService {
  const keyFor = (kind: ResourceKind): Promise<CryptoKey> => importHmacKey(secrets[RESOURCE_SECRET[kind]]);
  // Resolved keys, so a mint after the first does not wait a turn for the import promise.
  const signingKeys = new Map<ResourceKind, CryptoKey>();
  return {
    async mint(kind, sub, now) {
      // The claims (and so the clock) are fixed before the first await.
      const json = resourceClaimsJson(kind, sub, now);
      let key = signingKeys.get(kind);
      if (key === undefined) {
        key = await keyFor(kind);
        signingKeys.set(kind, key);
      }
      return signPayloadJson(json, key);
    },
    async verifyResource(kind, token, now, expectedSub) {
      const policy: VerifyPolicy = { audience: RESOURCE_AUDIENCE[kind], required: RESOURCE_REQUIRED };
      if (expectedSub !== undefined) policy.expectedSub = expectedSub;
      const field = RESOURCE_SECRET[kind];
      return verifyRotating(token, secrets[field], previous[field as keyof PreviousSecrets], now, policy);
    },
    async verifyIdToken(token, now) {
      return verifyRotating(token, secrets.idToken, previous.idToken, now, {
        audience: ID_TOKEN_AUDIENCE,
        required: ID_TOKEN_REQUIRED,
        minIat: ID_TOKEN_MIN_IAT,
      });
    },
  };
}
