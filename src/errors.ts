/**
 * Expected failures are values with a tagged `type`; this is the one place that maps them to the
 * wire (status + JSON `{type, message}`, docs/design.md §8): the edge's own API's refusals, and
 * the edge's answers when the origin path fails (docs/design.md §4), whose bodies are generic (the
 * specifics go to the logs). Unexpected errors are caught once at the boundary (src/index.ts),
 * logged with their cause, and answered generically.
 */

/**
 * The origin failed: it did not answer within ORIGIN_TIMEOUT_MS (504), or anything else went
 * wrong — unreachable, a 5xx, a refused edge token, an undecodable answer (502). Never stored.
 */
export interface OriginError {
  kind: "error";
  status: 502 | 504;
  /** For logs; never contains a token or a value, and never reaches a client. */
  message: string;
}

export type EdgeFailure =
  | { type: "bad_key"; message: string } // 400: key fails the registry
  | { type: "unknown_family"; message: string } // 400
  | { type: "bad_request"; message: string } // 400: malformed body, header or query
  | { type: "not_set"; message: string } // 401: no Authorization header
  | { type: "bad_format"; message: string } // 401: not the Bearer scheme
  | { type: "invalid"; message: string } // 403: a credential that does not admit (the message says why)
  | { type: "forbidden"; message: string } // 403: a valid credential that may not do this (a secret family's value; a PUT with an admin's id token)
  | { type: "not_found"; message: string } // 404
  | { type: "method_not_allowed"; message: string; allow: string } // 405
  | { type: "too_large"; message: string } // 413
  | { type: "unsupported_media_type"; message: string } // 415
  | { type: "superseded"; message: string } // 409: X-Edge-Source-Time older than the newest write applied
  | { type: "invalid_value"; message: string } // 422: value fails its codec
  | { type: "rate_limited"; message: string; retryAfterSeconds: number } // 429: e.g. too many failed admin logins
  | { type: "storage_error"; message: string } // 503: KV refused the write after retries
  | { type: "busy"; message: string; retryAfterSeconds: number } // 503: the family's origin-fill budget is spent
  | { type: "misconfigured"; message: string } // 500: startup config error
  | { type: "internal"; message: string } // 500
  | { type: "origin_unavailable"; message: string } // 502: connection failure, 5xx, refused edge token
  | { type: "bad_origin_response"; message: string } // 502: undecodable delegation, corrupt or missing template
  | { type: "origin_timeout"; message: string }; // 504: ORIGIN_TIMEOUT_MS passed

function statusOf(failure: EdgeFailure): number {
  switch (failure.type) {
    case "bad_key":
    case "unknown_family":
    case "bad_request":
      return 400;
    case "not_set":
    case "bad_format":
      return 401;
    case "invalid":
    case "forbidden":
      return 403;
    case "not_found":
      return 404;
    case "method_not_allowed":
      return 405;
    case "too_large":
      return 413;
    case "unsupported_media_type":
      return 415;
    case "superseded":
      return 409;
    case "invalid_value":
      return 422;
    case "rate_limited":
      return 429;
    case "storage_error":
    case "busy":
      return 503;
    case "misconfigured":
    case "internal":
      return 500;
    case "origin_unavailable":
    case "bad_origin_response":
      return 502;
    case "origin_timeout":
      return 504;
    default:
      return failure satisfies never;
  }
}

export function failureResponse(failure: EdgeFailure): Response {
  const headers = new Headers({ "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" });
  if (failure.type === "method_not_allowed") headers.set("Allow", failure.allow);
  if (failure.type === "rate_limited" || failure.type === "busy") headers.set("Retry-After", String(failure.retryAfterSeconds));
  return new Response(JSON.stringify({ type: failure.type, message: failure.message }), {
    status: statusOf(failure),
    headers,
  });
}

/** The edge's answer for an origin that failed: generic, whatever the cause (logged apart). */
export function originFailure(error: Pick<OriginError, "status">): EdgeFailure {
  return error.status === 504
    ? { type: "origin_timeout", message: "the origin did not answer in time" }
    : { type: "origin_unavailable", message: "the origin is unavailable" };
}

/** A delegation document or template the edge cannot render. */
export const BAD_ORIGIN_RESPONSE: EdgeFailure = { type: "bad_origin_response", message: "the origin's response could not be rendered" };
