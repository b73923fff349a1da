/**
 * The backend's auth rules as the dev origin needs them: the edge's values and proxy tokens on
 * `X-Oseh-Edge` (docs/origin.md §1), std auth (`auth_any`: id tokens and `oseh_ut_` user tokens, docs/block-format.md
 * "Conventions"), resource JWT verification (§4) and minting with the backend's exact bytes.
 */
import { SignJWT, jwtVerify } from "jose";
import { parseBearer, type AuthFailure } from "../../src/auth/bearer";

const keys = new Map<string, Promise<CryptoKey>>();

/** HMAC keys are imported once per isolate per secret (docs/platform.md §4.2). */
export function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (key === undefined) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

export const RESOURCE_JWT_SECONDS = 1800; // docs/block-format.md §4: every kind's default lifetime
const ID_TOKEN_MIN_IAT = 1679589900; // auth.py rejects id tokens issued before this

export type Audience = "oseh-image" | "oseh-content" | "oseh-transcript" | "oseh-journey" | "oseh-interactive-prompt";

/** docs/block-format.md §4: header `{"alg":"HS256","typ":"JWT"}`, claims `sub, iss, aud, iat, exp`, iat = now − 1. */
export async function mintResourceJwt(secret: string, aud: Audience, sub: string, now: number): Promise<string> {
  return new SignJWT({ sub, iss: "oseh", aud, iat: now - 1, exp: now + RESOURCE_JWT_SECONDS })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(await hmacKey(secret));
}

export type TokenCheck = { ok: true; sub: string } | { ok: false; failure: AuthFailure };

const invalid = (detail: string): TokenCheck => ({ ok: false, failure: { reason: "invalid", detail } });

/** PyJWT-style verification: HS256 only, exact iss/aud, leeway 0, a future iat rejected. */
async function verifyHs256(token: string, secret: string, audience: string, required: string[], now: number): Promise<TokenCheck> {
  const checked = await verifyClaims(token, secret, audience, required, now);
  if (!checked.ok) return checked;
  return typeof checked.sub === "string" ? { ok: true, sub: checked.sub } : invalid("sub is not a string");
}

type ClaimsCheck = { ok: true; sub: unknown } | { ok: false; failure: AuthFailure };

async function verifyClaims(token: string, secret: string, audience: string, required: string[], now: number): Promise<ClaimsCheck> {
  try {
    const { payload } = await jwtVerify(token, await hmacKey(secret), {
      algorithms: ["HS256"],
      audience,
      issuer: "oseh",
      requiredClaims: required,
      currentDate: new Date(now * 1000),
    });
    if (typeof payload.iat !== "number" || Math.floor(payload.iat) > now) return { ok: false, failure: { reason: "invalid", detail: "iat in the future" } };
    return { ok: true, sub: payload.sub };
  } catch (error) {
    return { ok: false, failure: { reason: "invalid", detail: error instanceof Error ? error.message : String(error) } };
  }
}

/** `oseh_ut_` user tokens live in the backend's `user_tokens` table; here a fixed dev table. */
export const DEV_USER_TOKENS: Readonly<Record<string, string>> = {
  oseh_ut_devUser00000000000001: "oseh_u_devUser00000000000001",
  oseh_ut_devAdmin0000000000001: "oseh_u_devAdmin0000000000001",
};

/** `auth.auth_any` (docs/block-format.md "Conventions"). */
export async function stdAuth(header: string | null, idSecret: string, now: number): Promise<TokenCheck> {
  const bearer = parseBearer(header);
  if (!bearer.ok) return bearer;
  if (bearer.token.startsWith("oseh_ut_")) {
    const sub = DEV_USER_TOKENS[bearer.token];
    return sub === undefined ? invalid("unknown user token") : { ok: true, sub };
  }
  const checked = await verifyHs256(bearer.token, idSecret, "oseh-id", ["sub", "iss", "aud", "exp", "iat", "jti"], now);
  if (!checked.ok) return checked;
  const iat = decodeIat(bearer.token);
  if (iat === undefined || iat < ID_TOKEN_MIN_IAT) return invalid("iat before the id token epoch");
  return checked;
}

function decodeIat(token: string): number | undefined {
  try {
    const payload = JSON.parse(atob((token.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/"))) as { iat?: unknown };
    return typeof payload.iat === "number" ? payload.iat : undefined;
  } catch {
    return undefined;
  }
}

/** A resource JWT given without the `bearer ` prefix (journey/prompt JWTs in bodies, docs/block-format.md §4). */
export function verifyResourceJwt(token: string, secret: string, aud: Audience, now: number): Promise<TokenCheck> {
  return verifyHs256(token, secret, aud, ["sub", "iss", "exp", "aud", "iat"], now);
}

/** The edge's credentials on `X-Oseh-Edge` (docs/origin.md §1), as a backend must check them. */
export const VALUES_AUDIENCE = "oseh-edge-values";
export const PROXY_AUDIENCE = "oseh-edge-proxy";
/** Longest lifetime (exp − iat) the origin accepts per audience: the edge's tokens are short-lived. */
export const VALUES_MAX_LIFETIME_SECONDS = 300;
export const PROXY_MAX_LIFETIME_SECONDS = 60;

export type EdgeTokenCheck = { ok: true } | { ok: false; status: 401 | 403; reason: string };

/** The secrets the origin accepts edge tokens with: the current one, and during a rotation the previous one. */
export interface EdgeSecrets {
  EDGE_ORIGIN_JWT_SECRET: string;
  EDGE_ORIGIN_JWT_SECRET_PREVIOUS?: string;
}

/**
 * HS256 only, iss `oseh`, the one audience, `exp` in the future and `iat` not (leeway 0), and a
 * lifetime no longer than the audience allows: a token that claims to live longer was not minted
 * by the edge. Returns the verified payload.
 */
async function verifyEdgeToken(header: string | null, secrets: EdgeSecrets, audience: string, maxLifetime: number, now: number): Promise<{ ok: true; payload: Record<string, unknown> } | { ok: false; status: 401 | 403; reason: string }> {
  if (header === null || header === "") return { ok: false, status: 401, reason: "X-Oseh-Edge is required" };
  let lastError = "unverifiable";
  for (const secret of [secrets.EDGE_ORIGIN_JWT_SECRET, secrets.EDGE_ORIGIN_JWT_SECRET_PREVIOUS]) {
    if (secret === undefined || secret === "") continue;
    try {
      const { payload } = await jwtVerify(header, await hmacKey(secret), {
        algorithms: ["HS256"],
        audience,
        issuer: "oseh",
        requiredClaims: ["iss", "aud", "exp", "iat"],
        currentDate: new Date(now * 1000),
        clockTolerance: 0,
      });
      const iat = payload.iat as number;
      const exp = payload.exp as number;
      if (iat > now) return { ok: false, status: 403, reason: "iat in the future" };
      if (exp - iat > maxLifetime) return { ok: false, status: 403, reason: `lifetime over ${maxLifetime} s` };
      return { ok: true, payload: payload as Record<string, unknown> };
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
      // Only a signature mismatch is worth trying the other secret for.
      if (!(error instanceof Error && "code" in error && error.code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED")) break;
    }
  }
  return { ok: false, status: 403, reason: lastError };
}

/** `/api/1/edge/*`: only the values token (aud `oseh-edge-values`, at most 5 minutes). */
export async function checkValuesToken(header: string | null, secrets: EdgeSecrets, now: number): Promise<EdgeTokenCheck> {
  const checked = await verifyEdgeToken(header, secrets, VALUES_AUDIENCE, VALUES_MAX_LIFETIME_SECONDS, now);
  return checked.ok ? { ok: true } : checked;
}

/**
 * Whether this request may be answered with a delegation document: a proxy token (aud
 * `oseh-edge-proxy`, at most 60 s) whose `htm` is this request's method and `htu` this request's
 * raw path (escapes as received, no query — Starlette's `scope["raw_path"]`).
 */
/** The answer a delegation document must carry: `X-Oseh-Edge-Delegation` = the proxy token's `jti`. */
export const DELEGATION_ACK_HEADER = "X-Oseh-Edge-Delegation";

export async function checkProxyToken(
  header: string | null,
  secrets: EdgeSecrets,
  method: string,
  rawPath: string,
  now: number,
): Promise<{ ok: true; jti: string } | Extract<EdgeTokenCheck, { ok: false }>> {
  const checked = await verifyEdgeToken(header, secrets, PROXY_AUDIENCE, PROXY_MAX_LIFETIME_SECONDS, now);
  if (!checked.ok) return checked;
  if (checked.payload.htm !== method) return { ok: false, status: 403, reason: "htm does not match the request method" };
  if (checked.payload.htu !== rawPath) return { ok: false, status: 403, reason: "htu does not match the request path" };
  if (typeof checked.payload.jti !== "string" || checked.payload.jti === "") return { ok: false, status: 403, reason: "no jti" };
  return { ok: true, jti: checked.payload.jti };
}
