/**
 * The resource group (docs/design.md §7): image playlists, content playlists (web and mobile), VOD
 * playlists and transcripts. Each handler is: pure plan → verify the resource JWT → load the
 * key(s) through the cache → build the backend's exact body and headers.
 */
import type { ResourceKind } from "../auth/jwt";
import { describeUnavailable } from "../cache";
import { gunzip, decodeU64Json } from "../render/u64";
import { ANY_KEY, createM3uPresigner, EACH_ELEMENT, presignJsonUrls, type JsonUrlPath } from "../render/presign";
import { concatBytes } from "../util/bytes";
import type { RouteIo, RouteRequest } from "./io";
import { planMobileFilters } from "./mobile-filters";
import { JSON_CONTENT_TYPE, M3U_CONTENT_TYPE } from "./content-types";
import { authOutcome, passthroughOutcome, unreadOutcome, type RouteOutcome } from "./respond";
import {
  planImagePlaylist,
  planM3uCredential,
  planTranscriptCredential,
  planWebPlaylist,
  type Credential,
} from "./resource-plan";

const INVALID = { reason: "invalid", detail: "" } as const;

/** `PlaylistResponse.items: Dict[format, List[PlaylistItemResponse]]`; the backend signs each `url`. */
const IMAGE_PLAYLIST_URLS: JsonUrlPath = ["items", ANY_KEY, EACH_ELEMENT, "url"];
/** `show_web_playlist.py`: `for item in raw.exports: item.url += "?" + urlencode(...)`, nothing else. */
const WEB_PLAYLIST_URLS: JsonUrlPath = ["exports", EACH_ELEMENT, "url"];

/** Verified credential → the token to presign with (or null), or the outcome to answer. */
async function verifyCredential(
  credential: Credential,
  kind: ResourceKind,
  io: RouteIo,
  expectedSub: string | undefined,
): Promise<{ ok: true; presignWith: string | null; sub: string } | { ok: false; outcome: RouteOutcome }> {
  switch (credential.kind) {
    case "failure":
      return { ok: false, outcome: authOutcome(credential.failure) };
    case "passthrough":
      return { ok: false, outcome: passthroughOutcome(credential.reason) };
    case "token": {
      const verified = await io.tokens.verifyResource(kind, credential.token, io.now, expectedSub);
      if (!verified.ok) return { ok: false, outcome: authOutcome(verified.failure) };
      return { ok: true, presignWith: credential.presignWith, sub: verified.claims.sub };
    }
    default:
      return credential satisfies never;
  }
}

/** `M3UPresigner` over a whole stored playlist (the stored copy is never presigned, A #7, #9). */
function presignM3u(bytes: Uint8Array, jwt: string | null): Uint8Array {
  return jwt === null ? bytes : concatBytes(createM3uPresigner(jwt).push(bytes));
}

const decoder = new TextDecoder();

/** `GET /api/1/image_files/playlist/{uid}` (A #1, #19). */
export async function serveImagePlaylist({ request, url }: RouteRequest, uid: string, io: RouteIo): Promise<RouteOutcome> {
  const plan = planImagePlaylist(url.searchParams, request.headers.get("authorization"));
  if (plan.kind === "passthrough") return passthroughOutcome(plan.reason);

  let presignWith: string | null = null;
  if (plan.kind === "public") {
    // auth_public: the is-public bit (both outcomes cached, A #19); "0" is AUTHORIZATION_UNKNOWN_TOKEN.
    const flag = await io.read("image_files:public:{uid}", [uid]);
    if (flag.kind !== "value") return unreadOutcome(flag, passthroughOutcome("is-public bit unknown to the origin"));
    // An authorization bit past its 600 s, kept only because the origin failed, is not trusted.
    if (flag.state === "stale") return passthroughOutcome("is-public bit is stale (origin failing)");
    if (decoder.decode(flag.value.bytes) !== "1") return authOutcome({ ...INVALID, detail: "image is not public" });
  } else {
    const verified = await verifyCredential(plan.credential, "image", io, uid);
    if (!verified.ok) return verified.outcome;
    presignWith = verified.presignWith;
  }

  const playlist = await io.read("image_files:playlist:{uid}", [uid]);
  if (playlist.kind !== "value") return unreadOutcome(playlist, passthroughOutcome("no playlist (the origin's 404)"));

  if (plan.presign) {
    // The presign branch answers uncompressed JSON with only Content-Type — even for
    // `public=true&presign=true`, where nothing is appended and no x-image-file-jwt is sent.
    const json = decoder.decode(await gunzip(playlist.value.bytes));
    return {
      kind: "body",
      body: presignWith === null ? json : presignJsonUrls(json, presignWith, IMAGE_PLAYLIST_URLS),
      headers: [["Content-Type", JSON_CONTENT_TYPE]],
      read: playlist,
    };
  }
  const headers: Array<readonly [string, string]> = [
    ["Content-Type", JSON_CONTENT_TYPE],
    ["Content-Encoding", "gzip"],
  ];
  if (plan.kind === "public") headers.push(["x-image-file-jwt", await io.tokens.mint("image", uid, io.now)]);
  return { kind: "body", body: playlist.value.bytes, headers, read: playlist };
}

/** `GET /api/1/content_files/{uid}/web.json` (A #6). */
export async function serveWebPlaylist({ request, url }: RouteRequest, uid: string, io: RouteIo): Promise<RouteOutcome> {
  const credential = planWebPlaylist(url.searchParams, request.headers.get("authorization"));
  const verified = await verifyCredential(credential, "content", io, uid);
  if (!verified.ok) return verified.outcome;
  const playlist = await io.read("content_files:playlists:web:{uid}", [uid]);
  if (playlist.kind !== "value") return unreadOutcome(playlist, passthroughOutcome("no web playlist (the origin's 404)"));
  const bytes = playlist.value.bytes;
  const body = verified.presignWith === null ? bytes : presignJsonUrls(decoder.decode(bytes), verified.presignWith, WEB_PLAYLIST_URLS);
  return { kind: "body", body, headers: [["Content-Type", JSON_CONTENT_TYPE]], read: playlist };
}

/** `GET /api/1/content_files/{uid}/{ios,android}.m3u8` (A #7); both are one handler. */
export async function serveMobilePlaylist({ request, url }: RouteRequest, uid: string, io: RouteIo): Promise<RouteOutcome> {
  const params = url.searchParams;
  // FastAPI validates `presign` before the handler runs, so an unparsed spelling must reach the
  // origin even when the filters are invalid too (passing through is always safe).
  const credential = planM3uCredential(params, request.headers.get("authorization"));
  if (credential.kind === "passthrough") return passthroughOutcome(credential.reason);
  // The filters are validated before auth, so a 422 needs no credential.
  const filters = planMobileFilters(params);
  if (filters.kind === "passthrough") return passthroughOutcome(filters.reason);
  if (filters.kind === "invalid") return { kind: "invalid-filters", detail: filters.detail };
  const verified = await verifyCredential(credential, "content", io, uid);
  if (!verified.ok) return verified.outcome;
  const playlist = await io.read("content_files:playlists:mobile:{uid}:{filters_stable_identifier}", [uid, filters.stableIdentifier]);
  if (playlist.kind !== "value") return unreadOutcome(playlist, passthroughOutcome("no mobile playlist (the origin's 404)"));
  return {
    kind: "body",
    body: presignM3u(playlist.value.bytes, verified.presignWith),
    headers: [["Content-Type", M3U_CONTENT_TYPE]],
    read: playlist,
  };
}

/** Constant-time string equality (`hmac.compare_digest`), via the runtime's timingSafeEqual. */
function constantTimeEqual(a: string, b: string): boolean {
  const encoder = new TextEncoder();
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  if (left.length !== right.length) {
    crypto.subtle.timingSafeEqual(left, left); // spend the same time, then refuse
    return false;
  }
  return crypto.subtle.timingSafeEqual(left, right);
}

function readContentFileUid(meta: Uint8Array): string | undefined {
  try {
    const parsed: unknown = JSON.parse(decoder.decode(meta));
    if (typeof parsed === "object" && parsed !== null && "content_file_uid" in parsed) {
      const uid = (parsed as { content_file_uid: unknown }).content_file_uid;
      return typeof uid === "string" ? uid : undefined;
    }
  } catch {
    // a malformed stored meta is treated like a missing one: the token cannot be matched
  }
  return undefined;
}

/** `GET /api/1/content_files/exports/{uid}.m3u8` (A #8–#9); `uid` is the export's. */
export async function serveVodPlaylist({ request, url }: RouteRequest, uid: string, io: RouteIo): Promise<RouteOutcome> {
  const params = url.searchParams;
  const verified = await verifyCredential(planM3uCredential(params, request.headers.get("authorization")), "content", io, undefined);
  if (!verified.ok) return verified.outcome;
  const meta = await io.read("content_files:vods:{uid}:meta", [uid]);
  if (meta.kind === "unavailable") return passthroughOutcome(describeUnavailable(meta));
  // A missing export compares a same-length dummy, so it looks exactly like a wrong token (403).
  const owner = meta.kind === "value" ? readContentFileUid(meta.value.bytes) : undefined;
  if (!constantTimeEqual(owner ?? "a".repeat(verified.sub.length), verified.sub) || owner === undefined) {
    return authOutcome({ ...INVALID, detail: "export not owned by the token's content file" });
  }
  const vod = await io.read("content_files:vods:{uid}:m3u", [uid]);
  if (vod.kind !== "value") return unreadOutcome(vod, passthroughOutcome("no VOD parts (the origin's 404)"));
  return {
    kind: "body",
    body: presignM3u(vod.value.bytes, verified.presignWith),
    headers: [["Content-Type", M3U_CONTENT_TYPE]],
    read: vod,
  };
}

/** `GET /api/1/transcripts/{uid}` (docs/block-format.md §5). */
export async function serveTranscript({ request }: RouteRequest, uid: string, io: RouteIo): Promise<RouteOutcome> {
  const verified = await verifyCredential(planTranscriptCredential(request.headers.get("authorization")), "transcript", io, uid);
  if (!verified.ok) return verified.outcome;
  const stored = await io.read("transcripts:{uid}", [uid]);
  // A valid JWT for a transcript that does not exist is AUTHORIZATION_UNKNOWN_TOKEN.
  if (stored.kind !== "value") return unreadOutcome(stored, authOutcome({ ...INVALID, detail: "no such transcript" }));
  const decoded = decodeU64Json(stored.value.bytes);
  if (!decoded.ok) return passthroughOutcome(`stored transcript is malformed: ${decoded.failure.message}`);
  return {
    kind: "body",
    // Content-Length (set with every body) equals the u64 prefix: decodeU64Json refuses a mismatch.
    body: decoded.blob,
    headers: [["Content-Type", JSON_CONTENT_TYPE]],
    read: stored,
  };
}
