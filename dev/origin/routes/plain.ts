/**
 * Passthrough targets (docs/design.md §4.1): routes the edge never serves, so tests can check that
 * method, path, query, headers, body, status and response headers cross the edge unchanged.
 */
import { gzip } from "../util";

/**
 * Any method: echoes what arrived, so a test can see exactly what the edge forwarded — except
 * `X-Oseh-Edge`, which is a credential: a route that reflects it would hand it to the client
 * (tests read it through `GET /__dev/seen`).
 */
export async function echo(request: Request, url: URL): Promise<Response> {
  const headers: Record<string, string> = {};
  for (const [name, value] of [...request.headers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (name.toLowerCase() === "x-oseh-edge") continue;
    headers[name] = value;
  }
  const body = request.body === null ? "" : await request.text();
  return new Response(JSON.stringify({ method: request.method, path: url.pathname, query: url.search, headers, body }), {
    status: 200,
    headers: { "Content-Type": "application/json; charset=utf-8", "X-Dev-Echo": "1" },
  });
}

/**
 * A careless backend route: it copies the request's `X-Oseh-Edge` into its response headers, as
 * that header and inside another one (a debug header, a cookie), so a test can show the edge
 * never lets its own token back out to the client.
 */
export function reflect(request: Request): Response {
  const token = request.headers.get("X-Oseh-Edge") ?? "";
  const headers = new Headers({ "Content-Type": "text/plain", "X-Oseh-Edge": token, "X-Debug-Request": `x-oseh-edge=${token}` });
  headers.append("Set-Cookie", `edge=${token}; Path=/`);
  headers.append("Set-Cookie", "kept=1; Path=/");
  return new Response("reflected", { status: 200, headers });
}

/**
 * A blank HTML page, so a browser test can open a page on the edge's own origin (through the
 * passthrough) and call the edge's routes same-origin from it, as the web app does
 * (test-node/player). Its empty icon keeps the browser from asking for `/favicon.ico` (a 404).
 */
export function page(): Response {
  const html = '<!doctype html><html><head><meta charset="utf-8"><title>oseh-edge dev page</title><link rel="icon" href="data:,"></head><body></body></html>';
  return new Response(html, { status: 200, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

/**
 * A route that serves what a user uploaded, with the type the user gave it (`?type=`): nothing a
 * client sends through it may become a delegation the edge renders.
 */
export async function upload(request: Request, url: URL): Promise<Response> {
  return new Response(await request.arrayBuffer(), { status: 200, headers: { "Content-Type": url.searchParams.get("type") ?? "application/octet-stream" } });
}

const STREAM_CHUNKS = 5;
const STREAM_CHUNK_DELAY_MS = 20; // long enough that chunks arrive separately, short for tests

/** A chunked body produced over time (no Content-Length). */
export function stream(): Response {
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= STREAM_CHUNKS) {
        controller.close();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, STREAM_CHUNK_DELAY_MS));
      controller.enqueue(new TextEncoder().encode(`chunk ${sent++}\n`));
    },
  });
  return new Response(body, { status: 200, headers: { "Content-Type": "text/plain; charset=utf-8", "X-Dev-Stream": "1" } });
}

/** A non-2xx answer with custom headers that must reach the client untouched. */
export function teapot(): Response {
  const headers = new Headers({
    "Content-Type": "text/plain; charset=utf-8",
    "X-Dev-Teapot": "short and stout",
    "Cache-Control": "private, max-age=7",
    "Retry-After": "42",
  });
  headers.append("Set-Cookie", "dev_a=1; Path=/");
  headers.append("Set-Cookie", "dev_b=2; Path=/");
  return new Response("I'm a teapot", { status: 418, headers });
}

const MAX_BYTES = 1 << 20;

/** `?n=` deterministic binary bytes (every byte value), for byte-equal passthrough checks. */
export function bytes(url: URL): Response {
  const n = Math.min(Number(url.searchParams.get("n") ?? "1024") || 0, MAX_BYTES);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + 7) & 0xff;
  return new Response(out, { status: 200, headers: { "Content-Type": "application/octet-stream" } });
}

/** The plain text of `/api/1/dev/gzip`, for tests to compare with. */
export const GZIPPED_TEXT = "gzip from the origin\n";

/**
 * `/api/1/dev/gzip`: a body sent gzip-encoded whatever the request accepts, as the backend sends
 * its stored gzip (image playlists, daily stats). The Content-Type is one Cloudflare's proxy does
 * not compress, so Miniflare's imitation of it in front of this origin leaves the encoding alone.
 */
export async function gzipped(): Promise<Response> {
  const body = await gzip(new TextEncoder().encode(GZIPPED_TEXT));
  return new Response(body, {
    status: 200,
    headers: { "Content-Type": "application/octet-stream", "Content-Encoding": "gzip", "X-Dev-Gzip": "1" },
    encodeBody: "manual",
  });
}

/**
 * `POST /api/1/dev/delegate`: answers with the request body as a delegation document (docs/design.md
 * §4.3), so tests can hand the edge broken ones: a test control, so only with the bearer
 * DEV_CONTROL_SECRET, and like every delegating route only to a request bearing a proxy token
 * bound to it (the caller checks both); otherwise 403. `?status=` sets the status, `?delay=<ms>`
 * holds the head back (a slow origin); `?stall=1`
 * sends the head and the first half of the document, then stalls (the deadline test).
 */
const MAX_DELAY_MS = 60_000; // a typo in a test must not hang the dev origin forever

export async function delegate(request: Request, url: URL, proxyTokenId: string | undefined): Promise<Response> {
  if (proxyTokenId === undefined) return new Response('{"type":"invalid","message":"edge only"}', { status: 403, headers: { "Content-Type": "application/json" } });
  const status = Number(url.searchParams.get("status") ?? "200") || 200;
  const delay = Math.min(Number(url.searchParams.get("delay") ?? "0") || 0, MAX_DELAY_MS);
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  const document = new Uint8Array(await request.arrayBuffer());
  const half = Math.floor(document.length / 2);
  let pulls = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const body =
    url.searchParams.get("stall") === "1"
      ? new ReadableStream<Uint8Array>({
          async pull(controller) {
            pulls += 1;
            if (pulls === 1) {
              controller.enqueue(document.subarray(0, half));
              return;
            }
            // A pending timer, not a stream left open with nothing to wait on (workerd would
            // cancel that as a hung request): the rest comes only long after any edge deadline.
            await new Promise((resolve) => {
              timer = setTimeout(resolve, MAX_DELAY_MS);
            });
            controller.enqueue(document.subarray(half));
            controller.close();
          },
          cancel() {
            // The edge gave up (its deadline): the rest is never sent.
            if (timer !== undefined) clearTimeout(timer);
          },
        })
      : document;
  return new Response(body, {
    status,
    // ETag and Content-Digest describe this document, not the body the edge renders from it.
    headers: {
      "Content-Type": "application/vnd.oseh.edge-render+json",
      "X-Dev-Delegate": "1",
      // Acknowledges the proxy token (docs/origin.md); `?ack=wrong` plays an origin that does not.
      "X-Oseh-Edge-Delegation": url.searchParams.get("ack") === "wrong" ? "not-the-jti" : proxyTokenId,
      "Cache-Control": "private, max-age=3",
      ETag: '"dev-delegate"',
      "Content-Digest": "sha-256=:AAAA:",
    },
  });
}
