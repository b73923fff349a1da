/**
 * Requests the edge does not answer itself: passthrough to the origin (docs/design.md §4.1) and the
 * delegated render (§4.3). The origin keeps authorization and session creation; when its answer
 * is a delegation document, the edge streams prefix + the rendered stored value + suffix with the
 * origin's status and headers (Content-Type → JSON, Content-Length and Content-Encoding dropped,
 * since the body is new). The origin only delegates to a request bearing a proxy token bound to
 * it (src/origin/tokens.ts), which the edge's client adds to every forwarded request. The
 * document must arrive whole within ORIGIN_TIMEOUT_MS of the request (else 504).
 */
import type { TokenService } from "../auth/jwt";
import type { CacheReader, CacheValue, Filler, ReadScope } from "../cache";
import { FILL_BUDGET_SPENT } from "../cache";
import type { Config } from "../config";
import { BAD_ORIGIN_RESPONSE, failureResponse, originFailure } from "../errors";
import { errorFields, logEvent } from "../log";
import type { OriginClient } from "../origin/client";
import { isDelegation, MAX_DELEGATION_BYTES, parseDelegation, type Delegation } from "../origin/delegation";
import { DELEGATION_ACK_HEADER } from "../origin/tokens";
import { renderValue, type RenderOptions } from "../render/stream";
import type { TemplateCache } from "../render/templates";
import { readPrefixBy } from "../util/bytes";
import type { Answer } from "./respond";

export interface ProxyDeps {
  config: Pick<Config, "mode" | "originTimeoutMs">;
  /** The isolate's origin client, token service and compiled templates (src/isolate.ts). */
  origin: OriginClient;
  tokens: TokenService;
  templates: TemplateCache;
  /** Reads a delegation's template through the cache. */
  reader: CacheReader;
  /** Drops a template that does not render (through the shield when bound: in order with the family's writes). */
  filler: Pick<Filler, "forget">;
  /** The request's clock reading, background work and counters. */
  scope: ReadScope;
  /** Unix seconds (may be fractional), for the journey's tokens minted as the body streams. */
  clock: () => number;
}

function renderOptions(delegation: Delegation, deps: ProxyDeps): RenderOptions {
  const wrappers = {
    ...(delegation.prefix === undefined ? {} : { prefix: delegation.prefix }),
    ...(delegation.suffix === undefined ? {} : { suffix: delegation.suffix }),
  };
  return delegation.kind === "journey"
    ? { kind: "journey", journeyJwt: delegation.journeyJwt, signer: deps.tokens, now: deps.clock, ...wrappers }
    : { kind: "prompt", sessionUid: delegation.sessionUid, promptJwt: delegation.promptJwt, ...wrappers };
}

type Rendered = { ok: true; body: ReadableStream<Uint8Array>; read: CacheValue } | { ok: false; answer: Answer };

const badOriginResponse = (): Answer => ({ response: failureResponse(BAD_ORIGIN_RESPONSE), served: { kind: "origin-error", status: 502 } });

/**
 * Reads the template and renders it. A stored template that fails its framing is dropped from
 * both tiers and refetched once (docs/design.md §5); still bad → 502. A family
 * EDGE_DISABLED_FAMILIES names is rendered from a fresh fill stored nowhere.
 */
async function renderTemplate(delegation: Delegation, deps: ProxyDeps): Promise<Rendered> {
  const options = renderOptions(delegation, deps);
  for (let attempt = 0; attempt < 2; attempt++) {
    const read = await deps.reader.read(delegation.key, delegation.family, deps.scope, { refresh: attempt > 0, fetchDisabled: true });
    switch (read.kind) {
      case "value": {
        // The envelope's sha256 keys the isolate's compiled templates: a hot journey compiles once.
        const rendered = renderValue(read.value.bytes, options, { templates: deps.templates, sha256: read.value.envelope.sha256 });
        if (rendered.ok) return { ok: true, body: rendered.body, read };
        logEvent("corrupt template dropped", { family: delegation.family.name, state: read.state, reason: rendered.failure.reason, message: rendered.failure.message });
        try {
          await deps.filler.forget(delegation.key, Math.floor(deps.scope.now));
        } catch (error) {
          // Counted by the store (`deleteFailures`); the refetch below overwrites the corrupt copy anyway.
          logEvent("corrupt template not deleted", { family: delegation.family.name, ...errorFields(error) });
        }
        continue;
      }
      case "absent":
        logEvent("origin delegated a value it does not have", { family: delegation.family.name });
        return { ok: false, answer: badOriginResponse() };
      case "unavailable":
        switch (read.reason) {
          case "busy":
            return { ok: false, answer: { response: failureResponse(FILL_BUDGET_SPENT), served: { kind: "own" } } };
          case "origin_error":
            return { ok: false, answer: { response: failureResponse(originFailure(read.originError)), served: { kind: "cache", result: read } } };
          case "unsupported":
          case "disabled":
          case "unbound":
          case "bad_key":
            logEvent("origin delegated a family it does not serve", { family: delegation.family.name });
            return { ok: false, answer: badOriginResponse() };
          default:
            return read satisfies never;
        }
      default:
        return read satisfies never;
    }
  }
  return { ok: false, answer: badOriginResponse() };
}

/** Describe the bytes of the origin's body (the delegation document), not the rendered value. */
const DOCUMENT_ONLY_HEADERS = ["Content-Length", "Content-Encoding", "ETag", "Content-MD5", "Digest", "Content-Digest", "Repr-Digest"];

async function renderDelegated(response: Response, deadline: number, deps: ProxyDeps): Promise<Answer> {
  const read = await readPrefixBy(response.body, MAX_DELEGATION_BYTES, deadline);
  if (!read.complete) {
    if ("timedOut" in read) {
      logEvent("delegation document did not arrive whole", { timeoutMs: deps.config.originTimeoutMs });
      return { response: failureResponse(originFailure({ status: 504 })), served: { kind: "origin-error", status: 504 } };
    }
    await read.reader.cancel().catch(() => undefined);
    logEvent("delegation document refused", { reason: "too_large", maxBytes: MAX_DELEGATION_BYTES });
    return badOriginResponse();
  }
  const parsed = parseDelegation(read.bytes);
  if (!parsed.ok) {
    // The reason only: a problem's message may quote the document (a JWT, a key with its ids).
    logEvent("delegation document refused", { reason: parsed.problem.reason });
    return badOriginResponse();
  }
  const rendered = await renderTemplate(parsed.delegation, deps);
  if (!rendered.ok) return rendered.answer;

  // The origin client's answer carries headers of its own (../origin/client.ts), so they are
  // edited in place rather than copied once more per render.
  const headers = response.headers;
  headers.set("Content-Type", "application/json; charset=utf-8");
  // Headers that describe the delegation document's bytes are wrong for the rendered body.
  for (const name of DOCUMENT_ONLY_HEADERS) headers.delete(name);
  return {
    response: new Response(rendered.body, { status: response.status, statusText: response.statusText, headers }),
    served: { kind: "cache", result: rendered.read },
  };
}

/**
 * Everything not answered at the edge: the request goes to the origin unchanged; its response
 * comes back unchanged (`Cache-Status: oseh-edge; fwd=bypass`), or rendered when it is a
 * delegation. Origin trouble answers 502/504 JSON.
 */
export async function handleProxied(request: Request, deps: ProxyDeps): Promise<Answer> {
  const { origin } = deps;
  // EDGE_MODE=passthrough: a pure proxy — no token, so no delegation, and nothing read or filled.
  const pure = deps.config.mode === "passthrough";
  const result = await origin.passthrough(request, { delegate: !pure });
  if (result.kind === "refused") {
    // The origin's edge-only endpoints are never a client's to reach (../origin/forward-guard.ts).
    return { response: failureResponse({ type: "not_found", message: "no such route" }), served: { kind: "own" } };
  }
  if (result.kind === "error") {
    // No path: it may carry ids (the request line names the route instead).
    logEvent("passthrough failed", { method: request.method, status: result.status, message: result.message });
    return { response: failureResponse(originFailure(result)), served: { kind: "origin-error", status: result.status } };
  }
  const acknowledged = result.response.headers.get(DELEGATION_ACK_HEADER);
  // Between the origin and the edge only; never to the client.
  result.response.headers.delete(DELEGATION_ACK_HEADER);
  if (!pure && isDelegation(result.response)) {
    if (result.proxyTokenId !== undefined && acknowledged === result.proxyTokenId) {
      return renderDelegated(result.response, result.deadline, deps);
    }
    // The media type without the token's jti: not a delegation this request's token allowed (a
    // route serving a user's upload, say). The origin's answer goes out as it came, unrendered.
    logEvent("delegation not acknowledged", { method: request.method, status: result.response.status });
  }
  return { response: result.response, served: { kind: "bypass" } };
}
