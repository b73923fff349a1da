/**
 * Applies actions to the edge through its admin API (docs/admin-api.md), over the tools' one
 * admin-API client (shared/admin-client.ts: self-minted, short-lived service tokens). Every call
 * carries `X-Edge-Source-Time` (the action's, or the one the dispatcher chose after the edge
 * refused it: relay/dispatch.ts); fills carry `X-Edge-Expires-At` when the framing dated them.
 */
import { createAdminClient, type AdminCall } from "../shared/admin-client";
import type { EdgeAction } from "./actions";

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
  const admin = createAdminClient({
    baseUrl: options.edgeUrl,
    credential: { secret: options.adminSecret, sub: TOKEN_SUBJECT, now: options.now },
    timeoutMs: options.timeoutMs,
  });

  type Call = { ok: true; response: Response } | { ok: false; outcome: EdgeOutcome };

  async function call(method: string, path: string, headers: Record<string, string>, body?: Uint8Array | string): Promise<Call> {
    const answer = await admin.call(path, { method, headers, ...(body !== undefined ? { body } : {}) });
    if (answer.ok) return answer;
    if (answer.status === null) return { ok: false, outcome: { kind: "retry", detail: `${answer.name}: ${answer.message}` } };
    const detail = refusalDetail(answer);
    if (answer.status === 429 || answer.status >= 500) return { ok: false, outcome: { kind: "retry", detail } };
    if (answer.status === 400 && answer.type === "bad_request" && (answer.message ?? "").startsWith("X-Edge-Source-Time")) {
      return { ok: false, outcome: { kind: "source-time-refused", detail } };
    }
    return { ok: false, outcome: { kind: "rejected", status: answer.status, detail } };
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

/** `status type: message` of the edge's JSON error body (docs/admin-api.md), for the log (never a value). */
function refusalDetail(answer: Extract<AdminCall, { ok: false; status: number }>): string {
  if (answer.type === undefined) return `${answer.status}`;
  const message = answer.message ?? "";
  return `${answer.status} ${answer.type}${message === "" ? "" : `: ${message}`}`;
}
