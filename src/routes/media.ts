/**
 * The media group (docs/routes.md §Media): image exports, email images and content export parts,
 * served from R2 / the colo cache / a streaming fill, as `serve_s3_file` answers them:
 * `Content-Type` from the metadata, `Content-Length`, `Accept-Ranges: bytes`.
 *
 * Order of checks as in the backend: the credential (401/403), then the metadata (404 with the
 * route's body), then the owner (403), then the bytes. Anything the edge cannot judge — a uid or
 * metadata the registry refuses, an origin that does not serve a family — passes through.
 *
 * Ranges: the parts route answers `Range` (RFC 9110 §14, ../media/range.ts); the image routes
 * ignore it and always send the whole image, as the backend does (docs/routes.md §Media says why).
 */
import type { CacheResult } from "../cache";
import { planRangeResponse, type RangePlan } from "../media";
import type { RouteIo, RouteRequest } from "./io";
import { JSON_CONTENT_TYPE } from "./content-types";
import { authOutcome, passthroughOutcome, unreadOutcome, type RouteOutcome } from "./respond";
import { planMediaCredential } from "./resource-plan";

const IMAGE_NOT_FOUND =
  "the image file with that uid could not be found; if the image was just created, it may take a few seconds to be available. otherwise, the image was probably deleted.";
const PART_NOT_FOUND = "the content file export part with that uid does not exist; it may still be processing or have been deleted";

/** `StandardErrorResponse(type="not_found", …).model_dump_json()`: markdown defaults to message. */
function notFoundJson(message: string, read: CacheResult<unknown>): RouteOutcome {
  return {
    kind: "media",
    status: 404,
    headers: [["Content-Type", JSON_CONTENT_TYPE]],
    body: JSON.stringify({ type: "not_found", message, markdown: message }),
    read,
  };
}

/** `Response(status_code=404)`: an empty body, `content-length: 0`, no Content-Type. */
function emptyNotFound(read: CacheResult<unknown>): RouteOutcome {
  return { kind: "media", status: 404, headers: [["Content-Length", "0"]], body: null, read };
}

/** The cached metadata fields the routes use (`CachedImageFileExportMetadata`, `CachedContentFileExportPartMetadata`). */
interface ObjectMeta {
  owner: string;
  s3FileUid: string;
  contentType: string;
}

const decoder = new TextDecoder();

function parseMeta(bytes: Uint8Array, ownerField: string): ObjectMeta | undefined {
  try {
    const meta: unknown = JSON.parse(decoder.decode(bytes));
    if (typeof meta !== "object" || meta === null) return undefined;
    const record = meta as Record<string, unknown>;
    const owner = record[ownerField];
    const s3FileUid = record["s3_file_uid"];
    const contentType = record["content_type"];
    if (typeof owner !== "string" || typeof s3FileUid !== "string" || typeof contentType !== "string") return undefined;
    return { owner, s3FileUid, contentType };
  } catch {
    return undefined;
  }
}

/**
 * The object's metadata; `absent` answers `onAbsent(read)`, and anything the edge cannot judge (a
 * read unavailable, a malformed value) passes through.
 */
async function loadMeta(
  io: RouteIo,
  family: string,
  uid: string,
  ownerField: string,
  onAbsent: (read: CacheResult<unknown>) => RouteOutcome,
): Promise<{ ok: true; meta: ObjectMeta } | { ok: false; outcome: RouteOutcome }> {
  const read = await io.read(family, [uid]);
  if (read.kind !== "value") return { ok: false, outcome: unreadOutcome(read, onAbsent(read)) };
  const meta = parseMeta(read.value.bytes, ownerField);
  return meta === undefined ? { ok: false, outcome: passthroughOutcome(`stored ${family} is malformed`) } : { ok: true, meta };
}

/** The object's bytes shaped by `plan`, from whichever tier has them. */
async function serveObject(io: RouteIo, meta: ObjectMeta, plan: (contentType: string, size: number) => RangePlan): Promise<RouteOutcome> {
  const read = await io.readMedia(meta.s3FileUid, (size) => plan(meta.contentType, size));
  // serve_s3_file has no answer for a missing object but its own error: let it give it.
  if (read.kind !== "value") return unreadOutcome(read, passthroughOutcome("the origin has no such object"));
  const { plan: shaped, body } = read.value;
  return { kind: "media", status: shaped.status, headers: shaped.headers, body, read };
}

/** The image routes send the whole image whatever the `Range` (the backend never passes it on). */
const wholeImage = (contentType: string, size: number) => planRangeResponse({ range: null, ifRange: null, contentType, size });

interface OwnedObject {
  kind: "image" | "content";
  family: "image_files:exports:{uid}" | "content_files:exports:parts:{uid}";
  ownerField: "image_file_uid" | "content_file_uid";
  notFound: string;
}

const IMAGE_EXPORT: OwnedObject = { kind: "image", family: "image_files:exports:{uid}", ownerField: "image_file_uid", notFound: IMAGE_NOT_FOUND };
const EXPORT_PART: OwnedObject = { kind: "content", family: "content_files:exports:parts:{uid}", ownerField: "content_file_uid", notFound: PART_NOT_FOUND };

/** The backend's order: the credential (401/403), the metadata (404), then the owner (403). */
async function authorizeOwned({ request, url }: RouteRequest, uid: string, io: RouteIo, owned: OwnedObject): Promise<{ ok: true; meta: ObjectMeta } | { ok: false; outcome: RouteOutcome }> {
  const credential = planMediaCredential(url.searchParams, request.headers.get("authorization"));
  if (credential.kind === "passthrough") return { ok: false, outcome: passthroughOutcome(credential.reason) };
  if (credential.kind === "failure") return { ok: false, outcome: authOutcome(credential.failure) };
  const verified = await io.tokens.verifyResource(owned.kind, credential.token, io.now);
  if (!verified.ok) return { ok: false, outcome: authOutcome(verified.failure) };
  const loaded = await loadMeta(io, owned.family, uid, owned.ownerField, (read) => notFoundJson(owned.notFound, read));
  if (!loaded.ok) return loaded;
  if (loaded.meta.owner !== verified.claims.sub) return { ok: false, outcome: authOutcome({ reason: "invalid", detail: `${owned.family} of another owner` }) };
  return loaded;
}

/** `GET /api/1/image_files/image/{uid}.{ext}` (`image_files/routes/image.py`); `ext` is ignored. */
export async function serveImageExport(route: RouteRequest, uid: string, io: RouteIo): Promise<RouteOutcome> {
  const owned = await authorizeOwned(route, uid, io, IMAGE_EXPORT);
  return owned.ok ? serveObject(io, owned.meta, wholeImage) : owned.outcome;
}

/** `GET /api/1/content_files/exports/parts/{uid}.{ext}` (`content_files/exports/parts/routes/show.py`). */
export async function serveExportPart(route: RouteRequest, uid: string, io: RouteIo): Promise<RouteOutcome> {
  const owned = await authorizeOwned(route, uid, io, EXPORT_PART);
  if (!owned.ok) return owned.outcome;
  const range = route.request.headers.get("range");
  const ifRange = route.request.headers.get("if-range");
  return serveObject(io, owned.meta, (contentType, size) => planRangeResponse({ range, ifRange, contentType, size }));
}

type EmailLookup = { type: "found"; exportUid: string } | { type: "not-found" } | { type: "unknown" };

function parseEmailLookup(bytes: Uint8Array): EmailLookup | undefined {
  try {
    const parsed: unknown = JSON.parse(decoder.decode(bytes));
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const record = parsed as Record<string, unknown>;
    switch (record["type"]) {
      case "found":
        return typeof record["image_file_export_uid"] === "string" ? { type: "found", exportUid: record["image_file_export_uid"] } : undefined;
      case "bad_ext":
      case "not_found":
        return { type: "not-found" };
      case "unknown":
        return { type: "unknown" };
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

/** `GET /api/1/image_files/image/email/{uid}.{ext}` (`show_email_image.py`): no auth. */
export async function serveEmailImage(_route: RouteRequest, uid: string, ext: string, io: RouteIo): Promise<RouteOutcome> {
  for (const refresh of [false, true]) {
    const read = await io.read("email_images:{uid}:{ext}", [uid, ext], { refresh });
    if (read.kind !== "value") return unreadOutcome(read, passthroughOutcome("email image lookup unknown to the origin"));
    const lookup = parseEmailLookup(read.value.bytes);
    if (lookup === undefined) break;
    // The `unknown` purge marker is a miss: the backend skips it and asks the next source.
    if (lookup.type === "unknown") continue;
    if (lookup.type === "not-found") return emptyNotFound(read);
    // A `found` lookup whose export is gone: the backend answers the empty 404 *and* purges the
    // lookup (show_email_image.py:43-46), which only the origin can do. Its published `unknown`
    // marker then reaches the edge through the relay; answering here would leave the stale
    // lookup stored for up to 8 h (docs/routes.md "Media routes").
    const loaded = await loadMeta(io, "image_files:exports:{uid}", lookup.exportUid, "image_file_uid", () =>
      passthroughOutcome("found email lookup whose export is gone: the origin purges it"),
    );
    return loaded.ok ? serveObject(io, loaded.meta, wholeImage) : loaded.outcome;
  }
  return passthroughOutcome("email image lookup not usable at the edge");
}
