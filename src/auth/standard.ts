/**
 * The backend's standard authorization, `auth.auth_any` (`auth.py:134-151`), at the edge:
 *
 * 1. no `Authorization` header → 401 `not_set`;
 * 2. `bearer oseh_ut_…` is a user token, looked up in the origin's database (`auth_shared_secret`):
 *    the edge cannot judge it, so the request passes through untouched;
 * 3. anything else is an id token (`auth_id`): without the lowercase `bearer ` prefix → 401
 *    `bad_format`; HS256 `OSEH_ID_TOKEN_SECRET`, aud `oseh-id`, iss `oseh`, `sub iss aud exp iat
 *    jti` required, `iat ≥ 1679589900`, leeway 0; any failure → 403 `invalid`.
 *
 * Steps 2 and 3 in that order give the same answers as parsing the prefix first (a user token
 * starts with `bearer `), which is what `parseBearer` does. The admin check (./admin-id.ts) is
 * this plus the is-admin bit.
 */
import { isPlainJwtText, parseBearer, type AuthFailure } from "./bearer";
import type { TokenService } from "./jwt";

/** `auth.py`: tokens with this prefix are user tokens ("shared secrets"), not JWTs. */
export const USER_TOKEN_PREFIX = "oseh_ut_";

export type StandardAuthResult =
  | { kind: "user"; sub: string }
  | { kind: "failure"; failure: AuthFailure }
  | { kind: "passthrough"; reason: string };

/** Steps 2–3 for a token already taken from its header (the edge's admin API parses its own). */
export async function authorizeStandardToken(token: string, tokens: Pick<TokenService, "verifyIdToken">, now: number): Promise<StandardAuthResult> {
  if (token.startsWith(USER_TOKEN_PREFIX)) return { kind: "passthrough", reason: "user tokens are checked by the origin" };
  if (!isPlainJwtText(token)) return { kind: "passthrough", reason: "token has characters PyJWT may skip" };
  const verified = await tokens.verifyIdToken(token, now);
  return verified.ok ? { kind: "user", sub: verified.claims.sub } : { kind: "failure", failure: verified.failure };
}

/** The whole of `auth_any` for one request's `Authorization` header (null = absent) at `now`. */
export async function authorizeStandard(header: string | null, tokens: Pick<TokenService, "verifyIdToken">, now: number): Promise<StandardAuthResult> {
  const bearer = parseBearer(header);
  if (!bearer.ok) return { kind: "failure", failure: bearer.failure };
  return authorizeStandardToken(bearer.token, tokens, now);
}
