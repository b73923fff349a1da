/**
 * A cursor over a message's bytes with big-endian unsigned reads (every integer in the backend's
 * framings is big-endian unsigned). A read past the end answers `undefined` instead of throwing,
 * so decoders stay total.
 */
export class ByteReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.byteLength - this.offset;
  }

  u8(): number | undefined {
    if (this.remaining < 1) return undefined;
    return this.view.getUint8(this.offset++);
  }

  u16(): number | undefined {
    if (this.remaining < 2) return undefined;
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }

  u32(): number | undefined {
    if (this.remaining < 4) return undefined;
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  /** A u64 length; anything past 2^53 cannot be a real length here, so it reads as `undefined`. */
  u64(): number | undefined {
    if (this.remaining < 8) return undefined;
    const value = this.view.getBigUint64(this.offset);
    this.offset += 8;
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(value);
  }

  take(length: number): Uint8Array | undefined {
    if (!Number.isSafeInteger(length) || length < 0 || length > this.remaining) return undefined;
    const out = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  /** A length of the given width, then that many bytes (`len(x).to_bytes(width) + x`). */
  prefixed(width: "u8" | "u16" | "u32" | "u64"): Uint8Array | undefined {
    const length = this[width]();
    return length === undefined ? undefined : this.take(length);
  }

  rest(): Uint8Array {
    const out = this.bytes.subarray(this.offset);
    this.offset = this.bytes.byteLength;
    return out;
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Strict UTF-8, or `undefined`. */
export function utf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Strict ASCII (the backend encodes uids with `.encode("ascii")`), or `undefined`. */
export function ascii(bytes: Uint8Array): string | undefined {
  for (const byte of bytes) if (byte > 0x7f) return undefined;
  return utf8(bytes);
}

/** JSON text as UTF-8 bytes, parsed; `undefined` when either step fails. */
export function json(bytes: Uint8Array): unknown {
  const text = utf8(bytes);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
