/**
 * Applies actions to the edge through its admin API (docs/admin-api.md) with self-minted,
 * short-lived service tokens. Every call carries `X-Edge-Source-Time` (the action's, or the one
 * the dispatcher chose after the edge refused it: relay/dispatch.ts); fills carry
 * `X-Edge-Expires-At` when the framing dated them.
 */
import { SignJWT } from "jose";
import type { EdgeAction } from "./actions";

/** Service tokens live 5 minutes (the edge refuses lifetimes over its ADMIN_TOKEN_MAX_SECONDS). */
export const TOKEN_LIFETIME_SECONDS = 300;
/** A token is replaced this long before it expires, so one in flight never expires on the way. */
const TOKEN_RENEW_BEFORE_SECONDS = 60;
const ADMIN_AUDIENCE = "oseh-edge-admin";
const ADMIN_ISSUER = "oseh";
const TOKEN_SUBJECT = "relay";
/** A family purge answers in pages; this bounds one action's calls should the cursor never end. */
const MAX_PURGE_PAGES = 10_000;

export type EdgeOutcome =
  | { kind: "applied"; calls: number }
  /** Worth repeating: the edge was unreachable, timed out, rate-limited or failed (5xx). */
  | { kind: "retry"; detail: string }
  /** The edge refused the action itself (4xx): repeating it cannot help. */
  | { kind: "rejected"; status: number; detail: string }
  /**
   * The edge refused the call's `X-Edge-Source-Time` (400 `bad_request` whose message starts with
   * the header's name, docs/admin-api.md): e.g. more than 60 s ahead of its clock. Nothing was
   * applied; the same action with another source time may be.
   */
  | { kind: "source-time-refused"; detail: string };

export interface EdgeClientOptions {
  edgeUrl: string;
  adminSecret: string;
  /** Unix seconds. */
  now: () => number;
  timeoutMs: number;
}

export interface EdgeClient {
  /**
   * `sourceTime` is sent as `X-Edge-Source-Time`: the action's own by default; `null` sends none
   * (the edge then applies the call in arrival order).
   */
  apply(action: EdgeAction, sourceTime?: number | null): Promise<EdgeOutcome>;
}

/**
 * The exact time, fractions included: the edge's shield drops a write older than the newest it
 * applied to the key (docs/admin-api.md), so whole seconds would make a fill that follows an
 * eviction within one second look older than it, and be dropped.
 */
function sourceTimeHeaders(sourceTime: number | null): Record<string, string> {
  return sourceTime === null ? {} : { "X-Edge-Source-Time": String(sourceTime) };
}

export function createEdgeClient(options: EdgeClientOptions): EdgeClient {
  const key = new TextEncoder().encode(options.adminSecret);
  let token: { value: string; expiresAt: number } | undefined;

  async function bearer(): Promise<string> {
    const now = Math.floor(options.now());
    if (token === undefined || token.expiresAt - TOKEN_RENEW_BEFORE_SECONDS <= now) {
      const expiresAt = now + TOKEN_LIFETIME_SECONDS;
      const value = await new SignJWT({})
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(TOKEN_SUBJECT)
        .setIssuer(ADMIN_ISSUER)
        .setAudience(ADMIN_AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(expiresAt)
        .sign(key);
      token = { value, expiresAt };
    }
    return `bearer ${token.value}`;
  }

  type Call = { ok: true; response: Response } | { ok: false; outcome: EdgeOutcome };

  async function call(method: string, path: string, headers: Record<string, string>, body?: Uint8Array | string): Promise<Call> {
    let response: Response;
    try {
      response = await fetch(`${options.edgeUrl}/_edge/v1${path}`, {
        method,
        headers: { Authorization: await bearer(), ...headers },
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      const detail = error instanceof Error ? `${error.name}: ${(error.cause as Error | undefined)?.message ?? error.message}` : String(error);
      return { ok: false, outcome: { kind: "retry", detail } };
    }
    if (response.ok) return { ok: true, response };
    const refusal = await readRefusal(response);
    const detail = refusal.detail;
    if (response.status === 429 || response.status >= 500) return { ok: false, outcome: { kind: "retry", detail } };
    if (response.status === 400 && refusal.type === "bad_request" && refusal.message.startsWith("X-Edge-Source-Time")) {
      return { ok: false, outcome: { kind: "source-time-refused", detail } };
    }
    return { ok: false, outcome: { kind: "rejected", status: response.status, detail } };
  }

  async function done(result: Call): Promise<EdgeOutcome> {
    if (!result.ok) return result.outcome;
    await result.response.body?.cancel();
    return { kind: "applied", calls: 1 };
  }

  return {
    async apply(action, chosen = action.sourceTime) {
      const sourceTime = sourceTimeHeaders(chosen);
      switch (action.kind) {
        case "put":
          return done(
            await call(
              "PUT",
              `/keys/${encodeURIComponent(action.key)}`,
              {
                ...sourceTime,
                "Content-Type": "application/octet-stream",
                ...(action.expiresAt !== undefined ? { "X-Edge-Expires-At": String(Math.floor(action.expiresAt)) } : {}),
              },
              action.value,
            ),
          );
        case "delete":
          return done(await call("DELETE", `/keys/${encodeURIComponent(action.key)}`, sourceTime));
        case "purge-keys":
          return done(
            await call("POST", "/purge", { ...sourceTime, "Content-Type": "application/json" }, JSON.stringify({ keys: action.keys })),
          );
        case "purge-family": {
          // Paged (docs/admin-api.md): repeat with the returned cursor until it is null. A failed
          // page makes the whole purge repeat from the start, which is idempotent.
          let cursor: string | null = null;
          for (let page = 1; page <= MAX_PURGE_PAGES; page++) {
            const body = JSON.stringify({ family: action.family, ...(cursor !== null ? { cursor } : {}) });
            const result = await call("POST", "/purge", { ...sourceTime, "Content-Type": "application/json" }, body);
            if (!result.ok) return result.outcome;
            const answer = (await result.response.json().catch(() => null)) as { cursor?: unknown } | null;
            cursor = typeof answer?.cursor === "string" ? answer.cursor : null;
            if (cursor === null) return { kind: "applied", calls: page };
          }
          return { kind: "retry", detail: `family purge still paging after ${MAX_PURGE_PAGES} pages` };
        }
        default:
          return action satisfies never;
      }
    },
  };
}

/**
 * The edge's JSON error body (`{type, message}`, docs/admin-api.md), and `status type: message`
 * for the log (never a value).
 */
async function readRefusal(response: Response): Promise<{ type: string; message: string; detail: string }> {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { type?: unknown; message?: unknown };
    if (typeof body.type === "string") {
      const message = typeof body.message === "string" ? body.message : "";
      return { type: body.type, message, detail: `${response.status} ${body.type}${message === "" ? "" : `: ${message}`}` };
    }
  } catch {
    // not JSON: fall through to the status alone
  }
  return { type: "", message: "", detail: `${response.status}` };
}
