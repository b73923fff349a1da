/**
 * `GET /api/1/edge/values/{encodeURIComponent(key)}` (docs/design.md §4.2, docs/origin.md):
 * - 200: the exact value bytes, `Content-Type: application/octet-stream`, and
 *   `X-Edge-Expires-At: <unix seconds>` when the family's expiry is absolute;
 * - 404 + `X-Edge-Value: absent`: the family is served but this key has no value;
 * - 501 + `X-Edge-Value: unsupported`: the family is not served here (the edge passes through);
 * - 401 / 403: `X-Oseh-Edge` missing / not a values token (a proxy token is refused here).
 * An edge must treat any 404 *without* `X-Edge-Value: absent` (e.g. a backend without this route,
 * which answers FastAPI's `{"detail":"Not Found"}`) as "unsupported", never as "no such value".
 */
import { checkValuesToken } from "../auth";
import { GARBAGE_BYTES, countFill, oversizedBody, stallingBody, takeFault, tricklingBody } from "../controls";
import type { DevOriginEnv } from "../env";
import { produceValue } from "../fixtures/families";

/** The backend's edge-only namespace: every route under it takes the values token, nothing else. */
export const ORIGIN_ONLY_PREFIX = "/api/1/edge";
export const VALUES_PREFIX = "/api/1/edge/values/";

/** The family of raw media objects (`s3_files:{uid}`), whose value has no codec. */
const MEDIA_OBJECT_PREFIX = "s3_files:";

/** How long a cut-short body waits after its first bytes, so the head reaches the edge first. */
const CUT_AFTER_MS = 20;

/** A 200 whose Content-Length is `total` but whose body breaks off after `head`. */
function cutShortResponse(head: Uint8Array, total: number, headers: Record<string, string>): Response {
  const { readable, writable } = new FixedLengthStream(total);
  const writer = writable.getWriter();
  // The head and the first bytes go out; then the body is aborted short of its length, which
  // the runtime answers by cutting the connection.
  void (async () => {
    await writer.write(head);
    await sleep(CUT_AFTER_MS);
    await writer.abort(new Error("dev origin: a truncated fault cuts the body"));
  })().catch(() => undefined);
  return new Response(readable, { status: 200, headers: { ...headers, "Content-Length": String(total) } });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function edgeJson(status: number, type: string, message: string, valueHeader?: "absent" | "unsupported"): Response {
  const headers: Record<string, string> = { "Content-Type": "application/json; charset=utf-8" };
  if (valueHeader !== undefined) headers["X-Edge-Value"] = valueHeader;
  return new Response(JSON.stringify({ type, message }), { status, headers });
}

/** `path`: the routed (percent-decoded) path, under ORIGIN_ONLY_PREFIX. */
export async function handleValues(request: Request, path: string, env: DevOriginEnv, now: number): Promise<Response> {
  // The token first, whatever the route under the prefix: nothing here answers anyone else.
  const edge = await checkValuesToken(request.headers.get("X-Oseh-Edge"), env, now);
  if (!edge.ok) return edgeJson(edge.status, edge.status === 401 ? "edge_token_missing" : "edge_token_invalid", edge.status === 401 ? "X-Oseh-Edge is required" : "X-Oseh-Edge is not a values token");
  if (!path.startsWith(VALUES_PREFIX)) return edgeJson(404, "not_found", "no such edge endpoint");
  if (request.method !== "GET") return edgeJson(405, "method_not_allowed", "GET only");
  const key = path.slice(VALUES_PREFIX.length);
  countFill(key);

  const fault = takeFault(key);
  let cut: "truncated" | { stallMs: number } | undefined;
  let trickleMs: number | undefined;
  if (fault !== undefined) {
    switch (fault.kind) {
      case "slow":
        await sleep(fault.ms);
        break;
      case "status":
        // What the backend's error middleware sends for an unhandled exception.
        return new Response("internal server error", { status: fault.status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
      case "garbage":
        return new Response(GARBAGE_BYTES, { status: 200, headers: { "Content-Type": "application/octet-stream" } });
      case "absent":
        return edgeJson(404, "not_found", "no value for that key", "absent");
      case "unsupported":
        return edgeJson(501, "family_not_served", "the origin does not serve that family to the edge", "unsupported");
      case "oversized":
        return new Response(oversizedBody(), { status: 200, headers: { "Content-Type": "application/octet-stream" } });
      case "truncated":
        cut = "truncated";
        break;
      case "stall":
        cut = { stallMs: fault.ms };
        break;
      case "trickle":
        trickleMs = fault.ms;
        break;
    }
  }

  const produced = await produceValue(key, { now });
  switch (produced.kind) {
    case "value": {
      const headers: Record<string, string> = { "Content-Type": "application/octet-stream" };
      if (produced.expiresAt !== undefined) headers["X-Edge-Expires-At"] = String(produced.expiresAt);
      if (cut === undefined) return new Response(produced.bytes, { status: 200, headers });
      const half = produced.bytes.slice(0, Math.floor(produced.bytes.length / 2));
      // Raw object bytes have no codec: a complete 200 of half of them is, by contract, the
      // object. What truncates one on the wire is a body cut short of its Content-Length.
      if (cut === "truncated" && key.startsWith(MEDIA_OBJECT_PREFIX)) return cutShortResponse(half, produced.bytes.length, headers);
      return new Response(cut === "truncated" ? half : stallingBody(half, cut.stallMs), { status: 200, headers });
    }
    case "stream":
      // A length the edge can trust before the body (it writes R2 through a FixedLengthStream).
      // A stream keeps its Content-Length only with a fixed length (the runtime sends others chunked).
      const open = trickleMs === undefined ? produced.open() : tricklingBody(produced.open(), trickleMs);
      return new Response(open.pipeThrough(new FixedLengthStream(produced.size)), { status: 200, headers: { "Content-Type": "application/octet-stream", "Content-Length": String(produced.size) } });
    case "absent":
      return edgeJson(404, "not_found", "no value for that key", "absent");
    case "unsupported":
      return edgeJson(501, "family_not_served", `the origin does not serve that family to the edge: ${produced.reason}`, "unsupported");
  }
}
