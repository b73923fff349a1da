/**
 * The edge's side of the origin contracts (DESIGN §4; docs/origin.md): the client (passthrough
 * and the values endpoint, with `X-Oseh-Edge`), read-through loads with fill on miss and
 * stale-if-error, the delegated render, and the `Cache-Status` vocabulary.
 */
export { createOriginClient, parseExpiresAtHeader, EXPIRES_AT_HEADER, VALUES_PATH, VALUE_STATE_HEADER } from "./client";
export type { FetchValueResult, OriginClient, OriginClientConfig, OriginClientOptions, OriginError, PassthroughResult } from "./client";
export { getEdgeToken, edgeTokenClaims, EDGE_TOKEN_HEADER, EDGE_TOKEN_LIFETIME_SECONDS } from "./edge-token";
export { forwardedRequestHeaders, isEdgeOnlyHeader } from "./headers";
export { loadThroughCache, cacheStatusOf, toRouteLoad, type LoadDeps, type LoadOptions, type LoadOutcome, type RouteLoad } from "./load";
export { parseDelegation, isDelegation, mediaTypeOf, templateKindOf, templateProblem, EDGE_RENDER_MEDIA_TYPE, type Delegation, type DelegationProblem } from "./delegation";
export { handleProxied, originClientFor, tokenServiceFor, type ProxyDeps } from "./proxy";
export { originFailureResponse, originFailureOf, type OriginFailure } from "./responses";
export * from "./cache-status";
