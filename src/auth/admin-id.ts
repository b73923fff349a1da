/**
 * The backend's `auth_admin` at the edge (A "admin auth", #4; B §0 "Auth verifiers"):
 *
 * 1. `Authorization` must start with lowercase `bearer ` (401 `not_set` / `bad_format`).
 * 2. `bearer oseh_ut_…` is a user token looked up in the origin's database: the edge cannot
 *    judge it, so the request passes through untouched.
 * 3. Anything else must be an id token (aud `oseh-id`, iss `oseh`, `jti` required,
 *    iat ≥ 1679589900, leeway 0); any failure is 403 `invalid`.
 * 4. `auth:is_admin:{sub}` through the cache (filled through the values endpoint; 900 s; `0` is
 *    cached too): `1` → admin, `0` → 403 `invalid`. When the edge cannot learn a fresh bit (the
 *    origin does not serve it, or fails — a stale-if-error copy is not trusted), the request
 *    passes through.
 *
 * Used by the admin edge routes with `load` reading through the cache, as above. The edge's own
 * admin API (`/_edge/v1`) runs the same steps with its own `load`, the origin's answer and never a
 * stored copy: that API writes `auth:is_admin` itself (src/admin/admin-bit.ts).
 */
import type { AuthFailure } from "./bearer";
import { parseBearer } from "./bearer";
import type { TokenService } from "./jwt";
import type { FamilyEntry } from "../keys";
import { buildKey, getFamily } from "../keys";

/** `auth.py`: tokens with this prefix are user tokens ("shared secrets"), not JWTs. */
export const USER_TOKEN_PREFIX = "oseh_ut_";
export const IS_ADMIN_FAMILY = "auth:is_admin:{sub}";

export type AdminIdResult =
  | { kind: "admin"; sub: string }
  | { kind: "failure"; failure: AuthFailure }
  | { kind: "passthrough"; reason: string };

/** A read-through load of the is-admin bit; shaped like the routes' loader. */
export type AdminFlagLoad =
  | { kind: "value"; bytes: Uint8Array; stale?: boolean }
  | { kind: "absent" }
  | { kind: "passthrough"; reason: string };

export interface AdminIdDeps {
  readonly tokens: Pick<TokenService, "verifyIdToken">;
  load(key: string, family: FamilyEntry): Promise<AdminFlagLoad>;
}

/**
 * PyJWT decodes base64 leniently (characters outside the alphabet are skipped), so a token with
 * any other character might still verify at the origin: the origin judges those.
 */
const JWT_TEXT = /^[A-Za-z0-9_\-.]*$/;

const ADMIN_BIT = 0x31; // b'1'
const NOT_ADMIN_BIT = 0x30; // b'0'

function isAdminKey(sub: string): { ok: true; key: string; family: FamilyEntry } | { ok: false; reason: string } {
  const family = getFamily(IS_ADMIN_FAMILY);
  if (family === undefined) return { ok: false, reason: `${IS_ADMIN_FAMILY} is not registered` };
  try {
    return { ok: true, key: buildKey(family, { sub }), family };
  } catch (error) {
    // A sub the registry refuses (not an `oseh_u_` uid): the origin judges such accounts.
    if (error instanceof TypeError) return { ok: false, reason: error.message };
    throw error;
  }
}

/** The whole admin check for one request at `now`, with the backend's header rules. */
export async function authorizeAdminIdToken(request: Request, deps: AdminIdDeps, now: number): Promise<AdminIdResult> {
  const bearer = parseBearer(request.headers.get("authorization"));
  if (!bearer.ok) return { kind: "failure", failure: bearer.failure };
  return authorizeAdminToken(bearer.token, deps, now);
}

/** Steps 2–4 for a token already taken from its header, with the bit from `deps.load`. */
export async function authorizeAdminToken(token: string, deps: AdminIdDeps, now: number): Promise<AdminIdResult> {
  if (token.startsWith(USER_TOKEN_PREFIX)) return { kind: "passthrough", reason: "user tokens are checked by the origin" };
  if (!JWT_TEXT.test(token)) return { kind: "passthrough", reason: "token has characters PyJWT may skip" };

  const verified = await deps.tokens.verifyIdToken(token, now);
  if (!verified.ok) return { kind: "failure", failure: verified.failure };
  const sub = verified.claims.sub;

  const key = isAdminKey(sub);
  if (!key.ok) return { kind: "passthrough", reason: key.reason };
  const loaded = await deps.load(key.key, key.family);
  switch (loaded.kind) {
    case "value": {
      // A bit past its 900 s, served only because the origin failed, would stretch the backend's
      // window (a demoted admin keeps access for at most 900 s): the origin decides instead.
      if (loaded.stale === true) return { kind: "passthrough", reason: "is-admin bit is stale (origin failing)" };
      const bit = loaded.bytes.length === 1 ? loaded.bytes[0] : undefined;
      if (bit === ADMIN_BIT) return { kind: "admin", sub };
      if (bit === NOT_ADMIN_BIT) return { kind: "failure", failure: { reason: "invalid", detail: "not an admin" } };
      return { kind: "passthrough", reason: "is-admin bit is neither 0 nor 1" };
    }
    case "absent":
      return { kind: "passthrough", reason: "the origin has no is-admin bit for this sub" };
    case "passthrough":
      return loaded;
    default:
      return loaded satisfies never;
  }
}
