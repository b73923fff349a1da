/**
 * Requests the edge does not answer itself: passthrough to the origin (docs/design.md §4.1) and the
 * delegated render (§4.3). The origin keeps authorization and session creation; when its answer
 * is a delegation document, the edge streams prefix + the rendered stored value + suffix with the
 * origin's status and headers (Content-Type → JSON, Content-Length and Content-Encoding dropped,
 * since the body is new). The origin only delegates to a request bearing a proxy token bound to
 * it (./tokens.ts), which the edge's client adds to every forwarded request (./client.ts). The
 * document must arrive whole within ORIGIN_TIMEOUT_MS of the request (else 504).
 */
import type { TokenService } from "../auth/jwt";
import type { Config } from "../config";
import { renderValue, type RenderOptions } from "../render/stream";
import type { TieredStore } from "../storage";
import { appendCacheStatus, cacheStatusBypass, cacheStatusError } from "./cache-status";
import type { OriginClient } from "./client";
import type { TemplateCache } from "../render/templates";
import type { FillGuard } from "./fill-guard";
import { DELEGATION_ACK_HEADER } from "./tokens";
import { isDelegation, MAX_DELEGATION_BYTES, parseDelegation, type Delegation } from "./delegation";
import { cacheStatusOf, loadThroughCache, type Filler, type LoadDeps, type LoadOutcome } from "./load";
import { originFailureOf, originFailureResponse } from "./responses";
import { readPrefixBy } from "../util/bytes";
import { failureResponse } from "../errors";
import { errorFields, logEvent } from "../observe/log";
import { FILL_BUDGET_SPENT } from "./fill-guard";

export interface ProxyDeps {
  config: Config;
  store: TieredStore;
  /** Unix seconds (may be fractional); read once per request and once per minted token. */
  now: () => number;
  waitUntil: (promise: Promise<unknown>) => void;
  stats?: LoadDeps["stats"];
  /** The isolate's origin client and token service, built once per config (src/index.ts). */
  origin: OriginClient;
  tokens: TokenService;
  /** The isolate's compiled templates (src/isolate.ts). */
  templates: TemplateCache;
  /** The isolate's remembered absences and fill budget. */
  guard: FillGuard;
  /** Who fills a template after a miss (the family shield when bound); see LoadDeps. */
  filler?: Filler;
}

function renderOptions(delegation: Delegation, deps: ProxyDeps, tokens: TokenService): RenderOptions {
  const wrappers = {
    ...(delegation.prefix === undefined ? {} : { prefix: delegation.prefix }),
    ...(delegation.suffix === undefined ? {} : { suffix: delegation.suffix }),
  };
  return delegation.kind === "journey"
    ? { kind: "journey", journeyJwt: delegation.journeyJwt, signer: tokens, now: deps.now, ...wrappers }
    : { kind: "prompt", sessionUid: delegation.sessionUid, promptJwt: delegation.promptJwt, ...wrappers };
}

type Rendered = { ok: true; body: ReadableStream<Uint8Array>; outcome: LoadOutcome } | { ok: false; response: Response };

const badOriginResponse = (): Response => originFailureResponse({ type: "bad_origin_response", status: 502 }, cacheStatusError(502));

/**
 * Loads the template and renders it. A stored template that fails its framing is dropped from
 * both tiers and refetched once (docs/design.md §5); still bad → 502.
 */
async function renderTemplate(delegation: Delegation, deps: ProxyDeps, loadDeps: LoadDeps, tokens: TokenService, now: number): Promise<Rendered> {
  const options = renderOptions(delegation, deps, tokens);
  for (let attempt = 0; attempt < 2; attempt++) {
    const outcome = await loadThroughCache(delegation.key, delegation.family, now, loadDeps, { refresh: attempt > 0 });
    switch (outcome.kind) {
      case "value": {
        // The envelope's sha256 keys the isolate's compiled templates: a hot journey compiles once.
        const rendered = renderValue(outcome.value.bytes, options, { templates: deps.templates, sha256: outcome.value.envelope.sha256 });
        if (rendered.ok) return { ok: true, body: rendered.body, outcome };
        logEvent("corrupt template dropped", { family: delegation.family.name, state: outcome.state, reason: rendered.failure.reason, message: rendered.failure.message });
        try {
          // Through the shield when bound, so the drop is ordered with the family's other writes.
          await (loadDeps.filler === undefined ? deps.store.delete(delegation.key) : loadDeps.filler.forget(delegation.key, now));
        } catch (error) {
          // Counted by the store (`deleteFailures`); the refetch below overwrites the corrupt copy anyway.
          logEvent("corrupt template not deleted", { family: delegation.family.name, ...errorFields(error) });
        }
        continue;
      }
      case "absent":
        logEvent("origin delegated a value it does not have", { family: delegation.family.name });
        return { ok: false, response: badOriginResponse() };
      case "busy":
        return { ok: false, response: failureResponse(FILL_BUDGET_SPENT) };
      case "passthrough":
        logEvent("origin delegated a family it does not serve", { family: delegation.family.name });
        return { ok: false, response: badOriginResponse() };
      case "error":
        return { ok: false, response: originFailureResponse(originFailureOf(outcome.status), cacheStatusOf(outcome)) };
    }
  }
  return { ok: false, response: badOriginResponse() };
}

/** Describe the bytes of the origin's body (the delegation document), not the rendered value. */
const DOCUMENT_ONLY_HEADERS = ["Content-Length", "Content-Encoding", "ETag", "Content-MD5", "Digest", "Content-Digest", "Repr-Digest"];

async function renderDelegated(response: Response, deadline: number, deps: ProxyDeps, now: number): Promise<Response> {
  const read = await readPrefixBy(response.body, MAX_DELEGATION_BYTES, deadline);
  if (!read.complete) {
    if ("timedOut" in read) {
      logEvent("delegation document did not arrive whole", { timeoutMs: deps.config.originTimeoutMs });
      return originFailureResponse(originFailureOf(504), cacheStatusError(504));
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
  const { tokens } = deps;
  const loadDeps: LoadDeps = {
    store: deps.store,
    origin: deps.origin,
    collabMaxSeconds: deps.config.collabMaxSeconds,
    waitUntil: deps.waitUntil,
    guard: deps.guard,
    ...(deps.stats === undefined ? {} : { stats: deps.stats }),
    ...(deps.filler === undefined ? {} : { filler: deps.filler }),
  };
  const rendered = await renderTemplate(parsed.delegation, deps, loadDeps, tokens, now);
  if (!rendered.ok) return rendered.response;

  // The origin client's answer carries headers of its own (./client.ts), so they are edited in
  // place rather than copied once more per render.
  const headers = response.headers;
  headers.set("Content-Type", "application/json; charset=utf-8");
  // Headers that describe the delegation document's bytes are wrong for the rendered body.
  for (const name of DOCUMENT_ONLY_HEADERS) headers.delete(name);
  appendCacheStatus(headers, cacheStatusOf(rendered.outcome));
  return new Response(rendered.body, { status: response.status, statusText: response.statusText, headers });
}

/**
 * Everything not answered at the edge: the request goes to the origin unchanged; its response
 * comes back unchanged (plus `Cache-Status: oseh-edge; fwd=bypass`), or rendered when it is a
 * delegation. Origin trouble answers 502/504 JSON.
 */
export async function handleProxied(request: Request, deps: ProxyDeps): Promise<Response> {
  const now = deps.now();
  const { origin } = deps;
  // EDGE_MODE=passthrough: a pure proxy — no token, so no delegation, and nothing read or filled.
  const pure = deps.config.mode === "passthrough";
  const result = await origin.passthrough(request, { delegate: !pure });
  if (result.kind === "refused") {
    // The origin's edge-only endpoints are never a client's to reach (./forward-guard.ts).
    return failureResponse({ type: "not_found", message: "no such route" });
  }
  if (result.kind === "error") {
    // No path: it may carry ids (the request line names the route instead).
    logEvent("passthrough failed", { method: request.method, status: result.status, message: result.message });
    return originFailureResponse(originFailureOf(result.status), cacheStatusError(result.status));
  }
  const acknowledged = result.response.headers.get(DELEGATION_ACK_HEADER);
  // Between the origin and the edge only; never to the client.
  result.response.headers.delete(DELEGATION_ACK_HEADER);
  if (!pure && isDelegation(result.response)) {
    if (result.proxyTokenId !== undefined && acknowledged === result.proxyTokenId) {
      return renderDelegated(result.response, result.deadline, deps, now);
    }
    // The media type without the token's jti: not a delegation this request's token allowed (a
    // route serving a user's upload, say). The origin's answer goes out as it came, unrendered.
    logEvent("delegation not acknowledged", { method: request.method, status: result.response.status });
  }
  appendCacheStatus(result.response.headers, cacheStatusBypass());
  return result.response;
}
