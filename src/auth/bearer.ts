/**
 * The backend's `Authorization` rules and its three exact error bodies (docs/block-format.md
 * "Conventions"; `models.py`). The prefix is lowercase `bearer ` with one space, case-sensitive.
 */

import { fixedResponse } from "../util/fixed-response";

export type AuthFailure =
  | { reason: "not_set" } // 401: header missing
  | { reason: "bad_format" } // 401: no lowercase `bearer ` prefix
  | { reason: "invalid"; detail: string }; // 403: anything else (detail is for logs, never the body)

export const AUTH_BODIES = {
  not_set:
    '{"type":"not_set","message":"authorization header not set","markdown":"authorization header not set"}',
  bad_format:
    '{"type":"bad_format","message":"authorization header should start with \'bearer \'","markdown":"authorization header should start with \'bearer \'"}',
  invalid: '{"type":"invalid","message":"token is invalid","markdown":"token is invalid"}',
} as const;

const BEARER_PREFIX = "bearer ";

/**
 * Tokens the edge verifies must be plain base64url-and-dot text. PyJWT decodes base64 with
 * Python's lenient decoder, which skips characters outside the alphabet, so a token with any
 * other character might still verify at the origin: the edge lets the origin judge those.
 */
const PLAIN_JWT_TEXT = /^[A-Za-z0-9_\-.]*$/;

export function isPlainJwtText(token: string): boolean {
  return PLAIN_JWT_TEXT.test(token);
}

export type BearerResult = { ok: true; token: string } | { ok: false; failure: AuthFailure };

/** Splits `bearer <token>` from a header value (null = header absent). */
export function parseBearer(header: string | null): BearerResult {
  if (header === null) return { ok: false, failure: { reason: "not_set" } };
  if (!header.startsWith(BEARER_PREFIX)) return { ok: false, failure: { reason: "bad_format" } };
  return { ok: true, token: header.slice(BEARER_PREFIX.length) };
}

/** The backend's response for an auth failure, byte for byte (status, body, Content-Type, Content-Length). */
export function authFailureResponse(failure: AuthFailure): Response {
  const status = failure.reason === "invalid" ? 403 : 401;
  return fixedResponse(AUTH_BODIES[failure.reason], { status, headers: new Headers({ "Content-Type": "application/json; charset=utf-8" }) });
}
