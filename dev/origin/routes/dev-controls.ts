/**
 * `/__dev/…`: fill counters, fault injection, the log of tokens seen (../controls.ts), values set
 * in place of the fixtures and gates that hold requests (../state.ts), for tests; docs/origin.md §8
 * is the reference. Every control, `health` included, needs `Authorization: Bearer
 * <DEV_CONTROL_SECRET>`: the edge forwards any path to this origin, and it does not hold the
 * secret, so no client reaches a control through the edge. Without the secret configured,
 * controls are off (403).
 */
import { armMatch, clearFault, disarmMatch, fillCount, parseFaultRequest, resetCounter, seenFor, setFault } from "../controls";
import {
  MAX_GATE_WAIT_MS,
  MAX_OVERRIDE_BYTES,
  clearOverride,
  closeGate,
  gateState,
  openGate,
  overrideFor,
  releaseGate,
  setOverride,
  waitForArrivals,
  type GateHold,
  type GateMatch,
} from "../state";

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json; charset=utf-8" } });
}

/** Constant-time string comparison (the secret must not leak through timing). */
function sameSecret(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** True when the request carries the control bearer (scheme in any case, RFC 9110 §11.1). */
export function hasControlSecret(request: Request, secret: string | undefined): boolean {
  if (secret === undefined || secret === "") return false;
  const match = /^bearer +(.+)$/i.exec(request.headers.get("authorization") ?? "");
  return match !== null && sameSecret(match[1] ?? "", secret);
}

export async function handleDevControls(request: Request, url: URL, secret: string | undefined): Promise<Response> {
  if (!hasControlSecret(request, secret)) return json(403, { type: "forbidden", message: "dev controls need the bearer DEV_CONTROL_SECRET" });
  if (url.pathname.startsWith(VALUES_CONTROL)) return valuesControl(request, url);
  if (url.pathname === GATES_CONTROL || url.pathname.startsWith(`${GATES_CONTROL}/`)) return gatesControl(request, url);
  const key = url.searchParams.get("key");
  switch (`${request.method} ${url.pathname}`) {
    case "GET /__dev/health":
      return json(200, { ok: true });
    case "GET /__dev/counters":
      if (key === null) return json(400, { type: "bad_request", message: "key is required" });
      return json(200, { key, fills: fillCount(key) });
    case "DELETE /__dev/counters":
      if (key === null) return json(400, { type: "bad_request", message: "key is required" });
      resetCounter(key);
      return new Response(null, { status: 204 });
    case "GET /__dev/seen": {
      const target = url.searchParams.get("target");
      if (target === null) return json(400, { type: "bad_request", message: "target (raw path + query) is required" });
      return json(200, { target, requests: seenFor(target) });
    }
    case "POST /__dev/faults": {
      let body: unknown;
      try {
        body = await request.json();
      } catch {
        return json(400, { type: "bad_request", message: "body must be JSON" });
      }
      const parsed = parseFaultRequest(body);
      if (typeof parsed === "string") return json(400, { type: "bad_request", message: parsed });
      if ("match" in parsed) armMatch(parsed.match);
      else setFault(parsed.key, parsed.rule);
      return new Response(null, { status: 204 });
    }
    case "DELETE /__dev/faults": {
      const match = url.searchParams.get("match");
      if (key === null && match === null) return json(400, { type: "bad_request", message: "key or match is required" });
      if (key !== null) clearFault(key);
      if (match !== null) disarmMatch(match);
      return new Response(null, { status: 204 });
    }
    default:
      return json(404, { type: "not_found", message: "unknown dev control" });
  }
}

const VALUES_CONTROL = "/__dev/values/";
const GATES_CONTROL = "/__dev/gates";

/** A body of at most `cap` bytes, or undefined past it (read no further). */
async function readCappedBody(request: Request, cap: number): Promise<Uint8Array | undefined> {
  if (request.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > cap) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/**
 * `/__dev/values/{encodeURIComponent(key)}`: PUT the bytes the origin holds for a key from now on
 * (`X-Edge-Expires-At` as the values endpoint would send it; `X-Dev-Value: absent` with no body:
 * the origin has no such value), DELETE to go back to the fixture, GET what is held.
 */
async function valuesControl(request: Request, url: URL): Promise<Response> {
  let key: string;
  try {
    key = decodeURIComponent(url.pathname.slice(VALUES_CONTROL.length));
  } catch {
    return json(400, { type: "bad_request", message: "the key is not valid percent-encoding" });
  }
  if (key === "") return json(400, { type: "bad_request", message: "a key is required: /__dev/values/{encodeURIComponent(key)}" });
  switch (request.method) {
    case "GET": {
      const held = overrideFor(key);
      if (held === undefined) return json(200, { key, source: "fixture" });
      if (held.kind === "absent") return json(200, { key, source: "override", state: "absent" });
      return json(200, { key, source: "override", state: "value", size: held.bytes.byteLength, ...(held.expiresAt === undefined ? {} : { expiresAt: held.expiresAt }) });
    }
    case "PUT": {
      const expires = request.headers.get("x-edge-expires-at");
      if (expires !== null && !/^\d{1,12}$/.test(expires)) return json(400, { type: "bad_request", message: "X-Edge-Expires-At must be whole unix seconds" });
      const mode = request.headers.get("x-dev-value");
      if (mode !== null && mode !== "absent") return json(400, { type: "bad_request", message: "X-Dev-Value may only be absent" });
      const bytes = await readCappedBody(request, MAX_OVERRIDE_BYTES);
      if (bytes === undefined) return json(413, { type: "too_large", message: `a value may have at most ${MAX_OVERRIDE_BYTES} bytes` });
      if (mode === "absent" && bytes.byteLength > 0) return json(400, { type: "bad_request", message: "X-Dev-Value: absent takes no body" });
      const stored = setOverride(key, mode === "absent" ? { kind: "absent" } : { kind: "value", bytes, ...(expires === null ? {} : { expiresAt: Number(expires) }) });
      if (!stored) return json(507, { type: "insufficient_storage", message: "the dev origin holds too many bytes of values; DELETE some" });
      return new Response(null, { status: 204 });
    }
    case "DELETE":
      clearOverride(key);
      return new Response(null, { status: 204 });
    default:
      return json(405, { type: "method_not_allowed", message: "GET, PUT or DELETE" });
  }
}

function parseGateRequest(body: unknown): { match: GateMatch; times: number; hold: GateHold } | string {
  if (typeof body !== "object" || body === null) return "body must be a JSON object";
  const { key, target, times, hold } = body as { key?: unknown; target?: unknown; times?: unknown; hold?: unknown };
  if ((key === undefined) === (target === undefined)) return "exactly one of key, target is required";
  if (times !== undefined && (typeof times !== "number" || !Number.isInteger(times) || times < 1 || times > 1000)) return "times must be an integer in [1, 1000]";
  if (hold !== undefined && hold !== "request" && hold !== "answer") return "hold must be request or answer";
  // Only the values endpoint makes its answer apart from its route: an answer gate needs a key.
  if (hold === "answer" && key === undefined) return "hold answer needs a key (values-endpoint requests only)";
  const count = times ?? 1;
  const held: GateHold = hold ?? "request";
  if (key !== undefined) return typeof key === "string" && key !== "" ? { match: { key }, times: count, hold: held } : "key must be a non-empty string";
  return typeof target === "string" && target.startsWith("/") ? { match: { target }, times: count, hold: held } : "target must be a path starting with /";
}

/**
 * `POST /__dev/gates` `{key | target, times?, hold?}` opens a gate (201 with its state); `GET
 * /__dev/gates/{id}?arrived=n&waitMs=` its state, after waiting for n arrivals (at most
 * MAX_GATE_WAIT_MS); `POST /__dev/gates/{id}/release` `{count?}` lets held requests go on;
 * `DELETE /__dev/gates/{id}` releases all and closes it.
 */
async function gatesControl(request: Request, url: URL): Promise<Response> {
  const rest = url.pathname.slice(GATES_CONTROL.length);
  if (rest === "" || rest === "/") {
    if (request.method !== "POST") return json(405, { type: "method_not_allowed", message: "POST" });
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return json(400, { type: "bad_request", message: "body must be JSON" });
    }
    const parsed = parseGateRequest(body);
    if (typeof parsed === "string") return json(400, { type: "bad_request", message: parsed });
    return json(201, openGate(parsed.match, parsed.times, parsed.hold));
  }
  const [id = "", action, extra] = rest.slice(1).split("/");
  if (extra !== undefined || (action !== undefined && action !== "release")) return json(404, { type: "not_found", message: "unknown dev control" });
  const unknown = () => json(404, { type: "not_found", message: `no gate ${id}` });
  if (action === "release") {
    if (request.method !== "POST") return json(405, { type: "method_not_allowed", message: "POST" });
    let count: number | undefined;
    const text = await request.text();
    if (text !== "") {
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch {
        return json(400, { type: "bad_request", message: "body must be JSON" });
      }
      const given = (doc as { count?: unknown } | null)?.count;
      if (given !== undefined && (typeof given !== "number" || !Number.isInteger(given) || given < 1)) return json(400, { type: "bad_request", message: "count must be a positive integer" });
      count = given;
    }
    const state = releaseGate(id, count);
    return state === undefined ? unknown() : json(200, state);
  }
  switch (request.method) {
    case "GET": {
      const arrived = url.searchParams.get("arrived");
      const waitMs = url.searchParams.get("waitMs");
      if (arrived !== null && !/^\d{1,4}$/.test(arrived)) return json(400, { type: "bad_request", message: "arrived must be a count" });
      if (waitMs !== null && !/^\d{1,6}$/.test(waitMs)) return json(400, { type: "bad_request", message: "waitMs must be milliseconds" });
      const state = arrived === null ? gateState(id) : await waitForArrivals(id, Number(arrived), waitMs === null ? MAX_GATE_WAIT_MS : Number(waitMs));
      return state === undefined ? unknown() : json(200, state);
    }
    case "DELETE":
      return closeGate(id) ? new Response(null, { status: 204 }) : unknown();
    default:
      return json(405, { type: "method_not_allowed", message: "GET or DELETE" });
  }
}
