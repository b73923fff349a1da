/**
 * Route outcomes as tagged values, and the one place that turns them into responses.
 *
 * Every served response carries exactly the backend's status, body and headers for the route,
 * plus `Cache-Status` (RFC 9211) and `Server-Timing` (docs/routes.md). Bodies are fixed-length
 * (`src/util/fixed-response.ts`): gzip bodies are the stored gzip sent as stored, the rest
 * identity, each with its `Content-Length`, whatever the client accepts — the backend does not
 * negotiate encodings.
 */
import { authFailureResponse, type AuthFailure } from "../auth/bearer";
import { cacheStatusOf, describeUnavailable, serverTiming, type CacheResult, type Phases } from "../cache";
import type { Answer, RouteIo } from "./io";
import { fixedResponse } from "../util/fixed-response";
import { filtersErrorBody, type ValidationItem } from "./mobile-filters";

export type { Answer } from "./io";

export type RouteOutcome =
  | {
      kind: "body";
      body: Uint8Array | string;
      /** In the backend's order; Content-Type first. */
      headers: ReadonlyArray<readonly [string, string]>;
      /** The read the body was made from. */
      read: CacheResult<unknown>;
    }
  /** Media answers (./media.ts): any status, headers in the backend's order, a streamed body. */
  | {
      kind: "media";
      status: number;
      headers: ReadonlyArray<readonly [string, string]>;
      body: ReadableStream<Uint8Array> | string | null;
      read: CacheResult<unknown>;
    }
  | { kind: "auth"; failure: AuthFailure }
  | { kind: "invalid-filters"; detail: readonly ValidationItem[] }
  /** `request`: what to forward when the route has read the original's body (./admin.ts). */
  | { kind: "passthrough"; reason: string; request?: Request };

export function passthroughOutcome(reason: string, request?: Request): RouteOutcome {
  return request === undefined ? { kind: "passthrough", reason } : { kind: "passthrough", reason, request };
}

/**
 * A read with no value to serve: `unavailable` goes to the origin as it is (the edge cannot answer
 * for this key now); `absent` is the route's own answer, `onAbsent`.
 */
export function unreadOutcome(read: Exclude<CacheResult<unknown>, { kind: "value" }>, onAbsent: RouteOutcome): RouteOutcome {
  return read.kind === "absent" ? onAbsent : passthroughOutcome(describeUnavailable(read));
}

export function authOutcome(failure: AuthFailure): RouteOutcome {
  return { kind: "auth", failure };
}

/**
 * The wire form of an outcome. `request` is the original, unread request (a passthrough sends
 * it on unchanged).
 */
export async function respond(outcome: RouteOutcome, request: Request, io: RouteIo): Promise<Answer> {
  switch (outcome.kind) {
    case "body": {
      const headers = new Headers();
      for (const [name, value] of outcome.headers) headers.append(name, value);
      return { response: fixedResponse(outcome.body, { status: 200, headers }), served: { kind: "cache", result: outcome.read } };
    }
    case "media": {
      const headers = new Headers();
      for (const [name, value] of outcome.headers) headers.append(name, value);
      // The runtime sends a stream chunked unless its length is fixed; the backend sends Content-Length.
      const length = headers.get("Content-Length");
      const body = outcome.body === null || typeof outcome.body === "string" || length === null ? outcome.body : outcome.body.pipeThrough(new FixedLengthStream(Number(length)));
      return { response: new Response(body, { status: outcome.status, headers }), served: { kind: "cache", result: outcome.read } };
    }
    case "auth":
      // The backend's exact 401/403 bodies (models.py, docs/block-format.md conventions).
      return { response: authFailureResponse(outcome.failure), served: { kind: "not-consulted" } };
    case "invalid-filters": {
      // show_mobile_playlist.py builds this 422 itself (json.dumps), not FastAPI.
      const response = fixedResponse(filtersErrorBody(outcome.detail), {
        status: 422,
        headers: new Headers({ "Content-Type": "application/json; charset=utf-8" }),
      });
      return { response, served: { kind: "not-consulted" } };
    }
    case "passthrough":
      return io.passthrough(outcome.request ?? request);
    default:
      return outcome satisfies never;
  }
}

/**
 * The edge's headers on an answer, each written here and nowhere else: its `Cache-Status` entry
 * (after any the origin's own caches added: RFC 9211 lists caches in the order they handled the
 * response, the one nearest the client last), and `Server-Timing` (docs/design.md §7), the time
 * from `startedAt` (`Date.now()`) until the answer's headers were ready — a streamed body keeps
 * flowing after — and, for an answer that filled, its phases (src/cache/phases.ts: `tier`,
 * `shield`, `origin`, `store`), unless the origin's answer carries its own.
 */
export function stamp(answer: Answer, startedAt: number, phases?: Phases): Response {
  const cacheStatus = cacheStatusOf(answer.served);
  const timing = serverTiming(Date.now() - startedAt, phases);
  const set = (headers: Headers) => {
    if (cacheStatus !== null) headers.append("Cache-Status", cacheStatus);
    // An origin answer passed through may time itself; that one stands.
    if (!headers.has("Server-Timing")) headers.set("Server-Timing", timing);
  };
  const { response } = answer;
  try {
    set(response.headers);
    return response;
  } catch {
    // Immutable headers (a Response straight from fetch): copy them once.
    const headers = new Headers(response.headers);
    set(headers);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}
