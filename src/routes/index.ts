/**
 * Edge routes (docs/routes.md): what the Worker calls for a request the route table matched, and
 * for every other request outside `/_edge/` (the origin's: passthrough and delegated render).
 */
import type { MatchedRoute } from "./table";
import type { RouteIo } from "./io";
import { respond, type Answer } from "./respond";

export { EDGE_ROUTES, matchEdgeRoute, type MatchedRoute } from "./table";
export { createRouteIo, type RouteRequestScope } from "./edge-io";
export { handleProxied, type ProxyDeps } from "./proxied";
export { stamp, type Answer, type RouteOutcome } from "./respond";
export type { RouteIo } from "./io";

/** Answers a request the route table matched (once, by the caller), on the URL it parsed once. */
export async function answerEdgeRoute(matched: MatchedRoute, request: Request, url: URL, io: RouteIo): Promise<Answer> {
  const outcome = await matched.handler({ request, url, params: matched.params }, io);
  return respond(outcome, request, io);
}
