/**
 * Service tokens for the admin API (DESIGN §8): HS256 signed with EDGE_ADMIN_JWT_SECRET,
 * iss `oseh`, aud `oseh-edge-admin`, `exp` required, leeway 0. Used by operators and the relay.
 */
import { errors, jwtVerify } from "jose";
import type { AuthFailure } from "./bearer";
import { importHmacKey } from "./jwt";

export const ADMIN_TOKEN_AUDIENCE = "oseh-edge-admin";
export const ADMIN_TOKEN_ISSUER = "oseh";

export type AdminTokenResult = { ok: true; sub: string | null } | { ok: false; failure: AuthFailure };

export async function verifyAdminServiceToken(token: string, secret: string, now: number): Promise<AdminTokenResult> {
  try {
    const { payload } = await jwtVerify(token, await importHmacKey(secret), {
      algorithms: ["HS256"],
      audience: ADMIN_TOKEN_AUDIENCE,
      issuer: ADMIN_TOKEN_ISSUER,
      requiredClaims: ["exp"],
      currentDate: new Date(now * 1000),
      clockTolerance: 0,
    });
    // jose accepts exp == now + 0 leeway as expired already; iat in the future is not checked by
    // jose unless maxTokenAge is set, and a service token minted ahead of time is harmless.
    if (typeof payload.exp !== "number" || payload.exp <= now) {
      return { ok: false, failure: { reason: "invalid", detail: "expired" } };
    }
    return { ok: true, sub: typeof payload.sub === "string" ? payload.sub : null };
  } catch (error) {
    const detail = error instanceof errors.JOSEError ? error.code : "unverifiable";
    return { ok: false, failure: { reason: "invalid", detail } };
  }
}
