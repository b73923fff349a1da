/**
 * Request bodies of the edge's POST routes, which FastAPI validates before the handler runs (so
 * before any auth answer): read once, at most a route's cap, and kept for a later passthrough.
 */
import { readPrefix } from "../util/bytes";
import { replayBody } from "../util/streams";
import { passthroughOutcome, type RouteOutcome } from "./respond";

export interface SmallBody {
  /** The body as UTF-8 text; null when it is over the cap or not UTF-8 (the origin judges it). */
  text: string | null;
  /** What a passthrough forwards: the original's bytes (the original's body has been read). */
  forward: Request;
}

/**
 * The request body, read once and at most `maxBytes` of it (plus one chunk): these routes run
 * before any auth check, so an anonymous client chooses its size. Past the cap the request goes
 * to the origin at once, before any auth (the edge cannot plan a body it has not read): the bytes
 * read followed by the rest, piped by the runtime with backpressure, so no more of it ever
 * surfaces in the isolate (`replayBody`, docs/security.md §4). Under the cap, `forward` carries
 * the bytes read, for a later passthrough. Never `request.clone()`: a tee keeps everything the
 * unread branch has not consumed.
 */
export async function readSmallBody(request: Request, maxBytes: number): Promise<SmallBody> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) return { text: null, forward: request };
  const read = await readPrefix(request.body, maxBytes);
  if (!read.complete) return { text: null, forward: new Request(request, { body: replayBody(read) }) };
  const forward = new Request(request, { body: read.bytes });
  try {
    // `ignoreBOM: false` drops a UTF-8 BOM, as `json.loads` of bytes does (it decodes `utf-8-sig`).
    return { text: new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(read.bytes), forward };
  } catch {
    return { text: null, forward };
  }
}

/** A passthrough outcome forwards `forward` (the body has been read from the original). */
export function withForward(outcome: RouteOutcome, forward: Request): RouteOutcome {
  return outcome.kind === "passthrough" ? passthroughOutcome(outcome.reason, forward) : outcome;
}

/**
 * FastAPI reads the body as JSON when Content-Type is absent or `application/json` / `*+json`;
 * otherwise validation of the raw bytes fails with a 422.
 */
export function isJsonContentType(contentType: string | null): boolean {
  if (contentType === null) return true;
  const essence = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  return essence === "application/json" || (essence.startsWith("application/") && essence.endsWith("+json"));
}
