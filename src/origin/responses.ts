/**
 * The edge's own answers when the origin path fails (docs/design.md §4): the one place origin failures
 * become status + JSON `{type, message}`. Bodies are generic; the specifics go to the logs.
 */

export type OriginFailure =
  | { type: "origin_unavailable"; status: 502 } // connection failure, 5xx, refused edge token
  | { type: "origin_timeout"; status: 504 } // ORIGIN_TIMEOUT_MS passed
  | { type: "bad_origin_response"; status: 502 }; // undecodable delegation, corrupt or missing template

const MESSAGES: Readonly<Record<OriginFailure["type"], string>> = {
  origin_unavailable: "the origin is unavailable",
  origin_timeout: "the origin did not answer in time",
  bad_origin_response: "the origin's response could not be rendered",
};

export function originFailureOf(status: 502 | 504): OriginFailure {
  return status === 504 ? { type: "origin_timeout", status } : { type: "origin_unavailable", status };
}

export function originFailureResponse(failure: OriginFailure, cacheStatus?: string): Response {
  const headers = new Headers({ "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" });
  if (cacheStatus !== undefined) headers.set("Cache-Status", cacheStatus);
  return new Response(JSON.stringify({ type: failure.type, message: MESSAGES[failure.type] }), { status: failure.status, headers });
}
