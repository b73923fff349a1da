/**
 * Edge routes (DESIGN §7): the entry point the Worker calls for every request outside `/_edge/`.
 * `undefined` means "not an edge route" and the Worker proxies the request to the origin.
 */
import type { RouteIo } from "./io";
import { respond } from "./respond";
import { matchEdgeRoute } from "./table";

export { EDGE_ROUTES, matchEdgeRoute } from "./table";
export type { LoadOptions, LoadResult, RouteIo } from "./io";

/** Serves the request if it is an edge route, with the given I/O. */
export async function serveEdgeRoute(request: Request, io: RouteIo): Promise<Response | undefined> {
  const matched = matchEdgeRoute(request.method, new URL(request.url).pathname);
  if (matched === undefined) return undefined;
  const startedAt = Date.now();
  const outcome = await matched.route.handler(request, matched.params, io);
  return respond(outcome, request, io, startedAt);
}
