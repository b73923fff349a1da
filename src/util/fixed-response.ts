/**
 * A fixed-length body as the backend's Starlette `Response` sends one: exactly these bytes, with
 * their `Content-Length`, and never encoded by the runtime (`encodeBody: "manual"`). A body that
 * names `Content-Encoding: gzip` is the stored gzip member, sent as stored; every other body is
 * identity. What Cloudflare's proxy does after the Worker is in docs/routes.md ("Encoding").
 */
const encoder = new TextEncoder();

export interface FixedResponseInit {
  status: number;
  /** In the backend's order; `Content-Length` is set here from the body. */
  headers: Headers;
}

export function fixedResponse(body: Uint8Array | string, init: FixedResponseInit): Response {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  init.headers.set("Content-Length", String(bytes.byteLength));
  return new Response(bytes, { status: init.status, headers: init.headers, encodeBody: "manual" });
}
