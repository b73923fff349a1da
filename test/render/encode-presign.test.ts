/** Encoder edge cases beyond the vectors, and the presigning transforms (A #1, #6, #7, #9). */
import { describe, expect, it } from "vitest";
import { pyFloatRepr, pyJsonDumpsString, ryuFloat } from "../../dev/origin/encode/json";
import { ANY_KEY, createM3uPresigner, EACH_ELEMENT, presignJsonUrls, pyQuotePlus, type JsonUrlPath } from "../../src/render/presign";
import { singleBytes, splitAt } from "./support";

describe("pyJsonDumpsString (json.dumps, ensure_ascii)", () => {
  it.each([
    ["plain", '"plain"'],
    ['q"b\\s/', '"q\\"b\\\\s/"'],
    ["\n\r\t\b\f", '"\\n\\r\\t\\b\\f"'],
    ["\u0000\u001f\u000b", '"\\u0000\\u001f\\u000b"'],
    ["\u007f\u0080é\u2028\ufeff", '"\\u007f\\u0080\\u00e9\\u2028\\ufeff"'],
    ["😴", '"\\ud83d\\ude34"'],
    ["\ud800", '"\\ud800"'],
  ])("%j", (input, expected) => {
    expect(pyJsonDumpsString(input)).toBe(expected);
  });
});

describe("float formats", () => {
  it.each([
    [60, "60.0", "60.0"],
    [1e16, "1e+16", "1e16"],
    [1.234e-5, "1.234e-05", "0.00001234"],
    [0.1 + 0.2, "0.30000000000000004", "0.30000000000000004"],
    [1e-5, "1e-05", "0.00001"],
    [1e-6, "1e-06", "1e-6"],
    [123456789012345680000, "1.2345678901234568e+20", "1.2345678901234568e20"],
    [-2.5e-7, "-2.5e-07", "-2.5e-7"],
    [9999999999999998, "9999999999999998.0", "9999999999999998.0"],
    [0.001, "0.001", "0.001"],
  ])("%d → python %s, ryu %s", (x, py, ryu) => {
    expect(pyFloatRepr(x)).toBe(py);
    expect(ryuFloat(x)).toBe(ryu);
  });
});

describe("pyQuotePlus (urlencode)", () => {
  it("leaves a JWT alone and matches encodeURIComponent on it", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.abc-_def";
    expect(pyQuotePlus(jwt)).toBe(jwt);
    expect(pyQuotePlus(jwt)).toBe(encodeURIComponent(jwt));
  });
  it("encodes like quote_plus", () => {
    expect(pyQuotePlus("a b+c/d=é!*'()~")).toBe("a+b%2Bc%2Fd%3D%C3%A9%21%2A%27%28%29~");
  });
});

describe("presignJsonUrls", () => {
  const WEB: JsonUrlPath = ["exports", EACH_ELEMENT, "url"];
  const IMAGE: JsonUrlPath = ["items", ANY_KEY, EACH_ELEMENT, "url"];

  it("web.json: every export url, floats and other fields untouched", () => {
    const stored =
      '{"exports":[{"url":"https://x/api/1/content_files/exports/parts/oseh_cfep_a.mp4","format":"mp4","bandwidth":1,"codecs":["aac"],"file_size":2,"quality_parameters":{"url":"keep"}},' +
      '{"url":"https://x/b.mp4","format":"mp4","bandwidth":3,"codecs":["aac"],"file_size":4,"quality_parameters":{}}],"duration_seconds":60.0}';
    expect(presignJsonUrls(stored, "t.o.k", WEB)).toBe(
      stored.replace("oseh_cfep_a.mp4", "oseh_cfep_a.mp4?jwt=t.o.k").replace("b.mp4", "b.mp4?jwt=t.o.k"),
    );
  });

  it("image playlist: equals appending to each item url and JSON.stringify", () => {
    const playlist = {
      items: {
        jpeg: [
          { url: "https://x/api/1/image_files/image/oseh_ife_1.jpeg", uid: "oseh_ife_1", format: "jpeg", width: 10, height: 20, size_bytes: 300, thumbhash: "a\\b\"c" },
        ],
        webp: [
          { url: "https://x/2.webp", uid: "oseh_ife_2", format: "webp", width: 1, height: 2, size_bytes: 3, thumbhash: "u\u00e9" },
          { url: "https://x/3.webp", uid: "oseh_ife_3", format: "webp", width: 4, height: 5, size_bytes: 6, thumbhash: "" },
        ],
      },
    };
    const jwt = "aaa.bbb.ccc";
    const expected = structuredClone(playlist);
    for (const items of Object.values(expected.items)) for (const item of items) item.url += `?jwt=${encodeURIComponent(jwt)}`;
    expect(presignJsonUrls(JSON.stringify(playlist), jwt, IMAGE)).toBe(JSON.stringify(expected));
  });

  it("handles escaped keys and string values containing structural characters", () => {
    const text = '[{"note":"},{\\"url\\":","u\\u0072l":"https://x/a"}]';
    expect(presignJsonUrls(text, "j", [EACH_ELEMENT, "url"])).toBe('[{"note":"},{\\"url\\":","u\\u0072l":"https://x/a?jwt=j"}]');
  });

  it("web.json: only exports[].url; a url inside format_parameters / quality_parameters stays as stored", () => {
    const stored =
      '{"exports":[{"url":"https://x/a.mp4","format":"mp4","bandwidth":1,"codecs":["aac"],"file_size":2,' +
      '"format_parameters":{"list":[{"url":"x"}],"url":"y","nested":{"url":"z"}},"quality_parameters":{"items":[{"url":"q"}]}}],' +
      '"duration_seconds":60.0,"other":[{"url":"o"}]}';
    expect(presignJsonUrls(stored, "J", WEB)).toBe(stored.replace('a.mp4"', 'a.mp4?jwt=J"'));
  });

  it("image playlist: only items.<format>[].url", () => {
    const stored = '{"items":{"jpeg":[{"url":"a","uid":"u"}],"webp":[]},"url":"top","extra":[{"url":"e"}],"items2":{"x":[{"url":"n"}]}}';
    expect(presignJsonUrls(stored, "J", IMAGE)).toBe(stored.replace('"a"', '"a?jwt=J"'));
  });

  it("a url whose value is not a string, or an exports that is not an array, is left alone", () => {
    const stored = '{"exports":[{"url":{"url":"x"}},{"url":1},{"url":null}],"duration_seconds":1.0}';
    expect(presignJsonUrls(stored, "J", WEB)).toBe(stored);
    expect(presignJsonUrls('{"exports":{"url":"x"}}', "J", WEB)).toBe('{"exports":{"url":"x"}}');
  });
});

/** The presigner as production runs it (one push of the whole playlist), or over `chunks`. */
function presignM3uText(text: string, jwt: string, chunks: Uint8Array[] = [new TextEncoder().encode(text)]): string {
  const presigner = createM3uPresigner(jwt);
  const decoder = new TextDecoder();
  return chunks.flatMap((chunk) => presigner.push(chunk)).map((piece) => decoder.decode(piece, { stream: true })).join("") + decoder.decode();
}

describe("m3u8 presigning (M3UPresigner)", () => {
  const master =
    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttps://x/api/1/content_files/exports/oseh_cfe_a.m3u8\n\nhttps://x/b.m3u8\n#EXT-X-ENDLIST\nhttps://x/last-without-newline";
  const expected =
    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttps://x/api/1/content_files/exports/oseh_cfe_a.m3u8?jwt=J\n\nhttps://x/b.m3u8?jwt=J\n#EXT-X-ENDLIST\nhttps://x/last-without-newline";

  it("suffixes non-comment, non-empty, newline-terminated lines", () => {
    expect(presignM3uText(master, "J")).toBe(expected);
  });

  it("keeps the backend's CRLF quirk (suffix lands between \\r and \\n)", () => {
    expect(presignM3uText("#EXTM3U\r\nhttps://x/a.ts\r\n", "J")).toBe("#EXTM3U\r\nhttps://x/a.ts\r?jwt=J\n");
  });

  it("gives the same bytes for every chunking", () => {
    const bytes = new TextEncoder().encode(master);
    const all = [[bytes], singleBytes(bytes), ...Array.from({ length: bytes.length + 1 }, (_, cut) => splitAt(bytes, cut))];
    for (const chunks of all) expect(presignM3uText(master, "J", chunks)).toBe(expected);
  });
});
