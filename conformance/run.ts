/**
 * Runs the conformance checks against one origin: every request the checker makes, in order,
 * each answer turned into an `Observed` and judged by ./checks.ts.
 */
import { decodeJwt } from "jose";
import { EDGE_TOKEN_HEADER } from "../src/origin/tokens";
import { VALUES_PATH } from "../src/origin/client";
import { checkAccepted, checkNotDelegated, checkRefused, checkRenders, checkValue, delegationOf, type Check, type Observed } from "./checks";
import { createTokenMinter } from "./tokens";

export interface DelegateRoute {
  method: string;
  /** Path and query, as a client sends it to the edge. */
  path: string;
  body?: string;
}

export interface ConformanceOptions {
  /** The origin's base URL, as the edge's ORIGIN_URL. */
  origin: string;
  /** EDGE_ORIGIN_JWT_SECRET. */
  secret: string;
  keys: readonly string[];
  delegates: readonly DelegateRoute[];
  /** Sent on every delegate request (the user's credential). */
  headers: readonly [string, string][];
  /** Unix seconds. */
  now: () => number;
  fetch?: typeof fetch;
}

/** Any key: the refusals must not depend on it. One the dev origin and the backend both know. */
export const PROBE_KEY = "auth:is_admin:oseh_u_conformanceProbe";
/** A path no route is bound to, for "a proxy token for another path". */
export const OTHER_PATH = "/api/1/conformance/another-path";
/** Sent with an expired token: exp this far in the past (well beyond any leeway). */
const EXPIRED_BY_SECONDS = 600;

/** Pure: `"METHOD PATH [BODY]"` → a route, or the reason it is not one. */
export function parseDelegateArg(arg: string): DelegateRoute | string {
  const match = /^\s*([A-Za-z]+)\s+(\/\S*)(?:\s+([\s\S]*))?$/.exec(arg);
  if (match === null) return `--delegate ${JSON.stringify(arg)}: expected "METHOD /path [BODY]"`;
  const [, method = "", path = "", body] = match;
  return body === undefined || body.trim() === "" ? { method: method.toUpperCase(), path } : { method: method.toUpperCase(), path, body };
}

/** Pure: `"Name: value"` → a header pair, or the reason it is not one. */
export function parseHeaderArg(arg: string): [string, string] | string {
  const at = arg.indexOf(":");
  const name = at > 0 ? arg.slice(0, at).trim() : "";
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return `--header ${JSON.stringify(arg)}: expected "Name: value"`;
  return [name, arg.slice(at + 1).trim()];
}

async function observe(response: Response): Promise<Observed> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name.toLowerCase()] = value));
  return { status: response.status, headers, body: new Uint8Array(await response.arrayBuffer()) };
}

export async function runConformance(options: ConformanceOptions): Promise<Check[]> {
  const doFetch = options.fetch ?? fetch;
  const base = options.origin.replace(/\/+$/, "");
  const tokens = createTokenMinter(options.secret, options.now);
  const checks: Check[] = [];

  /** A request that failed at the network level is a failed check, not a crash. */
  async function request(name: string, url: string, init: RequestInit): Promise<Observed | undefined> {
    try {
      return await observe(await doFetch(url, { ...init, redirect: "manual" }));
    } catch (error) {
      checks.push({ name, ok: false, detail: `request failed: ${error instanceof Error ? error.message : String(error)}` });
      return undefined;
    }
  }
  const valuesUrl = (key: string) => `${base}${VALUES_PATH}${encodeURIComponent(key)}`;
  const getValue = (name: string, key: string, token: string | undefined) =>
    request(name, valuesUrl(key), { headers: token === undefined ? {} : { [EDGE_TOKEN_HEADER]: token } });

  // 1. The values endpoint's token checks (docs/integrate.md §6.1).
  const probe = valuesUrl(options.keys[0] ?? PROBE_KEY);
  const probeKey = options.keys[0] ?? PROBE_KEY;
  const now = Math.floor(options.now());
  const refusals: [string, Promise<string | undefined>, 401 | 403][] = [
    ["values: refuses a request without a token", Promise.resolve(undefined), 401],
    ["values: refuses an expired values token", tokens.values({ iat: now - EXPIRED_BY_SECONDS - 300, exp: now - EXPIRED_BY_SECONDS }), 403],
    ["values: refuses a proxy-audience token (even one bound to this path)", tokens.proxy("GET", probe), 403],
    ["values: refuses a token signed with another secret", tokens.values({}, `${options.secret}-not-the-origin-secret`), 403],
  ];
  for (const [name, token, expected] of refusals) {
    const observed = await getValue(name, probeKey, await token);
    if (observed !== undefined) checks.push(checkRefused(name, observed, expected));
  }
  const accepted = await getValue("values: accepts a valid values token", probeKey, await tokens.values());
  if (accepted !== undefined) checks.push(checkAccepted("values: accepts a valid values token", accepted));

  // 2. Each key's value (§6.2).
  for (const key of options.keys) {
    const observed = await getValue(`value ${key}`, key, await tokens.values());
    if (observed !== undefined) checks.push(await checkValue(key, observed, options.now()));
  }

  // 3. Each delegate route (§6.3): a document only for a bound proxy token.
  for (const route of options.delegates) {
    const target = `${base}${route.path}`;
    const label = `${route.method} ${route.path}`;
    const send = (name: string, token: string | undefined) => {
      const headers = new Headers(options.headers);
      if (route.body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
      if (token !== undefined) headers.set(EDGE_TOKEN_HEADER, token);
      return request(name, target, { method: route.method, headers, ...(route.body === undefined ? {} : { body: route.body }) });
    };

    const boundName = `delegate ${label}: delegates to a proxy token bound to it`;
    const boundToken = await tokens.proxy(route.method, target);
    const bound = await send(boundName, boundToken);
    if (bound !== undefined) {
      const delegation = delegationOf(bound, String(decodeJwt(boundToken).jti));
      if (!delegation.ok) checks.push({ name: boundName, ok: false, detail: delegation.problem });
      else {
        checks.push({ name: boundName, ok: true, detail: `${bound.status} ${delegation.delegation.key}` });
        const renderName = `delegate ${label}: the document validates and renders`;
        const template = await getValue(renderName, delegation.delegation.key, await tokens.values());
        if (template !== undefined) checks.push(await checkRenders(renderName, delegation.delegation, template, options.now()));
      }
    }
    const otherMethod = route.method === "GET" ? "POST" : "GET";
    const refusals: [string, Promise<string | undefined>][] = [
      [`delegate ${label}: not without a token`, Promise.resolve(undefined)],
      [`delegate ${label}: not with a values token`, tokens.values()],
      [`delegate ${label}: not with a proxy token for another path`, tokens.proxy(route.method, `${base}${OTHER_PATH}`)],
      [`delegate ${label}: not with a proxy token for another method`, tokens.proxy(otherMethod, target)],
      [`delegate ${label}: not with an expired proxy token`, tokens.proxy(route.method, target, { iat: now - EXPIRED_BY_SECONDS - 60, exp: now - EXPIRED_BY_SECONDS })],
    ];
    for (const [name, token] of refusals) {
      const observed = await send(name, await token);
      if (observed !== undefined) checks.push(checkNotDelegated(name, observed));
    }
  }
  return checks;
}
