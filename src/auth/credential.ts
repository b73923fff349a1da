/**
 * Where a resource route finds its JWT (docs/block-format.md §4 "Header format"): the
 * `authorization: bearer <jwt>` header, or for the image and content routes also `?jwt=`.
 * The header wins when both are present (`image_files/routes/image.py`,
 * `content_files/routes/show_web_playlist.py`), and a header without the lowercase
 * `bearer ` prefix is `bad_format` even if a valid `?jwt=` is present, as in the backend.
 */
import { parseBearer, type AuthFailure } from "./bearer";

export interface ResourceCredentialOptions {
  /** Whether the route accepts `?jwt=` (image and content routes; not transcripts). */
  allowQuery: boolean;
}

export type ResourceCredential =
  | { ok: true; token: string; source: "header" | "query" }
  | { ok: false; failure: AuthFailure };

export function readResourceCredential(request: Request, options: ResourceCredentialOptions): ResourceCredential {
  const header = request.headers.get("authorization");
  if (header !== null || !options.allowQuery) {
    const parsed = parseBearer(header);
    return parsed.ok ? { ok: true, token: parsed.token, source: "header" } : parsed;
  }
  // `?jwt=` with an empty value is still "given" (the backend builds `bearer ` and then fails
  // verification with 403), so only an absent parameter is `not_set`.
  const query = new URL(request.url).searchParams.get("jwt");
  if (query === null) return { ok: false, failure: { reason: "not_set" } };
  return { ok: true, token: query, source: "query" };
}
