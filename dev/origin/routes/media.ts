/**
 * The backend's three media routes as it answers them (`image_files/routes/image.py`,
 * `image_files/routes/show_email_image.py`, `content_files/exports/parts/routes/show.py`,
 * `content_files/lib/serve_s3_file.py`), so the edge's passthrough and its own answers can be
 * compared: auth first (401/403), then the metadata (404), then the owner check (403), then the
 * object with `Content-Type`, `Content-Length`, `Accept-Ranges: bytes`. No caller passes `Range`
 * to `serve_s3_file`, so every answer is a full 200 whatever the request's `Range`.
 */
import { parseBearer } from "../../../src/auth/bearer";
import { type Audience, verifyResourceJwt } from "../auth";
import type { DevOriginEnv } from "../env";
import { produceValue } from "../fixtures/families";
import { devObjectStream } from "../fixtures/media";
import { authError, standardError } from "./responses";

const IMAGE = /^\/api\/1\/image_files\/image\/([^/]+)\.([^/.]+)$/;
const EMAIL = /^\/api\/1\/image_files\/image\/email\/([^/]+)\.([^/.]+)$/;
const PART = /^\/api\/1\/content_files\/exports\/parts\/([^/]+)\.([^/.]+)$/;

const IMAGE_NOT_FOUND =
  "the image file with that uid could not be found; if the image was just created, it may take a few seconds to be available. otherwise, the image was probably deleted.";
const PART_NOT_FOUND = "the content file export part with that uid does not exist; it may still be processing or have been deleted";

interface ObjectMeta {
  owner: string;
  s3Uid: string;
  contentType: string;
  fileSize: number;
}

async function readJsonValue(key: string): Promise<Record<string, unknown> | undefined> {
  const produced = await produceValue(key, { now: Math.floor(Date.now() / 1000) });
  if (produced.kind !== "value") return undefined;
  return JSON.parse(new TextDecoder().decode(produced.bytes)) as Record<string, unknown>;
}

async function readMeta(key: string, ownerField: string): Promise<ObjectMeta | undefined> {
  const meta = await readJsonValue(key);
  if (meta === undefined) return undefined;
  return { owner: String(meta[ownerField]), s3Uid: String(meta["s3_file_uid"]), contentType: String(meta["content_type"]), fileSize: Number(meta["file_size"]) };
}

async function serveObject(meta: ObjectMeta): Promise<Response> {
  // The object a test set (`PUT /__dev/values/s3_files:{uid}`), else the generated one.
  const produced = await produceValue(`s3_files:${meta.s3Uid}`, { now: Math.floor(Date.now() / 1000) });
  const body = produced.kind === "value" ? new Blob([produced.bytes]).stream() : devObjectStream(meta.s3Uid);
  // uvicorn sends the file_size as Content-Length; a fixed-length stream keeps it.
  return new Response(body.pipeThrough(new FixedLengthStream(meta.fileSize)), {
    status: 200,
    headers: { "Content-Type": meta.contentType, "Content-Length": String(meta.fileSize), "Accept-Ranges": "bytes" },
  });
}

/** `authorization` if given, else `"bearer " + jwt`, else not set — then `auth_presigned`. */
async function authorize(request: Request, url: URL, secret: string, audience: Audience): Promise<{ ok: true; sub: string } | { ok: false; response: Response }> {
  const jwts = url.searchParams.getAll("jwt");
  const jwt = jwts[jwts.length - 1];
  const header = request.headers.get("authorization") ?? (jwt === undefined ? null : `bearer ${jwt}`);
  const bearer = parseBearer(header);
  if (!bearer.ok) return { ok: false, response: authError(bearer.failure) };
  const checked = await verifyResourceJwt(bearer.token, secret, audience, Math.floor(Date.now() / 1000));
  return checked.ok ? { ok: true, sub: checked.sub } : { ok: false, response: authError(checked.failure) };
}

/** The response for a media route, or undefined when `path` is not one. */
export async function handleMedia(request: Request, url: URL, env: DevOriginEnv): Promise<Response | undefined> {
  if (request.method !== "GET") return undefined;
  const path = url.pathname;
  const email = EMAIL.exec(path);
  if (email !== null) {
    const lookup = await readJsonValue(`email_images:${email[1]}:${email[2]}`);
    if (lookup?.["type"] !== "found") return new Response(null, { status: 404 });
    const meta = await readMeta(`image_files:exports:${String(lookup["image_file_export_uid"])}`, "image_file_uid");
    return meta === undefined ? new Response(null, { status: 404 }) : serveObject(meta);
  }
  const image = IMAGE.exec(path);
  if (image !== null) {
    const auth = await authorize(request, url, env.OSEH_IMAGE_FILE_JWT_SECRET, "oseh-image");
    if (!auth.ok) return auth.response;
    const meta = await readMeta(`image_files:exports:${image[1]}`, "image_file_uid");
    if (meta === undefined) return standardError(404, "not_found", IMAGE_NOT_FOUND);
    return meta.owner === auth.sub ? serveObject(meta) : authError({ reason: "invalid", detail: "" });
  }
  const part = PART.exec(path);
  if (part !== null) {
    const auth = await authorize(request, url, env.OSEH_CONTENT_FILE_JWT_SECRET, "oseh-content");
    if (!auth.ok) return auth.response;
    const meta = await readMeta(`content_files:exports:parts:${part[1]}`, "content_file_uid");
    if (meta === undefined) return standardError(404, "not_found", PART_NOT_FOUND);
    return meta.owner === auth.sub ? serveObject(meta) : authError({ reason: "invalid", detail: "" });
  }
  return undefined;
}
