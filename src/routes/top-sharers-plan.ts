/**
 * `POST /api/1/admin/journey_share_links/top_sharers` (docs/block-format.md §6;
 * `admin/journey_share_links/routes/read_top_sharers.py`): the pure part — body → key dates.
 *
 * - Body `{"start_date": "YYYY-MM-DD"|null, "end_date": "YYYY-MM-DD"|null}`, both optional,
 *   extra fields ignored (pydantic). A body FastAPI would refuse (422) and a date
 *   `fromisoformat` would refuse (500) are the origin's to answer: pass through.
 * - latest = today_LA − 1; end = min(end_date, latest) or latest; start = min(start_date, latest)
 *   or `None` (spelled so in the key).
 * - start ≥ end: an uncompressed `{"top_sharers":[],"checked_at":…}` that is never cached —
 *   pass through.
 */
import { laUnixDate } from "../keys/la-time";
import { PYTHON_NONE } from "../keys/params";
import { parseStrictIsoDate } from "./query";
import { isJsonContentType } from "./request-body";

/** Admin request bodies are tiny; anything larger is not one the edge needs to understand. */
export const MAX_TOP_SHARERS_BODY_BYTES = 4096;

export type TopSharersPlan =
  | { kind: "serve"; values: readonly [start: string, end: string] }
  | { kind: "passthrough"; reason: string };

function optionalDate(body: Record<string, unknown>, name: string): { ok: true; value: number | null } | { ok: false } {
  const raw = body[name];
  if (raw === undefined || raw === null) return { ok: true, value: null };
  if (typeof raw !== "string") return { ok: false }; // Optional[str] refuses numbers (422)
  const date = parseStrictIsoDate(raw);
  return date === undefined ? { ok: false } : { ok: true, value: date };
}

/** Pure: which `journey_share_links:top_sharers:{start}:{end}` the backend would read at `now`. */
export function planTopSharers(bodyText: string, contentType: string | null, now: number): TopSharersPlan {
  if (!isJsonContentType(contentType)) return { kind: "passthrough", reason: "body is not JSON (FastAPI 422)" };
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return { kind: "passthrough", reason: "body is not JSON (FastAPI 422)" };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { kind: "passthrough", reason: "body is not an object (FastAPI 422)" };
  }
  const record = body as Record<string, unknown>;
  const start = optionalDate(record, "start_date");
  const end = optionalDate(record, "end_date");
  if (!start.ok || !end.ok) return { kind: "passthrough", reason: "date not a strict YYYY-MM-DD string" };

  const latest = laUnixDate(now) - 1;
  const endDate = end.value === null ? latest : Math.min(end.value, latest);
  const startDate = start.value === null ? null : Math.min(start.value, latest);
  if (startDate !== null && startDate >= endDate) {
    return { kind: "passthrough", reason: "start ≥ end answers an uncached empty list" };
  }
  return { kind: "serve", values: [startDate === null ? PYTHON_NONE : String(startDate), String(endDate)] };
}
