/** Response helpers with the backend's exact shapes (docs/block-format.md "Conventions"). */
import { authFailureResponse, type AuthFailure } from "../../../src/auth/bearer";

export const JSON_UTF8 = "application/json; charset=utf-8";

/** `StandardErrorResponse` from `models.py`: `{type, message, markdown}` with a Content-Length. */
export function standardError(status: number, type: string, message: string, extraHeaders: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ type, message, markdown: message }), {
    status,
    headers: { "Content-Type": JSON_UTF8, ...extraHeaders },
  });
}

export function authError(failure: AuthFailure): Response {
  return authFailureResponse(failure);
}

/** FastAPI's default 422 for a body that fails validation (items not byte-matched, docs/block-format.md intro). */
export function validationError(loc: readonly (string | number)[], msg: string): Response {
  return new Response(JSON.stringify({ detail: [{ type: "value_error", loc, msg, input: null }] }), {
    status: 422,
    headers: { "Content-Type": "application/json" },
  });
}

/** Streamed body with no Content-Length, as uvicorn sends the block families (docs/block-format.md §2.8). */
export function streamedBody(parts: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const part = parts[index++];
      if (part === undefined) controller.close();
      else controller.enqueue(part);
    },
  });
}

export async function readJson(request: Request): Promise<{ ok: true; value: unknown } | { ok: false }> {
  const text = await request.text();
  if (text === "") return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

export function stringField(value: unknown, name: string): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const field = (value as Record<string, unknown>)[name];
  return typeof field === "string" ? field : undefined;
}
