/**
 * Edge routes (docs/routes.md): the entry point the Worker calls for every request outside
 * `/_edge/`. `undefined` means "not an edge route" and the Worker proxies the request to the origin.
 */
import type { EdgeContext } from "../context";
import { createRouteIo } from "./edge-io";
import type { RouteIo } from "./io";
import { respond } from "./respond";
import { matchEdgeRoute } from "./table";

export { EDGE_ROUTES, matchEdgeRoute } from "./table";
export { createRouteIo } from "./edge-io";
export type { LoadOptions, LoadResult, RouteIo } from "./io";

/**
 * Serves the request if it is an edge route. The route is matched once, on the URL the caller
 * parsed once; `ioFor` builds the route's I/O only for a matched request.
 */
export async function serveEdgeRoute(request: Request, url: URL, ioFor: () => RouteIo): Promise<Response | undefined> {
  const matched = matchEdgeRoute(request.method, url.pathname);
  if (matched === undefined) return undefined;
  const startedAt = Date.now();
  const io = ioFor();
  const outcome = await matched.handler({ request, url, params: matched.params }, io);
  return respond(outcome, request, io, startedAt);
}

/** What src/index.ts calls for every request outside `/_edge/`, with the URL it parsed. */
export function routeEdgeRequest(request: Request, url: URL, edge: EdgeContext): Promise<Response | undefined> {
  return serveEdgeRoute(request, url, () => createRouteIo(edge, edge.now()));
}
