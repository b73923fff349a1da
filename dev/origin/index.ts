/**
 * The dev origin Worker (DESIGN §1.2): plays the Oseh backend for `npm start` and the integration
 * tests. Routes:
 * - `GET /api/1/edge/values/{key}`: the values endpoint (routes/values.ts, DESIGN §4.2);
 * - the journey/prompt start routes (routes/start.ts, blocks-spec §2.8, §3.8, DESIGN §4.3);
 * - `/api/1/dev/{echo,stream,teapot,bytes,gzip,delegate}`: passthrough and delegation targets (routes/plain.ts);
 * - `/__dev/…`: test controls (routes/dev-controls.ts).
 * Anything else answers like FastAPI for an unknown route: 404 `{"detail":"Not Found"}`.
 */
import type { DevOriginEnv } from "./env";
import { handleDevControls } from "./routes/dev-controls";
import { checkEdgeToken } from "./auth";
import { bytes, delegate, echo, gzipped, stream, teapot } from "./routes/plain";
import { findStartRoute, handleStart } from "./routes/start";
import { VALUES_PREFIX, handleValues } from "./routes/values";

const wallClock = () => Math.floor(Date.now() / 1000);

async function route(request: Request, env: DevOriginEnv): Promise<Response> {
  const url = new URL(request.url);
  const path = url.pathname;
  if (path.startsWith(VALUES_PREFIX)) return handleValues(request, url, env, wallClock());
  const start = findStartRoute(request.method, path);
  if (start !== undefined) return handleStart(start, request, env, wallClock);
  if (path.startsWith("/__dev/")) return handleDevControls(request, url);
  switch (path) {
    case "/api/1/dev/echo":
      return echo(request, url);
    case "/api/1/dev/stream":
      return stream();
    case "/api/1/dev/teapot":
      return teapot();
    case "/api/1/dev/bytes":
      return bytes(url);
    case "/api/1/dev/gzip":
      return gzipped();
    case "/api/1/dev/delegate":
      return delegate(request, url, (await checkEdgeToken(request.headers.get("X-Oseh-Edge"), env.EDGE_ORIGIN_JWT_SECRET, wallClock())) === "valid");
  }
  return new Response('{"detail":"Not Found"}', { status: 404, headers: { "Content-Type": "application/json" } });
}

export default {
  async fetch(request, env): Promise<Response> {
    try {
      return await route(request, env);
    } catch (error) {
      // The backend's error middleware: a plain 500 (blocks-spec intro), with the cause logged.
      console.error("dev origin: unhandled error", error);
      return new Response("internal server error", { status: 500, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    }
  },
} satisfies ExportedHandler<DevOriginEnv>;
