/**
 * Which request headers cross to the origin (DESIGN §4): everything the client sent, except
 * the edge's own namespaces, which a client must never be able to supply — `X-Oseh-Edge*` (the
 * origin trusts `X-Oseh-Edge` as proof the request came through the edge) and `X-Edge-*`.
 */

/** True for header names a client may not send to the origin (case-insensitive). */
export function isEdgeOnlyHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith("x-oseh-edge") || lower.startsWith("x-edge-");
}

/**
 * `Host` is the origin's own (fetch derives it from ORIGIN_URL). The hop-by-hop `Connection`
 * family is per connection (RFC 9110 §7.6.1), never forwarded by a proxy.
 */
const NOT_FORWARDED = new Set(["host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"]);

/** The headers to forward: a copy of `incoming` without client-supplied edge headers. */
export function forwardedRequestHeaders(incoming: Headers): Headers {
  const out = new Headers();
  for (const [name, value] of incoming) {
    if (isEdgeOnlyHeader(name) || NOT_FORWARDED.has(name.toLowerCase())) continue;
    out.append(name, value);
  }
  return out;
}

/** Whether an `Accept-Encoding` value accepts `coding` (RFC 9110 §12.5.3; `q=0` refuses). */
export function acceptsEncoding(acceptEncoding: string | null, coding: string): boolean {
  if (acceptEncoding === null) return false;
  const wanted = coding.trim().toLowerCase();
  for (const item of acceptEncoding.split(",")) {
    const [name = "", ...params] = item.split(";").map((p) => p.trim().toLowerCase());
    if (name !== wanted && name !== "*") continue;
    const q = params.find((p) => p.startsWith("q="));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

/**
 * Response headers for the client. workerd's fetch negotiates compression with the origin on its
 * own (it sends `Accept-Encoding: br, gzip` whatever the client sent) and hands back the decoded
 * body; the runtime re-encodes on the way out when `Content-Encoding` is set. When the client did
 * not accept that coding, the header (and the length of the encoded form) is dropped, so the
 * client gets the identity bytes it asked for. Otherwise headers are the origin's, unchanged.
 */
export function clientResponseHeaders(upstream: Headers, clientAcceptEncoding: string | null): Headers {
  const out = new Headers(upstream);
  const coding = upstream.get("Content-Encoding");
  if (coding !== null && coding.toLowerCase() !== "identity" && !acceptsEncoding(clientAcceptEncoding, coding)) {
    out.delete("Content-Encoding");
    out.delete("Content-Length");
  }
  return out;
}
