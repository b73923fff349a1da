/**
 * The edge's side of the origin contracts (docs/design.md §4; docs/origin.md): the HTTP client
 * (passthrough with a proxy token, the values endpoint with the values token), the tokens, the
 * fill from the values endpoint, delegation documents, and the forwarding rules for paths and
 * headers. What the edge does with an answer (the cache core, the delegated render) lives with
 * its consumers (src/cache/, src/routes/proxied.ts).
 */
export { createOriginClient, EXPIRES_AT_HEADER, MEDIA_FILL_IDLE_TIMEOUT_MS, VALUES_PATH, VALUE_STATE_HEADER } from "./client";
export type { FetchStreamResult, FetchValueResult, OriginClient, OriginClientConfig, OriginClientOptions, PassthroughResult } from "./client";
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
export { createOriginFill, originFill, type OriginFillDeps } from "./fill";
export { isOriginOnlyPath, ORIGIN_ONLY_PREFIX } from "./forward-guard";
export { forwardedRequestHeaders, isEdgeOnlyHeader } from "./headers";
export { parseDelegation, isDelegation, mediaTypeOf, templateKindOf, templateProblem, EDGE_RENDER_MEDIA_TYPE, type Delegation, type DelegationProblem } from "./delegation";
