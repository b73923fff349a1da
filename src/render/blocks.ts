/**
 * The block format of `journeys:external:{uid}` and `interactive_prompts:external:{uid}`
 * (docs/block-format.md §1.1, §2.2, §3.2): a sequence of `u32-BE length | 1-byte type | value`
 * with no header and no terminator. Type 1 is copied through; the others are markers.
 *
 * Everything here is pure: the whole-value check that compiles a valid value into static runs
 * and marker slots, which the render stream in `stream.ts` splices tokens into.
 */

import { concatBytes } from "../util/bytes";

export type BlockKind = "journey" | "prompt";

export const BLOCK_HEADER_BYTES = 5; // u32 length + type byte (docs/block-format.md §1.1)

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

/** The u32-BE length field of a block header. */
export function readU32(bytes: Uint8Array, at: number): number {
  return (
    (((bytes[at] as number) << 24) >>> 0) +
    ((bytes[at + 1] as number) << 16) +
    ((bytes[at + 2] as number) << 8) +
    (bytes[at + 3] as number)
  );
}

/** A marker of a compiled template: what the render splices in at this point. */
export interface TemplateSlot {
  readonly marker: number;
  /** The uid of journey markers 3–5; "" for empty markers. */
  readonly uid: string;
}

/**
 * A validated template, compiled for rendering: the static byte runs (type-1 values, adjacent
 * blocks joined, headers gone) with the marker slots between them, `runs.length === slots.length
 * + 1`. Rendering copies runs and splices tokens; nothing is walked or decoded again.
 */
export interface CompiledTemplate {
  readonly kind: BlockKind;
  /** Bytes of the stored value it was compiled from. */
  readonly size: number;
  /** Sum of the runs' lengths. */
  readonly staticBytes: number;
  readonly runs: readonly Uint8Array[];
  readonly slots: readonly TemplateSlot[];
}

export type CompileResult = { ok: true; template: CompiledTemplate } | { ok: false; failure: RenderFailure };

const NO_BYTES = new Uint8Array(0);

/** A run is a view of the stored value; only adjacent type-1 blocks are copied into one. */
function joinRun(pieces: readonly Uint8Array[]): Uint8Array {
  return pieces.length === 0 ? NO_BYTES : pieces.length === 1 ? (pieces[0] as Uint8Array) : concatBytes(pieces);
}

/**
 * Validates the whole framing of a stored value before any byte is sent (the backend raises
 * mid-stream on an unknown type and so sends a truncated 200; the edge refuses the value up
 * front instead) and, when it is valid, compiles it. Runs are views of `bytes` (no copy of a
 * large value); the template keeps the stored value alive while it is cached.
 */
export function compileTemplate(bytes: Uint8Array, kind: BlockKind): CompileResult {
  if (bytes.length === 0) return { ok: false, failure: failure("empty", 0, "empty value") };
  const runs: Uint8Array[] = [];
  const slots: TemplateSlot[] = [];
  let pieces: Uint8Array[] = []; // the type-1 values since the last slot
  let staticBytes = 0;
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
    if (type === BLOCK_COPY) {
      if (length > 0) pieces.push(bytes.subarray(at + BLOCK_HEADER_BYTES, end));
      staticBytes += length;
    } else {
      let uid = "";
      if (length > 0) {
        const checked = checkMarkerValue(type, bytes.subarray(at + BLOCK_HEADER_BYTES, end), at);
        if (!checked.ok) return checked;
        uid = checked.uid;
      }
      slots.push({ marker: type, uid });
      runs.push(joinRun(pieces));
      pieces = [];
    }
    at = end;
  }
  runs.push(joinRun(pieces));
  return { ok: true, template: { kind, size: bytes.length, staticBytes, runs, slots } };
}
