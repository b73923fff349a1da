import { describe, expect, it } from "vitest";
import { CODECS, FAMILIES, validateGzipJsonDeep, validateU64GzipJsonDeep, validateValueDeep } from "../../src/keys";
import type { CodecName } from "../../src/keys";
import { base64ToBytes, loadBlocksVectors } from "../helpers/vectors";

const utf8 = new TextEncoder();

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function u64be(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), false);
  return out;
}

function block(type: number, value: Uint8Array | string): Uint8Array {
  const v = typeof value === "string" ? utf8.encode(value) : value;
  const head = new Uint8Array(5);
  new DataView(head.buffer).setUint32(0, v.length, false);
  head[4] = type;
  return concat(head, v);
}

async function gzip(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function check(codec: CodecName, value: Uint8Array): boolean {
  return CODECS[codec].validate(value).ok;
}

function reasonOf(codec: CodecName, value: Uint8Array): string {
  const result = CODECS[codec].validate(value);
  return result.ok ? "ok" : result.reason;
}

function vector(id: string): Record<string, unknown> {
  const found = loadBlocksVectors().vectors.find((v: { id: string }) => v.id === id) as Record<string, unknown> | undefined;
  if (found === undefined) throw new Error(`no vector ${id}`);
  return found;
}

describe("every family's codec", () => {
  it("is one of CODECS, by identity", () => {
    for (const family of FAMILIES) expect(CODECS[family.codec.name]).toBe(family.codec);
  });

  it("never throws, whatever the bytes", () => {
    const samples = [new Uint8Array(0), bytes(0), bytes(0xff, 0xfe), bytes(0x1f, 0x8b), new Uint8Array(64).fill(0xff)];
    for (const codec of Object.values(CODECS)) {
      for (const sample of samples) expect(() => codec.validate(sample)).not.toThrow();
    }
  });

  it("validates subarrays at an offset (views into a larger buffer)", () => {
    const big = concat(bytes(9, 9, 9), utf8.encode('{"a":1}'), bytes(9));
    expect(check("json", big.subarray(3, 10))).toBe(true);
    const prefixed = concat(bytes(7, 7), u64be(2), utf8.encode("[]"));
    expect(check("u64-json", prefixed.subarray(2))).toBe(true);
  });
});

describe("json", () => {
  it("accepts UTF-8 JSON", () => {
    expect(check("json", utf8.encode('{"labels":["2024-01-01"],"values":[1]}'))).toBe(true);
    expect(check("json", utf8.encode('{"word":"café 😴"}'))).toBe(true);
    expect(check("json", utf8.encode("null"))).toBe(true);
  });

  it.each([
    ["empty", new Uint8Array(0)],
    ["not JSON", utf8.encode("{labels:")],
    ["invalid UTF-8", bytes(0x22, 0xc3, 0x28, 0x22)],
    ["lone surrogate (CESU)", bytes(0x22, 0xed, 0xa0, 0x80, 0x22)],
    ["BOM", concat(bytes(0xef, 0xbb, 0xbf), utf8.encode("{}"))],
    ["trailing garbage", utf8.encode("{} x")],
  ])("rejects %s", (_, value) => {
    expect(check("json", value)).toBe(false);
  });
});

describe("gzip-json", () => {
  it("accepts gzip of JSON (the top sharers vector and a fresh one)", async () => {
    const member = base64ToBytes(String(vector("top-sharers-all-time")["gzip_member_b64"]));
    expect(check("gzip-json", member)).toBe(true);
    expect(await validateGzipJsonDeep(member)).toEqual({ ok: true });
    const fresh = await gzip(utf8.encode(JSON.stringify({ labels: ["2024-01-01"], created: [1] })));
    expect(check("gzip-json", fresh)).toBe(true);
    expect(await validateGzipJsonDeep(fresh)).toEqual({ ok: true });
  });

  it("rejects bad headers and impossible trailers synchronously", async () => {
    const good = await gzip(utf8.encode("[1,2,3]"));
    expect(reasonOf("gzip-json", utf8.encode('{"a":1}'))).toMatch(/too short|magic/);
    expect(reasonOf("gzip-json", utf8.encode('{"a":1,"b":2,"c":3,"d":4}'))).toMatch(/magic/);
    const wrongMethod = good.slice();
    wrongMethod[2] = 0x07;
    expect(reasonOf("gzip-json", wrongMethod)).toMatch(/deflate/);
    const reserved = good.slice();
    reserved[3] = 0x80;
    expect(reasonOf("gzip-json", reserved)).toMatch(/reserved/);
    // FNAME set, but no NUL terminator before the trailer.
    const unterminatedName = concat(good.subarray(0, 3), bytes(0x08), new Uint8Array(6), new Uint8Array(12).fill(0x41));
    expect(reasonOf("gzip-json", unterminatedName)).toMatch(/not terminated/);
    const zeroSize = good.slice();
    zeroSize.fill(0, zeroSize.length - 4);
    expect(reasonOf("gzip-json", zeroSize)).toMatch(/ISIZE is 0/);
    const hugeSize = good.slice();
    new DataView(hugeSize.buffer).setUint32(hugeSize.length - 4, 100_000_000, true);
    expect(reasonOf("gzip-json", hugeSize)).toMatch(/impossible/);
    expect(check("gzip-json", good.subarray(0, 12))).toBe(false);
  });

  it("deep check catches a corrupt stream, a bad CRC, non-JSON and trailing data", async () => {
    const good = await gzip(utf8.encode('{"stats":[1,2,3,4,5,6,7,8,9]}'));
    const badCrc = good.slice();
    badCrc[badCrc.length - 8] = (badCrc[badCrc.length - 8] ?? 0) ^ 0xff;
    expect((await validateGzipJsonDeep(badCrc)).ok).toBe(false);
    const corrupt = good.slice();
    corrupt.fill(0xff, 10, 14);
    expect((await validateGzipJsonDeep(corrupt)).ok).toBe(false);
    const notJson = await gzip(utf8.encode("not json"));
    expect(check("gzip-json", notJson)).toBe(true);
    const notJsonResult = await validateGzipJsonDeep(notJson);
    expect(notJsonResult.ok).toBe(false);
    if (!notJsonResult.ok) expect(notJsonResult.reason).toMatch(/JSON/);
    const twoMembers = concat(good, good);
    expect((await validateGzipJsonDeep(twoMembers)).ok).toBe(false);
  });
});

describe("blocks", () => {
  it("accepts every golden block stream", () => {
    for (const v of loadBlocksVectors().vectors) {
      if (typeof v.cached_bytes_b64 !== "string" || !String(v.family).endsWith(":external")) continue;
      expect(CODECS.blocks.validate(base64ToBytes(v.cached_bytes_b64)), v.id).toEqual({ ok: true });
    }
  });

  it("accepts empty text blocks and empty markers", () => {
    expect(check("blocks", concat(block(1, ""), block(2, ""), block(3, "oseh_if_a-b_C"), block(1, "}")))).toBe(true);
  });

  it.each([
    ["an empty stream", new Uint8Array(0)],
    ["a truncated header", concat(block(1, "{"), bytes(0, 0, 0))],
    ["type 0", block(0, "x")],
    ["type 6", block(6, "x")],
    ["a value running past the end", concat(block(1, "{"), bytes(0, 0, 0, 9, 1), utf8.encode("abc"))],
    ["a length of 2^32-1", bytes(0xff, 0xff, 0xff, 0xff, 1)],
    ["a marker that is not a uid", block(4, 'oseh_cf_"};alert(1)')],
    ["an over-long marker", block(5, "a".repeat(256))],
  ])("rejects %s", (_, value) => {
    expect(check("blocks", value)).toBe(false);
  });
});

describe("u64-json", () => {
  it("accepts the transcript vectors", () => {
    for (const id of ["transcript-basic", "transcript-single-phrase"]) {
      expect(CODECS["u64-json"].validate(base64ToBytes(String(vector(id)["cached_bytes_b64"])))).toEqual({ ok: true });
    }
  });

  it.each([
    ["shorter than the prefix", bytes(0, 0, 0)],
    ["a prefix that is too large", concat(u64be(10), utf8.encode("{}"))],
    ["a prefix that is too small", concat(u64be(1), utf8.encode("{}"))],
    ["a prefix beyond 2^53", concat(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), utf8.encode("{}"))],
    ["a bare blob without prefix", utf8.encode('{"uid":"oseh_t_x","phrases":[]}')],
    ["a non-JSON blob", concat(u64be(3), utf8.encode("{{{"))],
  ])("rejects %s", (_, value) => {
    expect(check("u64-json", value)).toBe(false);
  });
});

describe("u64-gzip-json", () => {
  it("accepts the top sharers vectors, shallow and deep", async () => {
    for (const id of ["top-sharers-all-time", "top-sharers-range-empty"]) {
      const value = base64ToBytes(String(vector(id)["cached_bytes_b64"]));
      expect(CODECS["u64-gzip-json"].validate(value), id).toEqual({ ok: true });
      expect(await validateU64GzipJsonDeep(value), id).toEqual({ ok: true });
      expect(await validateValueDeep(CODECS["u64-gzip-json"], value), id).toEqual({ ok: true });
    }
  });

  it("rejects a wrong prefix, a bare gzip member and gzip of non-JSON", async () => {
    const member = base64ToBytes(String(vector("top-sharers-all-time")["gzip_member_b64"]));
    expect(check("u64-gzip-json", member)).toBe(false);
    expect(check("u64-gzip-json", concat(u64be(member.length + 1), member))).toBe(false);
    const notJson = await gzip(utf8.encode("nope"));
    const prefixed = concat(u64be(notJson.length), notJson);
    expect(check("u64-gzip-json", prefixed)).toBe(true);
    expect((await validateU64GzipJsonDeep(prefixed)).ok).toBe(false);
    expect((await validateValueDeep(CODECS["u64-gzip-json"], prefixed)).ok).toBe(false);
  });
});

describe("scalar codecs", () => {
  it("flag is exactly 0 or 1", () => {
    expect(check("flag", utf8.encode("1"))).toBe(true);
    expect(check("flag", utf8.encode("0"))).toBe(true);
    for (const bad of ["", "2", "10", "1\n", "true", " 1"]) expect(check("flag", utf8.encode(bad)), bad).toBe(false);
    expect(check("flag", bytes(1))).toBe(false);
  });

  it("text is non-empty valid UTF-8", () => {
    expect(check("text", utf8.encode("#EXTM3U\n#EXT-X-VERSION:3\n"))).toBe(true);
    expect(check("text", utf8.encode("1QcSHQRnh493V4dIh4eXh1h4kJUI"))).toBe(true);
    expect(check("text", new Uint8Array(0))).toBe(false);
    expect(check("text", bytes(0x80))).toBe(false);
  });

  it("float is decimal text", () => {
    for (const good of ["1700000000.5", "60.0", "0", "-1.5", "1.234e-05", "1e+16", "1E16"]) {
      expect(check("float", utf8.encode(good)), good).toBe(true);
    }
    for (const bad of ["", "inf", "nan", "NaN", "1.", ".5", "01", "1,5", " 1", "1e999", "0x10", "+1"]) {
      expect(check("float", utf8.encode(bad)), bad).toBe(false);
    }
  });

  it("bytes32 is exactly 32 bytes", () => {
    expect(check("bytes32", new Uint8Array(32).fill(0xab))).toBe(true);
    expect(check("bytes32", new Uint8Array(31))).toBe(false);
    expect(check("bytes32", new Uint8Array(33))).toBe(false);
    expect(check("bytes32", utf8.encode("a".repeat(64)))).toBe(false);
  });

  it("bytes accepts anything", () => {
    expect(check("bytes", new Uint8Array(0))).toBe(true);
    expect(check("bytes", bytes(0, 0xff, 0x1f, 0x8b))).toBe(true);
  });
});

describe("validateValueDeep", () => {
  it("runs the sync check first and the deep check for gzip codecs", async () => {
    expect(await validateValueDeep(CODECS.flag, utf8.encode("1"))).toEqual({ ok: true });
    expect((await validateValueDeep(CODECS.flag, utf8.encode("2"))).ok).toBe(false);
    const notJson = await gzip(utf8.encode("nope"));
    expect(CODECS["gzip-json"].validate(notJson).ok).toBe(true);
    expect((await validateValueDeep(CODECS["gzip-json"], notJson)).ok).toBe(false);
  });
});
