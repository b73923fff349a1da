/**
 * The pure part of the resource routes: where the credential comes from and whether the response
 * is presigned, per route, exactly as each backend handler decides it (A #1, #6–#9,
 * docs/block-format.md §4–§5). The routes differ in small ways that clients can see, so each has its own
 * function rather than one shared rule:
 *
 * | route | no header, no `?jwt=` | presign default |
 * |---|---|---|
 * | image playlist | 403 invalid (it checks `"bearer None"`) | `?jwt=` used (never with `public=true`) |
 * | web.json | 401 not_set | true unless the header is used |
 * | mobile m3u8, VOD m3u8 | 401 not_set | true for `?jwt=`, false for the header |
 * | transcripts | 401 not_set (header only) | — |
 */
import { isPlainJwtText, parseBearer, type AuthFailure } from "../auth/bearer";
import { lastQueryValue, parseOptionalPyBool } from "./query";

export type Credential =
  /** Verify `token`; when `presignWith` is set, append `?jwt=<presignWith>` to the URLs. */
  | { kind: "token"; token: string; presignWith: string | null }
  | { kind: "failure"; failure: AuthFailure }
  | { kind: "passthrough"; reason: string };

function fromBearer(header: string, presignWith: (token: string) => string | null): Credential {
  const parsed = parseBearer(header);
  if (!parsed.ok) return { kind: "failure", failure: parsed.failure };
  if (!isPlainJwtText(parsed.token)) return { kind: "passthrough", reason: "token has characters PyJWT may skip" };
  return { kind: "token", token: parsed.token, presignWith: presignWith(parsed.token) };
}

const NOT_SET: Credential = { kind: "failure", failure: { reason: "not_set" } };

export type ImagePlaylistPlan =
  | { kind: "public"; presign: boolean }
  | { kind: "credential"; credential: Credential; presign: boolean }
  | { kind: "passthrough"; reason: string };

/**
 * `image_files/routes/playlist.py`: `using_query_jwt = not public and authorization is None`;
 * `presign` defaults to `using_query_jwt`; the checked value is `"bearer " + jwt` (literally
 * `"bearer None"` without one, so 403) or the header. The presign suffix is the checked token
 * after its first space, stripped; with `public=true` nothing is appended.
 */
export function planImagePlaylist(params: URLSearchParams, authorization: string | null): ImagePlaylistPlan {
  const publicParam = parseOptionalPyBool(lastQueryValue(params, "public"));
  const presignParam = parseOptionalPyBool(lastQueryValue(params, "presign"));
  if (!publicParam.ok || !presignParam.ok) return { kind: "passthrough", reason: "bool spelling not handled at the edge" };
  const isPublic = publicParam.value === true;
  const usingQueryJwt = !isPublic && authorization === null;
  const presign = presignParam.value ?? usingQueryJwt;
  if (isPublic) return { kind: "public", presign };
  if (authorization === null) {
    const jwt = lastQueryValue(params, "jwt");
    if (jwt === null) return { kind: "credential", credential: { kind: "failure", failure: { reason: "invalid", detail: "bearer None" } }, presign };
    return { kind: "credential", credential: fromBearer(`bearer ${jwt}`, (token) => (presign ? token : null)), presign };
  }
  // `checked_jwt.split(" ", 1)[1].strip()` is the token itself: plain JWT text has no whitespace.
  return { kind: "credential", credential: fromBearer(authorization, (token) => (presign ? token : null)), presign };
}

/**
 * `content_files/routes/show_web_playlist.py`: the header wins, else `"bearer " + jwt`;
 * `presign` defaults to "no Authorization header"; the presign token is the credential with a
 * leading `bearer ` removed (not stripped).
 */
export function planWebPlaylist(params: URLSearchParams, authorization: string | null): Credential {
  const presignParam = parseOptionalPyBool(lastQueryValue(params, "presign"));
  if (!presignParam.ok) return { kind: "passthrough", reason: "bool spelling not handled at the edge" };
  const presign = presignParam.value ?? authorization === null;
  const checked = headerElseQuery(params, authorization);
  if (checked === null) return NOT_SET;
  return fromBearer(checked, (token) => (presign ? token : null));
}

/** The header if given, else `"bearer " + jwt` (the last `?jwt=`, as FastAPI reads it), else null. */
function headerElseQuery(params: URLSearchParams, authorization: string | null): string | null {
  const jwt = lastQueryValue(params, "jwt");
  return authorization ?? (jwt === null ? null : `bearer ${jwt}`);
}

/**
 * `image_files/routes/image.py` and `content_files/exports/parts/routes/show.py`: the header
 * wins, else `"bearer " + jwt`, else not set (401). Nothing is presigned.
 */
export function planMediaCredential(params: URLSearchParams, authorization: string | null): Credential {
  const checked = headerElseQuery(params, authorization);
  if (checked === null) return NOT_SET;
  return fromBearer(checked, () => null);
}

/**
 * `show_mobile_playlist.py` and `show_m3u_vod.py`: the header (presign default false) wins over
 * `?jwt=` (presign default true); the presign token is the credential minus `bearer `.
 */
export function planM3uCredential(params: URLSearchParams, authorization: string | null): Credential {
  const presignParam = parseOptionalPyBool(lastQueryValue(params, "presign"));
  if (!presignParam.ok) return { kind: "passthrough", reason: "bool spelling not handled at the edge" };
  const jwt = lastQueryValue(params, "jwt");
  if (authorization !== null) return fromBearer(authorization, (token) => ((presignParam.value ?? false) ? token : null));
  if (jwt !== null) return fromBearer(`bearer ${jwt}`, (token) => ((presignParam.value ?? true) ? token : null));
  return NOT_SET;
}

/** `transcripts/routes/show.py`: the header only. */
export function planTranscriptCredential(authorization: string | null): Credential {
  if (authorization === null) return NOT_SET;
  return fromBearer(authorization, () => null);
}
