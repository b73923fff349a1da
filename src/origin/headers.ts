/**
 * Which request headers cross to the origin (docs/design.md §4): everything the client sent, except
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
const NOT_FORWARDED: ReadonlySet<string> = new Set(["host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"]);

/** The headers to forward: a copy of `incoming` without client-supplied edge headers. */
export function forwardedRequestHeaders(incoming: Headers): Headers {
  const out = new Headers();
  for (const [name, value] of incoming) {
    if (isEdgeOnlyHeader(name) || NOT_FORWARDED.has(name.toLowerCase())) continue;
    out.append(name, value);
  }
  return out;
}
