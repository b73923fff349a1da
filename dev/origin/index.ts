/**
 * The dev origin Worker (docs/design.md §1.2): plays the Oseh backend for `npm start` and the integration
 * tests. Routes:
 * - `GET /api/1/edge/values/{key}`: the values endpoint (routes/values.ts), values token only;
 * - the journey/prompt start routes (routes/start.ts), delegating only to a bound proxy token;
 * - `/api/1/dev/{echo,reflect,upload,stream,teapot,bytes,gzip,delegate,page}`: passthrough and delegation targets, a blank page (routes/plain.ts);
 * - the media routes (routes/media.ts): image exports, email images, content export parts;
 * - `/__dev/…`: test controls (routes/dev-controls.ts), behind the bearer DEV_CONTROL_SECRET.
 * Routing is on the percent-decoded path, as Starlette's; every request's target and
 * `X-Oseh-Edge` are logged for `GET /__dev/seen`.
 * Anything else answers like FastAPI for an unknown route: 404 `{"detail":"Not Found"}`.
 */
import type { DevOriginEnv } from "./env";
import { checkProxyToken } from "./auth";
import { recordSeen, type SeenRequest } from "./controls";
import { handleDevControls, hasControlSecret } from "./routes/dev-controls";
import { bytes, delegate, echo, gzipped, page, reflect, stream, teapot, upload } from "./routes/plain";
import { handleMedia } from "./routes/media";
import { findStartRoute, handleStart } from "./routes/start";
import { ORIGIN_ONLY_PREFIX, VALUES_PREFIX, handleValues } from "./routes/values";
import { passGates } from "./state";

const wallClock = () => Math.floor(Date.now() / 1000);

/**
 * The path as Starlette routes it: uvicorn percent-decodes the raw path (`unquote`, invalid
 * escapes kept), so `/api/1/edge%2Fvalues/k` and `/api/1/%65dge/values/k` are the values route.
 * The URL parser has already resolved dot segments, as a proxy in front of the backend would.
 */
export function routedPath(rawPath: string): string {
  try {
    return decodeURIComponent(rawPath);
  } catch {
    return rawPath.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
}

/** Reads a body nobody else reads and notes its length and sha256 (the 64 MiB passthrough test). */
async function digestBody(request: Request, seen: SeenRequest): Promise<void> {
  if (request.body === null) return;
  const digest = new crypto.DigestStream("SHA-256");
  let length = 0;
  await request.body
    .pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          length += chunk.byteLength;
          controller.enqueue(chunk);
        },
      }),
    )
    .pipeTo(digest);
  seen.bodyLength = length;
  seen.bodySha256 = [...new Uint8Array(await digest.digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function route(request: Request, env: DevOriginEnv, seen: SeenRequest): Promise<Response> {
  const url = new URL(request.url);
  const path = routedPath(url.pathname);
  // A test's gate holds the request here, before its body is read or its answer made (docs/origin.md §8).
  if (!path.startsWith("/__dev/")) {
    await passGates({ target: path, search: url.search, ...(path.startsWith(VALUES_PREFIX) ? { key: path.slice(VALUES_PREFIX.length) } : {}) });
  }
  if (path === ORIGIN_ONLY_PREFIX || path.startsWith(`${ORIGIN_ONLY_PREFIX}/`)) {
    const answer = await handleValues(request, path, env, wallClock());
    // A gate that holds made answers (`hold: "answer"`): the origin may change while this one waits.
    if (path.startsWith(VALUES_PREFIX)) await passGates({ target: path, search: url.search, key: path.slice(VALUES_PREFIX.length) }, "answer");
    return answer;
  }
  const start = findStartRoute(request.method, path);
  if (start !== undefined) return handleStart(start, request, env, wallClock);
  if (path.startsWith("/__dev/")) return handleDevControls(request, url, env.DEV_CONTROL_SECRET);
  const media = await handleMedia(request, url, env);
  if (media !== undefined) return media;
  switch (path) {
    case "/api/1/dev/echo":
      return echo(request, url);
    case "/api/1/dev/reflect":
      return reflect(request);
    case "/api/1/dev/upload":
      return upload(request, url);
    case "/api/1/dev/stream":
      return stream();
    case "/api/1/dev/teapot":
      return teapot();
    case "/api/1/dev/bytes":
      return bytes(url);
    case "/api/1/dev/gzip":
      return gzipped();
    case "/api/1/dev/page":
      return page();
    case "/api/1/dev/delegate": {
      // An arbitrary delegation document is a test control: the control secret, and like every
      // delegation, a proxy token bound to this very request.
      if (!hasControlSecret(request, env.DEV_CONTROL_SECRET)) return delegate(request, url, undefined);
      const proxy = await checkProxyToken(request.headers.get("X-Oseh-Edge"), env, request.method, url.pathname, wallClock());
      return delegate(request, url, proxy.ok ? proxy.jti : undefined);
    }
  }
  await digestBody(request, seen);
  return new Response('{"detail":"Not Found"}', { status: 404, headers: { "Content-Type": "application/json" } });
}

export default {
  async fetch(request, env): Promise<Response> {
    try {
      const url = new URL(request.url);
      const seen: SeenRequest = { method: request.method, path: url.pathname, query: url.search, edgeToken: request.headers.get("X-Oseh-Edge") };
      recordSeen(`${url.pathname}${url.search}`, seen);
      return await route(request, env, seen);
    } catch (error) {
      // The backend's error middleware: a plain 500 (docs/block-format.md intro), with the cause logged.
      console.error("dev origin: unhandled error", error);
      return new Response("internal server error", { status: 500, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    }
  },
} satisfies ExportedHandler<DevOriginEnv>;
