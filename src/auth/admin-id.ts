/**
 * The backend's `auth_admin` at the edge (A "admin auth", #4; B §0 "Auth verifiers"):
 *
 * 1–3. standard authorization, `auth_any` (./standard.ts): 401 `not_set` / `bad_format`, a
 *    `bearer oseh_ut_…` user token passes through untouched, and anything else must be an id
 *    token (any failure is 403 `invalid`).
 * 4. `auth:is_admin:{sub}` through the cache (filled through the values endpoint; 900 s; `0` is
 *    cached too): `1` → admin, `0` → 403 `invalid`. When the edge cannot learn a fresh bit (the
 *    origin does not serve it, or fails — a stale-if-error copy is not trusted), the request
 *    passes through.
 *
 * Used by the admin edge routes with `readBit` reading through the cache, as above. The edge's
 * own admin API (`/_edge/v1`) runs the same steps with its own `readBit`, the origin's answer and
 * never a stored copy: that API writes `auth:is_admin` itself (src/admin/admin-bit.ts).
 */
import { describeUnavailable, type CacheResult } from "../cache";
import { parseBearer } from "./bearer";
import type { AuthFailure } from "./bearer";
import type { TokenService } from "./jwt";
import { authorizeStandardToken } from "./standard";

export const IS_ADMIN_FAMILY = "auth:is_admin:{sub}";

export type AdminIdResult =
  | { kind: "admin"; sub: string }
  | { kind: "failure"; failure: AuthFailure }
  | { kind: "passthrough"; reason: string };

export interface AdminIdDeps {
  readonly tokens: Pick<TokenService, "verifyIdToken">;
  /** `auth:is_admin:{sub}` for this sub (a sub the registry refuses is `unavailable`). */
  readBit(sub: string): Promise<CacheResult<{ readonly bytes: Uint8Array }>>;
}

const ADMIN_BIT = 0x31; // b'1'
const NOT_ADMIN_BIT = 0x30; // b'0'

/** The whole admin check for one request at `now`, with the backend's header rules. */
export async function authorizeAdminIdToken(request: Request, deps: AdminIdDeps, now: number): Promise<AdminIdResult> {
  const bearer = parseBearer(request.headers.get("authorization"));
  if (!bearer.ok) return { kind: "failure", failure: bearer.failure };
  return authorizeAdminToken(bearer.token, deps, now);
}

/** Steps 2–4 for a token already taken from its header, with the bit from `deps.readBit`. */
export async function authorizeAdminToken(token: string, deps: AdminIdDeps, now: number): Promise<AdminIdResult> {
  const user = await authorizeStandardToken(token, deps.tokens, now);
  if (user.kind !== "user") return user;
  const sub = user.sub;

  const read = await deps.readBit(sub);
  switch (read.kind) {
    case "value": {
      // A bit past its 900 s, served only because the origin failed, would stretch the backend's
      // window (a demoted admin keeps access for at most 900 s): the origin decides instead.
      if (read.state === "stale") return { kind: "passthrough", reason: "is-admin bit is stale (origin failing)" };
      const { bytes } = read.value;
      const bit = bytes.length === 1 ? bytes[0] : undefined;
      if (bit === ADMIN_BIT) return { kind: "admin", sub };
      if (bit === NOT_ADMIN_BIT) return { kind: "failure", failure: { reason: "invalid", detail: "not an admin" } };
      return { kind: "passthrough", reason: "is-admin bit is neither 0 nor 1" };
    }
    case "absent":
      return { kind: "passthrough", reason: "the origin has no is-admin bit for this sub" };
    case "unavailable":
      // Unknown now (the origin failing or not serving it), or a sub the registry refuses (not an
      // `oseh_u_` uid): the origin judges such accounts.
      return { kind: "passthrough", reason: describeUnavailable(read) };
    default:
      return read satisfies never;
  }
}
