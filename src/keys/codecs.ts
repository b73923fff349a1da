/**
 * Value codecs (docs/design.md §2): a pure, synchronous `validate(bytes)` per encoding the backend
 * stores, plus async deep checks for the gzip codecs (the admin PUT path), since inflating is
 * only possible with `DecompressionStream`.
 *
 * `bytes` is an addition to the design's codec list (docs/design.md §2): `s3_files:{uid}` holds raw S3 object bytes (course
 * zips, video parts; A #3), which have no structure to check.
 */
import type { Codec, CodecName, Validation } from "./types";

const OK: Validation = { ok: true };

function fail(reason: string): Validation {
  return { ok: false, reason };
}

/** `fatal` so invalid UTF-8 throws instead of turning into U+FFFD; `ignoreBOM` keeps a BOM visible. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function validateJsonBytes(bytes: Uint8Array): Validation {
  const text = decodeUtf8(bytes);
  if (text === undefined) return fail("not valid UTF-8");
  if (text.charCodeAt(0) === 0xfeff) return fail("starts with a byte order mark");
  try {
    JSON.parse(text);
  } catch {
    return fail("not valid JSON");
  }
  return OK;
}

// --- gzip (RFC 1952) -------------------------------------------------------------------------

const GZIP_ID1 = 0x1f;
const GZIP_ID2 = 0x8b;
const GZIP_CM_DEFLATE = 0x08;
const GZIP_FIXED_HEADER_BYTES = 10;
/** CRC32 + ISIZE. */
const GZIP_TRAILER_BYTES = 8;
/** The shortest deflate stream (an empty final stored/fixed block) is 2 bytes. */
const MIN_DEFLATE_BYTES = 2;
const FLG_FHCRC = 0x02;
const FLG_FEXTRA = 0x04;
const FLG_FNAME = 0x08;
const FLG_FCOMMENT = 0x10;
const FLG_RESERVED = 0xe0;
/** Deflate cannot expand data by more than ~1032:1 (RFC 1951 maximum back-reference ratio). */
const MAX_DEFLATE_RATIO = 1032;
const TWO_POW_32 = 2 ** 32;
/**
 * Deep validation refuses to inflate past this many bytes: the largest stored JSON (stats
 * charts, offerings) is a few hundred KiB, so anything near this is a decompression bomb.
 */
export const MAX_INFLATED_JSON_BYTES = 64 * 1024 * 1024;

/**
 * Structural check of one gzip member: magic, method, flags, optional header fields in bounds,
 * room for a deflate stream, and an ISIZE trailer that the compressed length could produce.
 * (The CRC and the deflate stream itself can only be checked by inflating.)
 */
function validateGzipStructure(bytes: Uint8Array): Validation {
  if (bytes.length < GZIP_FIXED_HEADER_BYTES + MIN_DEFLATE_BYTES + GZIP_TRAILER_BYTES) {
    return fail(`too short for gzip (${bytes.length} bytes)`);
  }
  if (bytes[0] !== GZIP_ID1 || bytes[1] !== GZIP_ID2) return fail("missing gzip magic 1f 8b");
  if (bytes[2] !== GZIP_CM_DEFLATE) return fail("gzip compression method is not deflate (08)");
  const flags = bytes[3] ?? 0;
  if ((flags & FLG_RESERVED) !== 0) return fail("gzip reserved flag bits are set");
  let offset = GZIP_FIXED_HEADER_BYTES;
  const end = bytes.length - GZIP_TRAILER_BYTES;
  if ((flags & FLG_FEXTRA) !== 0) {
    if (offset + 2 > end) return fail("gzip FEXTRA length runs past the end");
    offset += 2 + ((bytes[offset] ?? 0) | ((bytes[offset + 1] ?? 0) << 8));
  }
  for (const flag of [FLG_FNAME, FLG_FCOMMENT]) {
    if ((flags & flag) === 0) continue;
    const nul = bytes.indexOf(0, offset);
    if (nul === -1 || nul >= end) return fail("gzip header string is not terminated");
    offset = nul + 1;
  }
  if ((flags & FLG_FHCRC) !== 0) offset += 2;
  const deflateBytes = end - offset;
  if (deflateBytes < MIN_DEFLATE_BYTES) return fail("gzip header leaves no room for the deflate stream");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const isize = view.getUint32(bytes.length - 4, true);
  // An empty document is never valid JSON, so ISIZE 0 (mod 2^32) means a broken or empty member.
  if (isize === 0) return fail("gzip ISIZE is 0: the member is empty");
  const maxInflated = deflateBytes * MAX_DEFLATE_RATIO + 64;
  if (maxInflated < TWO_POW_32 && isize > maxInflated) {
    return fail(`gzip ISIZE ${isize} is impossible for ${deflateBytes} deflate bytes`);
  }
  return OK;
}

async function inflateGzip(bytes: Uint8Array): Promise<{ ok: true; bytes: Uint8Array } | { ok: false; reason: string }> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > MAX_INFLATED_JSON_BYTES) {
        await reader.cancel();
        return { ok: false, reason: `inflates past ${MAX_INFLATED_JSON_BYTES} bytes` };
      }
      chunks.push(value);
    }
  } catch {
    return { ok: false, reason: "gzip stream is corrupt (inflate failed)" };
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return { ok: true, bytes: out };
}

/**
 * Full check for `gzip-json`: the structure, then inflate (CRC checked by the runtime), compare
 * ISIZE, and parse the JSON. For the admin PUT path; never on the serving path.
 */
export async function validateGzipJsonDeep(bytes: Uint8Array): Promise<Validation> {
  const shallow = validateGzipStructure(bytes);
  if (!shallow.ok) return shallow;
  const inflated = await inflateGzip(bytes);
  if (!inflated.ok) return fail(inflated.reason);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(bytes.length - 4, true) !== inflated.bytes.byteLength % TWO_POW_32) {
    return fail("gzip ISIZE does not match the inflated length (trailing data or several members)");
  }
  const json = validateJsonBytes(inflated.bytes);
  return json.ok ? OK : fail(`inflated value is ${json.reason}`);
}

// --- u64 length prefix (transcripts, top sharers; docs/block-format.md §5, §6) ---------------

const U64_PREFIX_BYTES = 8;

/** Checks the u64-BE prefix equals the remaining length; returns the payload after it. */
function splitU64Prefixed(bytes: Uint8Array): { ok: true; payload: Uint8Array } | { ok: false; reason: string } {
  if (bytes.length < U64_PREFIX_BYTES) return { ok: false, reason: "shorter than the 8-byte u64 length prefix" };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, false);
  const actual = bytes.length - U64_PREFIX_BYTES;
  if (declared !== BigInt(actual)) {
    return { ok: false, reason: `u64 length prefix says ${declared} bytes but ${actual} follow` };
  }
  return { ok: true, payload: bytes.subarray(U64_PREFIX_BYTES) };
}

/** Full check for `u64-gzip-json`: the prefix, then `validateGzipJsonDeep` on the payload. */
export async function validateU64GzipJsonDeep(bytes: Uint8Array): Promise<Validation> {
  const split = splitU64Prefixed(bytes);
  if (!split.ok) return fail(split.reason);
  return validateGzipJsonDeep(split.payload);
}

// --- block stream (docs/block-format.md §1.1) -------------------------------------------------

const BLOCK_HEADER_BYTES = 5;
const MIN_BLOCK_TYPE = 1;
const MAX_BLOCK_TYPE = 5;
const BLOCK_TYPE_TEXT = 1;
/**
 * Marker values (types 2–5) are spliced into the response raw, unescaped (docs/block-format.md §1.3), so
 * they must be uids: url-safe base64 characters only. A longer or stranger marker value would be
 * a corrupt or hostile stream.
 */
const MAX_MARKER_VALUE_BYTES = 255;

function isUidByte(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    byte === 0x5f || // _
    byte === 0x2d // -
  );
}

/** Walks the u32-BE length + type + value framing to a clean end. */
function validateBlocks(bytes: Uint8Array): Validation {
  if (bytes.length === 0) return fail("empty block stream");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  let index = 0;
  while (offset < bytes.length) {
    if (offset + BLOCK_HEADER_BYTES > bytes.length) {
      return fail(`block ${index} at byte ${offset}: truncated header`);
    }
    const length = view.getUint32(offset, false);
    const type = bytes[offset + 4] ?? 0;
    if (type < MIN_BLOCK_TYPE || type > MAX_BLOCK_TYPE) {
      return fail(`block ${index} at byte ${offset}: unknown type ${type}`);
    }
    const valueStart = offset + BLOCK_HEADER_BYTES;
    if (length > bytes.length - valueStart) {
      return fail(`block ${index} at byte ${offset}: value of ${length} bytes runs past the end`);
    }
    if (type !== BLOCK_TYPE_TEXT) {
      if (length > MAX_MARKER_VALUE_BYTES) return fail(`block ${index}: marker value longer than ${MAX_MARKER_VALUE_BYTES}`);
      for (let i = valueStart; i < valueStart + length; i++) {
        if (!isUidByte(bytes[i] ?? 0)) return fail(`block ${index}: marker value is not a uid`);
      }
    }
    offset = valueStart + length;
    index += 1;
  }
  return OK;
}

// --- small scalar codecs ---------------------------------------------------------------------

const ASCII_ZERO = 0x30;
const ASCII_ONE = 0x31;
/** Python `repr(float)` of a finite value: `1700000000.5`, `60.0`, `1.5e-05`, `1e+16`. */
const DECIMAL_FLOAT_PATTERN = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const BYTES32_LENGTH = 32;

function validateFlag(bytes: Uint8Array): Validation {
  if (bytes.length !== 1 || (bytes[0] !== ASCII_ZERO && bytes[0] !== ASCII_ONE)) {
    return fail("a flag is exactly the byte `0` or `1`");
  }
  return OK;
}

function validateText(bytes: Uint8Array): Validation {
  if (bytes.length === 0) return fail("empty text");
  return decodeUtf8(bytes) === undefined ? fail("not valid UTF-8") : OK;
}

function validateFloat(bytes: Uint8Array): Validation {
  const text = decodeUtf8(bytes);
  if (text === undefined || !DECIMAL_FLOAT_PATTERN.test(text)) return fail("not a decimal number");
  return Number.isFinite(Number(text)) ? OK : fail("number is not finite");
}

function defineCodec(name: CodecName, validate: (bytes: Uint8Array) => Validation): Codec {
  return Object.freeze({ name, validate });
}

export const CODECS: Readonly<Record<CodecName, Codec>> = Object.freeze({
  json: defineCodec("json", validateJsonBytes),
  "gzip-json": defineCodec("gzip-json", validateGzipStructure),
  blocks: defineCodec("blocks", validateBlocks),
  "u64-json": defineCodec("u64-json", (bytes) => {
    const split = splitU64Prefixed(bytes);
    return split.ok ? validateJsonBytes(split.payload) : fail(split.reason);
  }),
  "u64-gzip-json": defineCodec("u64-gzip-json", (bytes) => {
    const split = splitU64Prefixed(bytes);
    return split.ok ? validateGzipStructure(split.payload) : fail(split.reason);
  }),
  flag: defineCodec("flag", validateFlag),
  text: defineCodec("text", validateText),
  float: defineCodec("float", validateFloat),
  bytes32: defineCodec("bytes32", (bytes) =>
    bytes.length === BYTES32_LENGTH ? OK : fail(`expected exactly 32 bytes, got ${bytes.length}`),
  ),
  bytes: defineCodec("bytes", () => OK),
});

/**
 * Everything a writer's value can be checked for before it is stored: the codec's sync check,
 * then, for the gzip codecs, a full inflate and parse. Use on the admin PUT path.
 */
export async function validateValueDeep(codec: Codec, bytes: Uint8Array): Promise<Validation> {
  const shallow = codec.validate(bytes);
  if (!shallow.ok) return shallow;
  switch (codec.name) {
    case "gzip-json":
      return validateGzipJsonDeep(bytes);
    case "u64-gzip-json":
      return validateU64GzipJsonDeep(bytes);
    case "json":
    case "blocks":
    case "u64-json":
    case "flag":
    case "text":
    case "float":
    case "bytes32":
    case "bytes":
      return OK;
    default:
      return codec.name satisfies never;
  }
}
