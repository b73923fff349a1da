/**
 * Service tokens for the edge's own admin API (docs/admin-api.md): HS256 signed with
 * EDGE_ADMIN_JWT_SECRET (or, during a rotation, its `_PREVIOUS` companion), iss `oseh`, aud
 * `oseh-edge-admin`, `exp` required and at most ADMIN_TOKEN_MAX_SECONDS ahead, leeway 0. Used by
 * operators, the CLI and the relay. This API is the edge's own, so a refusal says what is wrong.
 */
import { errors, jwtVerify, type JWTPayload } from "jose";
import { ADMIN_TOKEN_AUDIENCE, ADMIN_TOKEN_ISSUER } from "../../shared/admin-client";
import type { AuthFailure } from "./bearer";

// The tools mint what this verifies (shared/admin-client.ts): one spelling of its claims for both.
export { ADMIN_TOKEN_AUDIENCE, ADMIN_TOKEN_ISSUER };

export type AdminTokenResult = { ok: true; sub: string | null } | { ok: false; failure: AuthFailure };

export interface AdminTokenKeys {
  secret: string;
  /** Also accepted while EDGE_ADMIN_JWT_SECRET is rotated. */
  previous?: string;
  /** ADMIN_TOKEN_MAX_SECONDS. */
  maxSeconds: number;
}

/** What is wrong with a token, in words an operator can act on. */
export function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "expired";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "bad signature";
  if (error instanceof errors.JOSEAlgNotAllowed) return "algorithm not allowed (HS256 only)";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "aud") return `wrong audience (expected ${ADMIN_TOKEN_AUDIENCE})`;
    if (error.claim === "iss") return `wrong issuer (expected ${ADMIN_TOKEN_ISSUER})`;
    if (error.reason === "missing") return `${error.claim} missing`;
    return `${error.claim} is invalid`;
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return "malformed token";
  return "unverifiable token";
}

async function verifyWith(token: string, secret: string, now: number): Promise<JWTPayload> {
  // The raw secret: jose imports it per call, which the admin API (a few calls a minute) can afford.
  const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
    algorithms: ["HS256"],
    audience: ADMIN_TOKEN_AUDIENCE,
    issuer: ADMIN_TOKEN_ISSUER,
    requiredClaims: ["exp"],
    currentDate: new Date(now * 1000),
    clockTolerance: 0,
  });
  return payload;
}

export async function verifyAdminServiceToken(token: string, keys: AdminTokenKeys, now: number): Promise<AdminTokenResult> {
  const invalid = (detail: string): AdminTokenResult => ({ ok: false, failure: { reason: "invalid", detail } });
  let payload: JWTPayload;
  try {
    payload = await verifyWith(token, keys.secret, now);
  } catch (error) {
    if (!(error instanceof errors.JWSSignatureVerificationFailed) || keys.previous === undefined) return invalid(describeJoseError(error));
    try {
      payload = await verifyWith(token, keys.previous, now);
    } catch (again) {
      return invalid(describeJoseError(again));
    }
  }
  // jose treats a fractional exp as-is; a token at exactly its exp is expired (leeway 0).
  if (typeof payload.exp !== "number" || payload.exp <= now) return invalid("expired");
  // A token minted to live for ever is a standing credential: refuse it, however it was signed.
  if (payload.exp > now + keys.maxSeconds) return invalid(`lifetime too long (exp more than ${keys.maxSeconds} s ahead)`);
  return { ok: true, sub: typeof payload.sub === "string" ? payload.sub : null };
}
