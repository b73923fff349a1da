/**
 * The edge's side of the origin contracts (docs/design.md §4; docs/origin.md): the client (passthrough
 * with a proxy token, the values endpoint with the values token), read-through loads with fill on miss and
 * stale-if-error, the delegated render, and the `Cache-Status` vocabulary.
 */
export { createOriginClient, parseExpiresAtHeader, EXPIRES_AT_HEADER, MEDIA_FILL_IDLE_TIMEOUT_MS, VALUES_PATH, VALUE_STATE_HEADER } from "./client";
export type { FetchStreamResult, FetchValueResult, OriginClient, OriginClientConfig, OriginClientOptions, OriginError, PassthroughResult } from "./client";
export {
  getValuesToken,
  mintProxyToken,
  proxyTokenClaims,
  valuesTokenClaims,
  EDGE_TOKEN_HEADER,
  DELEGATION_ACK_HEADER,
  PROXY_TOKEN_AUDIENCE,
  PROXY_TOKEN_LIFETIME_SECONDS,
  VALUES_TOKEN_AUDIENCE,
  VALUES_TOKEN_LIFETIME_SECONDS,
} from "./tokens";
export { isOriginOnlyPath, ORIGIN_ONLY_PREFIX } from "./forward-guard";
export { forwardedRequestHeaders, isEdgeOnlyHeader } from "./headers";
export { loadThroughCache, cacheStatusOf, toRouteLoad, isolateFiller, originFill, staysInColo, type Fill, type FillDeps, type Filler, type LoadDeps, type LoadOptions, type LoadOutcome, type RouteLoad } from "./load";
export { parseDelegation, isDelegation, mediaTypeOf, templateKindOf, templateProblem, EDGE_RENDER_MEDIA_TYPE, type Delegation, type DelegationProblem } from "./delegation";
export { handleProxied, type ProxyDeps } from "./proxy";
export { originFailureResponse, originFailureOf, type OriginFailure } from "./responses";
export * from "./cache-status";
