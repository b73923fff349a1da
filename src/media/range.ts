/**
 * Byte ranges (RFC 9110 §14), pure: a `Range` header and an object's size in, the plan of the
 * answer out (status, headers, and the body as a list of literal bytes and object slices). The
 * plan is the same whatever tier the bytes come from; callers only supply the slices.
 *
 * The backend's dormant range code (`content_files/lib/serve_s3_file.py`) fixes the policy where
 * its answer is valid HTTP; its bugs are not copied (docs/routes.md §Media lists each):
 * - a header that is not `bytes=…` or has bad syntax is ignored (200 with the whole object);
 * - ten or more comma-separated ranges are ignored, as the backend does;
 * - ranges that cannot be satisfied are dropped; if none is left the header is ignored (the
 *   backend's 200, which RFC 9110 allows in place of 416);
 * - ranges are sorted and overlapping ones merged (against the *last* kept range), and one
 *   covering the whole object is answered 200, as the backend does for `bytes=0-`;
 * - a 206 carries the length of what it sends; multipart parts use CRLF.
 */

import type { ByteRange } from "../storage";

/** The backend's fixed boundary (serve_s3_file.py), kept so the parts look the same. */
export const MULTIPART_BOUNDARY = "3d6b6a416f9b5";

/** `split(",", 10)` yielding ten or more pieces → the backend ignores the header. */
export const MAX_RANGES = 9;

/** Digits only (RFC 9110 §14.1.1 `1*DIGIT`). Huge values parse to huge (or infinite) numbers,
 * which are simply unsatisfiable or clamped, as the RFC wants. */
const POSITION = /^\d+$/;

/** A satisfiable range, resolved against the object's size: a slice with its length. */
export type ResolvedRange = Required<ByteRange>;

/** The range's last byte, inclusive (as `Content-Range` writes it). */
const lastOf = (range: ResolvedRange): number => range.offset + range.length - 1;

/** A spec as written: `first-last`, `first-` (open) or `-suffix`. */
export type RangeSpec = { kind: "bounded"; first: number; last: number } | { kind: "open"; first: number } | { kind: "suffix"; length: number };

export type ParsedRange = { ok: true; specs: RangeSpec[] } | { ok: false; reason: string };

/** Pure: the specs of a `Range` header, or why it is ignored. */
export function parseRangeHeader(header: string): ParsedRange {
  const eq = header.indexOf("=");
  if (eq < 0) return { ok: false, reason: "no '='" };
  // RFC 9110 §14.1: units are case-insensitive; the backend compares `strip() == "bytes"`.
  if (header.slice(0, eq).trim().toLowerCase() !== "bytes") return { ok: false, reason: "not a bytes range" };
  const pieces = header.slice(eq + 1).split(",");
  if (pieces.length > MAX_RANGES) return { ok: false, reason: `${pieces.length} ranges (the backend ignores ten or more)` };
  const specs: RangeSpec[] = [];
  for (const raw of pieces) {
    // OWS around list elements only (RFC 9110 §5.6.1); none inside a range-spec.
    const piece = raw.replace(/^[ \t]+|[ \t]+$/g, "");
    const dash = piece.indexOf("-");
    if (dash < 0) return { ok: false, reason: "a range without '-'" };
    const first = piece.slice(0, dash);
    const last = piece.slice(dash + 1);
    if (first === "") {
      if (!POSITION.test(last)) return { ok: false, reason: "bad suffix length" };
      specs.push({ kind: "suffix", length: Number(last) });
    } else if (!POSITION.test(first)) {
      return { ok: false, reason: "bad first position" };
    } else if (last === "") {
      specs.push({ kind: "open", first: Number(first) });
    } else if (!POSITION.test(last)) {
      return { ok: false, reason: "bad last position" };
    } else {
      // RFC 9110 §14.1.1: last < first is invalid, and so the whole header is (the backend too).
      if (Number(last) < Number(first)) return { ok: false, reason: "last position before first" };
      specs.push({ kind: "bounded", first: Number(first), last: Number(last) });
    }
  }
  return { ok: true, specs };
}

/** Pure: the satisfiable ranges of `specs` for an object of `size` bytes, sorted and merged. */
export function resolveRanges(specs: readonly RangeSpec[], size: number): ResolvedRange[] {
  const between = (first: number, last: number): ResolvedRange => ({ offset: first, length: last - first + 1 });
  const ranges: ResolvedRange[] = [];
  for (const spec of specs) {
    switch (spec.kind) {
      case "bounded":
        if (spec.first < size) ranges.push(between(spec.first, Math.min(spec.last, size - 1)));
        break;
      case "open":
        if (spec.first < size) ranges.push(between(spec.first, size - 1));
        break;
      case "suffix":
        // A zero-length suffix selects nothing (RFC 9110 §14.1.3).
        if (spec.length > 0 && size > 0) ranges.push(between(Math.max(0, size - spec.length), size - 1));
        break;
      default:
        return spec satisfies never;
    }
  }
  ranges.sort((a, b) => a.offset - b.offset);
  const merged: ResolvedRange[] = [];
  for (const range of ranges) {
    const last = merged[merged.length - 1];
    // Overlapping ranges merge into the last kept one (the backend compared with the first).
    if (last !== undefined && range.offset <= lastOf(last)) last.length = Math.max(lastOf(last), lastOf(range)) - last.offset + 1;
    else merged.push({ ...range });
  }
  return merged;
}

/** A piece of the answer's body: literal bytes (multipart framing) or a slice of the object. */
export type BodyPart = { kind: "literal"; bytes: Uint8Array } | ({ kind: "slice" } & ResolvedRange);

export interface RangePlan {
  status: 200 | 206;
  /** In the backend's order: Content-Type, Content-Length, Accept-Ranges, then Content-Range. */
  headers: Array<readonly [string, string]>;
  /** Slices in increasing offset order, so one forward pass over the object can serve them. */
  body: BodyPart[];
  /** Sum of the parts; equals the Content-Length header. */
  length: number;
  /** Why a Range header was not honoured, for logs; undefined when there was none or it was. */
  ignored?: string;
}

const encoder = new TextEncoder();

/** `serve_s3_file`'s headers, in its order; a single range adds Content-Range last. */
function headersOf(contentType: string, length: number, contentRange?: string): Array<readonly [string, string]> {
  const headers: Array<readonly [string, string]> = [
    ["Content-Type", contentType],
    ["Content-Length", String(length)],
    ["Accept-Ranges", "bytes"],
  ];
  if (contentRange !== undefined) headers.push(["Content-Range", contentRange]);
  return headers;
}

function wholePlan(contentType: string, size: number, ignored?: string): RangePlan {
  return {
    status: 200,
    headers: headersOf(contentType, size),
    body: size === 0 ? [] : [{ kind: "slice", offset: 0, length: size }],
    length: size,
    ...(ignored === undefined ? {} : { ignored }),
  };
}

export interface PlanOptions {
  /** The request's `Range`, or null. */
  range: string | null;
  /** The request's `If-Range`, or null. */
  ifRange: string | null;
  contentType: string;
  size: number;
}

/** Pure: what to answer for a GET of an object of `size` bytes. */
export function planRangeResponse(options: PlanOptions): RangePlan {
  const { range, contentType, size } = options;
  if (range === null) return wholePlan(contentType, size);
  // These answers carry no validator, so an If-Range can never match: RFC 9110 §13.1.5 says to
  // ignore Range then.
  if (options.ifRange !== null) return wholePlan(contentType, size, "If-Range cannot match (no validators)");
  const parsed = parseRangeHeader(range);
  if (!parsed.ok) return wholePlan(contentType, size, parsed.reason);
  const ranges = resolveRanges(parsed.specs, size);
  const only = ranges[0];
  if (only === undefined) return wholePlan(contentType, size, "no satisfiable range");
  if (ranges.length === 1 && only.offset === 0 && only.length === size) return wholePlan(contentType, size, "the whole object");
  if (ranges.length === 1) {
    return {
      status: 206,
      headers: headersOf(contentType, only.length, `bytes ${only.offset}-${lastOf(only)}/${size}`),
      body: [{ kind: "slice", ...only }],
      length: only.length,
    };
  }
  const body: BodyPart[] = [];
  ranges.forEach((r, i) => {
    // RFC 9110 §14.6 / RFC 2046 §5.1.1: the CRLF before a delimiter belongs to the delimiter.
    const head = `${i === 0 ? "" : "\r\n"}--${MULTIPART_BOUNDARY}\r\nContent-Type: ${contentType}\r\nContent-Range: bytes ${r.offset}-${lastOf(r)}/${size}\r\n\r\n`;
    body.push({ kind: "literal", bytes: encoder.encode(head) }, { kind: "slice", ...r });
  });
  body.push({ kind: "literal", bytes: encoder.encode(`\r\n--${MULTIPART_BOUNDARY}--\r\n`) });
  const length = body.reduce((n, part) => n + (part.kind === "literal" ? part.bytes.length : part.length), 0);
  return {
    status: 206,
    headers: headersOf(`multipart/byteranges; boundary=${MULTIPART_BOUNDARY}`, length),
    body,
    length,
  };
}
