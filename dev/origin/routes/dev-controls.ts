/**
 * `/__dev/…`: fill counters, fault injection and the log of tokens seen, for tests (see
 * ../controls.ts). Every control, `health` included, needs `Authorization: Bearer
 * <DEV_CONTROL_SECRET>`: the edge forwards any path to this origin, and it does not hold the
 * secret, so no client reaches a control through the edge. Without the secret configured,
 * controls are off (403).
 */
import { armMatch, clearFault, disarmMatch, fillCount, parseFaultRequest, resetCounter, seenFor, setFault } from "../controls";

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
