/** `/__dev/…`: fill counters and fault injection for tests (see ../controls.ts). */
import { clearFault, fillCount, parseFaultRequest, resetCounter, setFault } from "../controls";

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json; charset=utf-8" } });
}

export async function handleDevControls(request: Request, url: URL): Promise<Response> {
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
    case "POST /__dev/faults": {
      let body: unknown;
      try {
        body = await request.json();
      } catch {
        return json(400, { type: "bad_request", message: "body must be JSON" });
      }
      const parsed = parseFaultRequest(body);
      if (typeof parsed === "string") return json(400, { type: "bad_request", message: parsed });
      setFault(parsed.key, parsed.rule);
      return new Response(null, { status: 204 });
    }
    case "DELETE /__dev/faults":
      if (key === null) return json(400, { type: "bad_request", message: "key is required" });
      clearFault(key);
      return new Response(null, { status: 204 });
    default:
      return json(404, { type: "not_found", message: "unknown dev control" });
  }
}
