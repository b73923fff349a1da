/**
 * Edge routes (DESIGN §7): the entry point the Worker calls for every request outside `/_edge/`.
 * `undefined` means "not an edge route" and the Worker proxies the request to the origin.
 */
import { authorizeAdminIdToken, type AdminIdResult } from "../auth/admin-id";
import type { EdgeContext } from "../context";
import { createRouteIo } from "./edge-io";
import type { RouteIo } from "./io";
import { respond } from "./respond";
import { matchEdgeRoute } from "./table";

export { EDGE_ROUTES, matchEdgeRoute } from "./table";
export { createRouteIo } from "./edge-io";
export type { LoadOptions, LoadResult, RouteIo } from "./io";

/** Serves the request if it is an edge route, with the given I/O. */
export async function serveEdgeRoute(request: Request, io: RouteIo): Promise<Response | undefined> {
  const matched = matchEdgeRoute(request.method, new URL(request.url).pathname);
  if (matched === undefined) return undefined;
  const startedAt = Date.now();
  const outcome = await matched.route.handler(request, matched.params, io);
  return respond(outcome, request, io, startedAt);
}

/** What src/index.ts calls for every request outside `/_edge/`. */
export async function routeEdgeRequest(request: Request, edge: EdgeContext): Promise<Response | undefined> {
  if (matchEdgeRoute(request.method, new URL(request.url).pathname) === undefined) return undefined;
  return serveEdgeRoute(request, createRouteIo(edge, edge.now()));
}

/** The admin id-token check (src/auth/admin-id.ts) over the Worker's cache and origin, for `/_edge/v1`. */
export function authorizeAdminIdTokenForEdge(request: Request, edge: EdgeContext, now: number): Promise<AdminIdResult> {
  return authorizeAdminIdToken(request, createRouteIo(edge, now), now);
}
