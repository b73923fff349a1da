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
import { appendCacheStatus, CACHE_NAME } from "../origin/cache-status";
import type { RouteIo } from "./io";
import { fixedResponse } from "../util/fixed-response";
import { filtersErrorBody, type ValidationItem } from "./mobile-filters";

/** For answers made at the edge without reading the cache (auth failures, 422s). */
export const CACHE_STATUS_NOT_CONSULTED = `${CACHE_NAME}; fwd=bypass; detail=not-consulted`;

export type RouteOutcome =
  | {
      kind: "body";
      body: Uint8Array | string;
      /** In the backend's order; Content-Type first. */
      headers: ReadonlyArray<readonly [string, string]>;
      cacheStatus: string;
    }
  /** Media answers (./media.ts): any status, headers in the backend's order, a streamed body. */
  | {
      kind: "media";
      status: number;
      headers: ReadonlyArray<readonly [string, string]>;
      body: ReadableStream<Uint8Array> | string | null;
      cacheStatus: string;
    }
  | { kind: "auth"; failure: AuthFailure }
  | { kind: "invalid-filters"; detail: readonly ValidationItem[] }
  /** `request`: what to forward when the route has read the original's body (./admin.ts). */
  | { kind: "passthrough"; reason: string; request?: Request };

export function passthroughOutcome(reason: string, request?: Request): RouteOutcome {
  return request === undefined ? { kind: "passthrough", reason } : { kind: "passthrough", reason, request };
}

export function authOutcome(failure: AuthFailure): RouteOutcome {
  return { kind: "auth", failure };
}

function withEdgeHeaders(response: Response, cacheStatus: string, startedAt: number): Response {
  appendCacheStatus(response.headers, cacheStatus);
  response.headers.set("Server-Timing", `edge;dur=${Math.max(0, Date.now() - startedAt)}`);
  return response;
}

/**
 * The wire form of an outcome. `request` is the original, unread request (a passthrough sends
 * it on unchanged); `startedAt` is `Date.now()` when the route began, for Server-Timing.
 */
export async function respond(outcome: RouteOutcome, request: Request, io: RouteIo, startedAt: number): Promise<Response> {
  switch (outcome.kind) {
    case "body": {
      const headers = new Headers();
      for (const [name, value] of outcome.headers) headers.append(name, value);
      return withEdgeHeaders(fixedResponse(outcome.body, { status: 200, headers }), outcome.cacheStatus, startedAt);
    }
    case "media": {
      const headers = new Headers();
      for (const [name, value] of outcome.headers) headers.append(name, value);
      // The runtime sends a stream chunked unless its length is fixed; the backend sends Content-Length.
      const length = headers.get("Content-Length");
      const body = outcome.body === null || typeof outcome.body === "string" || length === null ? outcome.body : outcome.body.pipeThrough(new FixedLengthStream(Number(length)));
      return withEdgeHeaders(new Response(body, { status: outcome.status, headers }), outcome.cacheStatus, startedAt);
    }
    case "auth": {
      // The backend's exact 401/403 bodies (models.py, docs/block-format.md conventions).
      return withEdgeHeaders(authFailureResponse(outcome.failure), CACHE_STATUS_NOT_CONSULTED, startedAt);
    }
    case "invalid-filters": {
      // show_mobile_playlist.py builds this 422 itself (json.dumps), not FastAPI (A #7).
      const response = fixedResponse(filtersErrorBody(outcome.detail), {
        status: 422,
        headers: new Headers({ "Content-Type": "application/json; charset=utf-8" }),
      });
      return withEdgeHeaders(response, CACHE_STATUS_NOT_CONSULTED, startedAt);
    }
    case "passthrough":
      return io.passthrough(outcome.request ?? request);
    default:
      return outcome satisfies never;
  }
}
