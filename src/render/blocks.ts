/**
 * The block format of `journeys:external:{uid}` and `interactive_prompts:external:{uid}`
 * (catalog/blocks-spec.md §1.1, §2.2, §3.2): a sequence of `u32-BE length | 1-byte type | value`
 * with no header and no terminator. Type 1 is copied through; the others are markers.
 *
 * Everything here is pure: a whole-value validator, and an incremental walker that turns
 * arbitrary chunks into copy/marker events for the stream in `stream.ts`.
 */

export type BlockKind = "journey" | "prompt";

export const BLOCK_HEADER_BYTES = 5; // u32 length + type byte (blocks-spec §1.1)

export const BLOCK_COPY = 1;
/** Journeys: 2 journey JWT (caller's), 3 image JWT, 4 content JWT, 5 transcript JWT (§2.3). */
export const JOURNEY_MARKERS = [2, 3, 4, 5] as const;
/** Prompts: 2 session uid, 3 prompt JWT (§3.3). */
export const PROMPT_MARKERS = [2, 3] as const;

/**
 * Marker values are uids (§1.3, `oseh_<prefix>_` + `token_urlsafe(16)`, ~30 bytes). A generous
 * cap keeps the stream's marker buffer bounded however corrupt the length field is.
 */
export const MAX_MARKER_VALUE_BYTES = 255;

/**
 * Uids are spliced raw into JSON strings and JWT payloads (§1.3), so anything outside the
 * url-safe alphabet would break the body; the backend never produces such a uid.
 */
const UID_PATTERN = /^oseh_[A-Za-z0-9_-]+$/;

export type RenderFailureReason =
  | "empty" // a stored value always has at least one block (§2.2, §3.2)
  | "truncated" // a header or a value runs past the end of the input
  | "unknown_type" // type byte outside 1–5
  | "foreign_type" // a known marker type that the family does not use (prompt types 4, 5)
  | "bad_marker"; // marker value not what the family stores (empty / uid)

export interface RenderFailure {
  readonly reason: RenderFailureReason;
  /** Byte offset in the stored value of the block header (or of the end, for `truncated`). */
  readonly offset: number;
  readonly message: string;
}

export type ValidateResult = { ok: true } | { ok: false; failure: RenderFailure };

function failure(reason: RenderFailureReason, offset: number, message: string): RenderFailure {
  return { reason, offset, message };
}

/** Checks a block header as soon as it is read: type known for the family, marker length sane. */
export function checkBlockHeader(kind: BlockKind, type: number, length: number, offset: number): RenderFailure | null {
  if (type === BLOCK_COPY) return null;
  if (type < 1 || type > 5) {
    return failure("unknown_type", offset, `unknown block type ${type} at offset ${offset}`);
  }
  if (kind === "prompt" && type > 3) {
    return failure("foreign_type", offset, `block type ${type} at offset ${offset} is a journey marker, not a prompt marker`);
  }
  // Journey type 2 and both prompt markers carry no value (§2.2 "A type-2 block has length 0", §3.2).
  const mustBeEmpty = type === 2 || kind === "prompt";
  if (mustBeEmpty && length !== 0) {
    return failure("bad_marker", offset, `marker type ${type} at offset ${offset} must be empty, has length ${length}`);
  }
  if (!mustBeEmpty && (length === 0 || length > MAX_MARKER_VALUE_BYTES)) {
    return failure("bad_marker", offset, `marker type ${type} at offset ${offset} has length ${length}, expected a uid`);
  }
  return null;
}

/** Checks a complete uid marker value (journey types 3–5). */
export function checkMarkerValue(type: number, value: Uint8Array, offset: number): { ok: true; uid: string } | { ok: false; failure: RenderFailure } {
  let uid = "";
  for (let i = 0; i < value.length; i++) uid += String.fromCharCode(value[i] as number);
  if (!UID_PATTERN.test(uid)) {
    return { ok: false, failure: failure("bad_marker", offset, `marker type ${type} at offset ${offset} is not a uid`) };
  }
  return { ok: true, uid };
}

function readU32(bytes: Uint8Array, at: number): number {
  return (
    (((bytes[at] as number) << 24) >>> 0) +
    ((bytes[at + 1] as number) << 16) +
    ((bytes[at + 2] as number) << 8) +
    (bytes[at + 3] as number)
  );
}

/**
 * Validates the whole framing of a stored value before any byte is sent (DESIGN §5): the backend
 * raises mid-stream on an unknown type (§1.1) and so sends a truncated 200; the edge refuses the
 * value up front instead.
 */
export function validateBlocks(bytes: Uint8Array, kind: BlockKind): ValidateResult {
  if (bytes.length === 0) return { ok: false, failure: failure("empty", 0, "empty value") };
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < BLOCK_HEADER_BYTES) {
      return { ok: false, failure: failure("truncated", at, `block header at offset ${at} is truncated`) };
    }
    const length = readU32(bytes, at);
    const type = bytes[at + 4] as number;
    const headerFailure = checkBlockHeader(kind, type, length, at);
    if (headerFailure !== null) return { ok: false, failure: headerFailure };
    const end = at + BLOCK_HEADER_BYTES + length;
    if (end > bytes.length) {
      return {
        ok: false,
        failure: failure("truncated", at, `block at offset ${at} declares ${length} bytes, ${bytes.length - at - BLOCK_HEADER_BYTES} remain`),
      };
    }
    if (type !== BLOCK_COPY && length > 0) {
      const checked = checkMarkerValue(type, bytes.subarray(at + BLOCK_HEADER_BYTES, end), at);
      if (!checked.ok) return checked;
    }
    at = end;
  }
  return { ok: true };
}

/** One step of a walk: bytes to copy through, or a marker to replace (uid is "" for empty markers). */
export type BlockEvent = { type: "copy"; bytes: Uint8Array } | { type: "marker"; marker: number; uid: string; offset: number };

export type WalkResult = { ok: true; events: BlockEvent[] } | { ok: false; failure: RenderFailure };

/**
 * An incremental walker over chunks split anywhere (a header may straddle chunks). Copy bytes
 * are handed out as views of the incoming chunk, never accumulated, so memory stays bounded by
 * the chunk size plus one header and one marker value.
 */
export interface BlockWalker {
  push(chunk: Uint8Array): WalkResult;
  /** Call at end of input: a clean end is only between blocks. */
  finish(): { ok: true } | { ok: false; failure: RenderFailure };
}

export function createBlockWalker(kind: BlockKind): BlockWalker {
  const header = new Uint8Array(BLOCK_HEADER_BYTES);
  let headerFilled = 0;
  /** Offset of the current block's header in the whole value. */
  let blockOffset = 0;
  /** Bytes consumed so far. */
  let position = 0;
  let type = 0;
  let remaining = 0; // value bytes of the current block still to read
  let inValue = false;
  let marker: Uint8Array | null = null;
  let markerFilled = 0;
  let failed: RenderFailure | null = null;

  function fail(f: RenderFailure): { ok: false; failure: RenderFailure } {
    failed = f;
    return { ok: false, failure: f };
  }

  function endOfValue(events: BlockEvent[]): RenderFailure | null {
    if (type !== BLOCK_COPY) {
      if (marker === null || marker.length === 0) {
        events.push({ type: "marker", marker: type, uid: "", offset: blockOffset });
      } else {
        const checked = checkMarkerValue(type, marker, blockOffset);
        if (!checked.ok) return checked.failure;
        events.push({ type: "marker", marker: type, uid: checked.uid, offset: blockOffset });
      }
    }
    inValue = false;
    marker = null;
    headerFilled = 0;
    blockOffset = position;
    return null;
  }

  return {
    push(chunk) {
      if (failed !== null) return { ok: false, failure: failed };
      const events: BlockEvent[] = [];
      let i = 0;
      while (i < chunk.length) {
        if (!inValue) {
          const take = Math.min(BLOCK_HEADER_BYTES - headerFilled, chunk.length - i);
          header.set(chunk.subarray(i, i + take), headerFilled);
          headerFilled += take;
          i += take;
          position += take;
          if (headerFilled < BLOCK_HEADER_BYTES) break;
          remaining = readU32(header, 0);
          type = header[4] as number;
          const headerFailure = checkBlockHeader(kind, type, remaining, blockOffset);
          if (headerFailure !== null) return fail(headerFailure);
          inValue = true;
          if (type !== BLOCK_COPY) {
            marker = new Uint8Array(remaining);
            markerFilled = 0;
          }
          if (remaining === 0) {
            const f = endOfValue(events);
            if (f !== null) return fail(f);
          }
          continue;
        }
        const take = Math.min(remaining, chunk.length - i);
        if (type === BLOCK_COPY) {
          events.push({ type: "copy", bytes: chunk.subarray(i, i + take) });
        } else if (marker !== null) {
          marker.set(chunk.subarray(i, i + take), markerFilled);
          markerFilled += take;
        }
        i += take;
        position += take;
        remaining -= take;
        if (remaining === 0) {
          const f = endOfValue(events);
          if (f !== null) return fail(f);
        }
      }
      return { ok: true, events };
    },
    finish() {
      if (failed !== null) return { ok: false, failure: failed };
      if (position === 0) return fail(failure("empty", 0, "empty value"));
      if (inValue || headerFilled > 0) {
        return fail(
          failure(
            "truncated",
            blockOffset,
            inValue
              ? `block at offset ${blockOffset} ends ${remaining} bytes early`
              : `block header at offset ${blockOffset} is truncated`,
          ),
        );
      }
      return { ok: true };
    },
  };
}
