/**
 * Where the edge's own admin API (`/_edge/v1`) takes an id token's admin bit from: the origin's
 * values-endpoint answer, never a stored copy (docs/security.md §2 "Principals of the admin API").
 *
 * The API itself stores `auth:is_admin:{sub}` (a service token's PUT, as the relay relays the
 * backend's bits) in L0, L1, KV and the shields, so a bit read from any of them may be one the API
 * wrote: a value the API writes must not decide who may use the API. The backend's own admin
 * routes at the edge keep reading the bit through the cache, as the backend reads its own cache
 * (docs/routes.md "Admin routes"; src/auth/admin-id.ts).
 *
 * The origin's answer is remembered per isolate in an `AdminBitMemo` that only this module
 * writes, for at most ADMIN_BIT_MEMO_SECONDS.
 */
import { authorizeAdminToken, IS_ADMIN_FAMILY, type AdminIdResult } from "../auth/admin-id";
import type { TokenService } from "../auth/jwt";
import type { CacheResult } from "../cache";
import { keyOf } from "../keys";
import type { FetchValueResult, OriginClient } from "../origin";

/** The origin's answer as a read: a value the origin just gave, stored nowhere but this memo. */
type AdminBitRead = CacheResult<{ readonly bytes: Uint8Array }>;

/**
 * How long an isolate reuses the origin's answer for one user: the status page makes three calls
 * per refresh and a paged purge one per page, so an admin costs the origin one call per isolate per
 * half minute; an admin the origin demotes loses `/_edge/v1` within this long of the origin's
 * answer changing (the backend's own copy of the bit lives up to 900 s on top: auth.py `auth_admin`).
 */
export const ADMIN_BIT_MEMO_SECONDS = 30;
/** Users remembered per isolate; past it the oldest answer goes. Only a valid id token adds one. */
export const ADMIN_BIT_MEMO_MAX_ENTRIES = 1024;

/** What an isolate remembers of the origin's admin bits (created once per Worker, src/index.ts). */
export interface AdminBitMemo {
  /** The origin's answer for `key` (`auth:is_admin:{sub}`) at `now`, fetched or remembered. */
  load(key: string, origin: Pick<OriginClient, "fetchValue">, now: number): Promise<AdminBitRead>;
}

interface Remembered {
  read: AdminBitRead;
  /** Unix seconds: remembered from `at` (inclusive) until `until` (exclusive). */
  at: number;
  until: number;
}

function readOf(answer: FetchValueResult): AdminBitRead {
  switch (answer.kind) {
    case "value":
      return { kind: "value", state: "miss", tier: "origin", value: { bytes: answer.bytes }, stored: false, requested: false };
    case "absent":
      return { kind: "absent", remembered: false };
    case "unsupported":
      return { kind: "unavailable", reason: "unsupported", message: `the origin does not serve the admin bit: ${answer.reason}` };
    case "error":
      return { kind: "unavailable", reason: "origin_error", originError: answer };
    default:
      return answer satisfies never;
  }
}

export function createAdminBitMemo(): AdminBitMemo {
  const remembered = new Map<string, Remembered>();
  return {
    async load(key, origin, now) {
      const kept = remembered.get(key);
      // A clock that moved backwards (tests inject clocks) asks again too.
      if (kept !== undefined && now >= kept.at && now < kept.until) return kept.read;
      remembered.delete(key);
      const answer = await origin.fetchValue(key);
      const read = readOf(answer);
      // An origin copy that expires sooner (X-Edge-Expires-At, docs/origin.md §4) is kept no longer.
      const until = Math.min(now + ADMIN_BIT_MEMO_SECONDS, answer.kind === "value" && answer.expiresAt !== undefined ? answer.expiresAt : Infinity);
      // A failed or unsupported answer is not remembered: the next call asks again.
      if (read.kind !== "unavailable" && until > now) {
        remembered.set(key, { read, at: now, until });
        if (remembered.size > ADMIN_BIT_MEMO_MAX_ENTRIES) {
          const oldest = remembered.keys().next().value;
          if (oldest !== undefined) remembered.delete(oldest);
        }
      }
      return read;
    },
  };
}

export interface OriginAdminCheckDeps {
  tokens: Pick<TokenService, "verifyIdToken">;
  origin: Pick<OriginClient, "fetchValue">;
  memo: AdminBitMemo;
}

/** The id-token check of src/auth/admin-id.ts with the bit from the origin (for `/_edge/v1` only). */
export function authorizeAdminIdTokenAtOrigin(token: string, deps: OriginAdminCheckDeps, now: number): Promise<AdminIdResult> {
  const readBit = async (sub: string): Promise<AdminBitRead> => {
    const key = keyOf(IS_ADMIN_FAMILY, [sub]);
    return key.ok ? deps.memo.load(key.key, deps.origin, now) : { kind: "unavailable", reason: "bad_key", message: key.reason };
  };
  return authorizeAdminToken(token, { tokens: deps.tokens, readBit }, now);
}
