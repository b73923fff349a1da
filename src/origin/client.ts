/**
 * The edge's HTTP client for the origin (docs/origin.md): passthrough of any request, and the
 * values endpoint used to fill misses. Each carries its own `X-Oseh-Edge` (./tokens.ts): a proxy
 * token bound to the forwarded request, or the values token on the edge's own values calls.
 * Failures are values (`OriginError`), never thrown.
 *
 * Values endpoint contract (docs/origin.md):
 * - 200 → the value bytes; `X-Edge-Expires-At: <unix seconds>` optional;
 * - 404 **with** `X-Edge-Value: absent` → no such value;
 * - 501, or a 404 without that header (an origin that lacks the endpoint answers FastAPI's plain
 *   404) → the family is not served: the edge passes the request through;
 * - timeout → 504; connection failure, 5xx or any other status → 502. None of these is cached.
 */
import { isOriginOnlyPath } from "./forward-guard";
import type { TokenMemory } from "../auth/jwt";
import { DELEGATION_ACK_HEADER, EDGE_TOKEN_HEADER, getValuesToken, mintProxyToken } from "./tokens";
import { forwardedRequestHeaders } from "./headers";
import { parseExpiresAtHeader } from "../keys/expiry";
import { MAX_VALUE_BYTES } from "../storage/limits";
import { readCapped } from "../util/bytes";
import { withIdleTimeout } from "../util/streams";
import { describeError } from "../log";
import type { OriginError } from "../errors";

export const VALUES_PATH = "/api/1/edge/values/";
export const EXPIRES_AT_HEADER = "X-Edge-Expires-At";
export const VALUE_STATE_HEADER = "X-Edge-Value";

/**
 * A forwarded body that sends nothing for this long is cut: Cloudflare's own proxy gives up on an
 * origin that stays silent for 100 s (HTTP 524), so no client could expect more from the edge.
 */
export const PASSTHROUGH_IDLE_TIMEOUT_MS = 100_000;

/**
 * Media fills stream objects of any size, so no whole-body deadline fits them: the body is cut
 * only when the origin sends nothing for this long (a stalled S3 read).
 */
export const MEDIA_FILL_IDLE_TIMEOUT_MS = 30_000;

export type FetchValueResult =
  | { kind: "value"; bytes: Uint8Array; expiresAt?: number }
  | { kind: "absent" }
  | { kind: "unsupported"; reason: string }
  | OriginError;

/** A value streamed from the values endpoint: its length is known before its bytes. */
export type FetchStreamResult =
  | { kind: "stream"; body: ReadableStream<Uint8Array>; size: number; expiresAt?: number }
  | Exclude<FetchValueResult, { kind: "value" }>;

export type PassthroughResult =
  /** `deadline`: the `Date.now()` by which a body the edge reads itself must have arrived whole. */
  /** `proxyTokenId`: the `jti` of the proxy token sent, which a delegation must acknowledge. */
  | { kind: "response"; response: Response; deadline: number; proxyTokenId?: string }
  /** The path could route to the origin's edge-only endpoints: never forwarded. */
  | { kind: "refused" }
  | OriginError;

export interface OriginClientConfig {
  /** Without a trailing slash (Config.originUrl). */
  originUrl: string;
  originTimeoutMs: number;
  /** EDGE_ORIGIN_JWT_SECRET. */
  edgeOriginSecret: string;
}

export interface OriginClientOptions {
  config: OriginClientConfig;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /**
   * Unix seconds for minting `X-Oseh-Edge` tokens; defaults to the platform clock. The token is checked
   * by the origin against its own clock, so it follows real time even when the cache logic runs
   * on an injected one (tests move `now` days ahead; a token minted then would be refused).
   */
  tokenClock?: () => number;
  /** The isolate's token memory (src/isolate.ts): the values token is reused across requests. */
  tokens: TokenMemory;
}

export interface PassthroughOptions {
  /**
   * false: send no proxy token, so the origin cannot delegate and renders the body itself
   * (EDGE_MODE=passthrough). Default true.
   */
  delegate?: boolean;
}

export interface OriginClient {
  /**
   * Forwards the request (method, path, query, headers minus client edge headers, streamed body)
   * and returns the origin's response unchanged, streamed. The timeout covers the wait for the
   * response head; the body is the caller's: a delegation document is read by `deadline`, a
   * streamed body is cut only when it goes idle (../util/streams.ts).
   */
  passthrough(request: Request, options?: PassthroughOptions): Promise<PassthroughResult>;
  /**
   * One values-endpoint call; the timeout covers the whole body. `refresh` (a client's forced
   * refresh) sends `Cache-Control: no-cache`: the origin must answer from its source of truth,
   * not from a cache of its own (docs/origin.md §3).
   */
  fetchValue(key: string, options?: { refresh?: boolean }): Promise<FetchValueResult>;
  /**
   * One values-endpoint call for a media value: the timeout covers the response head; the body
   * streams under an idle deadline (MEDIA_FILL_IDLE_TIMEOUT_MS) and must have a Content-Length.
   */
  fetchValueStream(key: string): Promise<FetchStreamResult>;
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
}

/**
 * The origin's response headers minus any that would hand the edge's credential to the client: a
 * route that reflects request headers (a debug header, a cookie) would otherwise give out the
 * proxy token it was sent. Drops `X-Oseh-Edge*` (but the delegation acknowledgement, which the
 * proxy reads and removes) and every header whose value contains the token.
 */
function withoutEdgeToken(upstream: Headers, token: string | undefined): Headers {
  const out = new Headers();
  for (const [name, value] of upstream) {
    const lower = name.toLowerCase();
    if ((lower.startsWith("x-oseh-edge") && lower !== DELEGATION_ACK_HEADER.toLowerCase()) || (token !== undefined && value.includes(token))) continue;
    out.append(name, value);
  }
  // Iterating Headers joins Set-Cookie values with ", "; take them one by one instead.
  out.delete("Set-Cookie");
  for (const cookie of upstream.getSetCookie()) if (token === undefined || !cookie.includes(token)) out.append("Set-Cookie", cookie);
  return out;
}

/** Any values-endpoint answer but 200 (docs/origin.md), its body already read or cancelled. */
function notAValue(response: Response, key: string): Exclude<FetchValueResult, { kind: "value" }> {
  switch (response.status) {
    case 404:
      return response.headers.get(VALUE_STATE_HEADER) === "absent"
        ? { kind: "absent" }
        : { kind: "unsupported", reason: "values endpoint answered 404 without X-Edge-Value: absent" };
    case 501:
      return { kind: "unsupported", reason: "values endpoint answered 501" };
    case 401:
    case 403:
      // The origin refused our token: a secret mismatch between edge and origin.
      return { kind: "error", status: 502, message: `values endpoint refused the edge token (${response.status}) for ${key}` };
    default:
      return { kind: "error", status: 502, message: `values endpoint answered ${response.status} for ${key}` };
  }
}

export function createOriginClient(options: OriginClientOptions): OriginClient {
  const { config, tokens } = options;
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const base = config.originUrl.replace(/\/+$/, "");
  const tokenClock = options.tokenClock ?? (() => Date.now() / 1000);

  return {
    async passthrough(request, options = {}) {
      const incoming = new URL(request.url);
      if (isOriginOnlyPath(incoming.pathname)) return { kind: "refused" };
      const startedAt = Date.now();
      const target = `${base}${incoming.pathname}${incoming.search}`;
      const headers = forwardedRequestHeaders(request.headers);
      const proxy = options.delegate === false ? undefined : await mintProxyToken(config.edgeOriginSecret, request.method, target, tokenClock(), tokens);
      if (proxy !== undefined) headers.set(EDGE_TOKEN_HEADER, proxy.token);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new DOMException("origin response head timed out", "TimeoutError")), config.originTimeoutMs);
      try {
        const upstream = await doFetch(target, {
          method: request.method,
          headers,
          body: request.method === "GET" || request.method === "HEAD" ? null : request.body,
          // 3xx go back to the client as they are (docs/design.md §4.1: status unchanged).
          redirect: "manual",
          signal: controller.signal,
        });
        // A fresh Response so the caller may add headers (Cache-Status); body and headers as sent,
        // whatever the client accepts: the origin's encoding is the backend's answer, and the
        // request's Accept-Encoding is Cloudflare's rewrite, not the client's (docs/routes.md).
        return {
          kind: "response",
          response: new Response(upstream.body === null ? null : withIdleTimeout(upstream.body, PASSTHROUGH_IDLE_TIMEOUT_MS), { status: upstream.status, statusText: upstream.statusText, headers: withoutEdgeToken(upstream.headers, proxy?.token) }),
          deadline: startedAt + config.originTimeoutMs,
          ...(proxy === undefined ? {} : { proxyTokenId: proxy.jti }),
        };
      } catch (error) {
        if (controller.signal.aborted || isTimeout(error)) {
          return { kind: "error", status: 504, message: `origin did not answer within ${config.originTimeoutMs} ms` };
        }
        return { kind: "error", status: 502, message: `origin unreachable: ${describeError(error)}` };
      } finally {
        clearTimeout(timer);
      }
    },

    async fetchValue(key, options = {}) {
      const url = `${base}${VALUES_PATH}${encodeURIComponent(key)}`;
      let response: Response;
      let bytes: Uint8Array;
      try {
        const token = await getValuesToken(config.edgeOriginSecret, tokenClock(), tokens);
        response = await doFetch(url, {
          method: "GET",
          headers: {
            [EDGE_TOKEN_HEADER]: token,
            Accept: "application/octet-stream",
            ...(options.refresh === true ? { "Cache-Control": "no-cache" } : {}),
          },
          signal: AbortSignal.timeout(config.originTimeoutMs),
        });
        // Read the body under the same deadline; every outcome below needs it consumed or read.
        // Capped: nothing over KV's 25 MiB can be stored, and an unbounded body could exhaust
        // the isolate's 128 MB; the rest of an oversized body is cancelled, never buffered.
        const read = await readCapped(response.body, MAX_VALUE_BYTES);
        if (!read.ok) {
          return { kind: "error", status: 502, message: `values endpoint answered ${response.status} with a body over ${MAX_VALUE_BYTES} bytes for ${key}` };
        }
        bytes = read.bytes;
      } catch (error) {
        if (isTimeout(error)) return { kind: "error", status: 504, message: `values endpoint timed out after ${config.originTimeoutMs} ms for ${key}` };
        return { kind: "error", status: 502, message: `values endpoint unreachable for ${key}: ${describeError(error)}` };
      }

      if (response.status !== 200) return notAValue(response, key);
      const expires = parseExpiresAtHeader(response.headers.get(EXPIRES_AT_HEADER));
      if (!expires.ok) return { kind: "error", status: 502, message: `values endpoint sent a malformed ${EXPIRES_AT_HEADER} for ${key}` };
      return expires.expiresAt === undefined ? { kind: "value", bytes } : { kind: "value", bytes, expiresAt: expires.expiresAt };
    },

    async fetchValueStream(key) {
      const url = `${base}${VALUES_PATH}${encodeURIComponent(key)}`;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new DOMException("values endpoint head timed out", "TimeoutError")), config.originTimeoutMs);
      let response: Response;
      try {
        response = await doFetch(url, {
          method: "GET",
          headers: { [EDGE_TOKEN_HEADER]: await getValuesToken(config.edgeOriginSecret, tokenClock(), tokens), Accept: "application/octet-stream" },
          signal: controller.signal,
        });
      } catch (error) {
        if (controller.signal.aborted || isTimeout(error)) return { kind: "error", status: 504, message: `values endpoint timed out after ${config.originTimeoutMs} ms for ${key}` };
        return { kind: "error", status: 502, message: `values endpoint unreachable for ${key}: ${describeError(error)}` };
      } finally {
        clearTimeout(timer);
      }
      const refuse = async (message: string): Promise<OriginError> => {
        await response.body?.cancel().catch(() => undefined);
        return { kind: "error", status: 502, message };
      };
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        return notAValue(response, key);
      }
      const expires = parseExpiresAtHeader(response.headers.get(EXPIRES_AT_HEADER));
      if (!expires.ok) return refuse(`values endpoint sent a malformed ${EXPIRES_AT_HEADER} for ${key}`);
      const length = response.headers.get("Content-Length");
      // R2 takes a stream only with its length known up front (and it bounds what is written).
      if (length === null || !/^\d{1,15}$/.test(length)) return refuse(`values endpoint sent no Content-Length for media value ${key}`);
      const body = withIdleTimeout(response.body ?? new ReadableStream({ start: (c) => c.close() }), MEDIA_FILL_IDLE_TIMEOUT_MS);
      const size = Number(length);
      return expires.expiresAt === undefined ? { kind: "stream", body, size } : { kind: "stream", body, size, expiresAt: expires.expiresAt };
    },
  };
}
