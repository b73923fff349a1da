import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MULTIPART_BOUNDARY, parseRangeHeader, planRangeResponse, resolveRanges, type RangePlan } from "../../src/media/range";

const TYPE = "audio/mp4";
const plan = (range: string | null, size = 1000, ifRange: string | null = null) => planRangeResponse({ range, ifRange, contentType: TYPE, size });
const header = (p: RangePlan, name: string) => p.headers.find(([n]) => n === name)?.[1];

/** Bytes as code points 0–255 (TextDecoder's "latin1" is windows-1252). */
const latin1 = (bytes: Uint8Array) => Array.from(bytes, (b) => String.fromCharCode(b)).join("");

/** The body a plan describes, over an object whose byte i is i mod 251. */
function assemble(p: RangePlan): Uint8Array {
  const out = new Uint8Array(p.length);
  let at = 0;
  for (const part of p.body) {
    if (part.kind === "literal") {
      out.set(part.bytes, at);
      at += part.bytes.length;
    } else {
      for (let i = 0; i < part.length; i++) out[at++] = (part.offset + i) % 251;
    }
  }
  return out;
}

describe("planRangeResponse", () => {
  it("no Range: 200 with the backend's three headers", () => {
    const p = plan(null);
    expect(p.status).toBe(200);
    expect(p.headers).toEqual([
      ["Content-Type", TYPE],
      ["Content-Length", "1000"],
      ["Accept-Ranges", "bytes"],
    ]);
    expect(p.body).toEqual([{ kind: "slice", offset: 0, length: 1000 }]);
  });

  it.each([
    ["bytes=0-", "the whole object"], // the backend raises (500) here; Chrome sends it
    ["bytes=0-999", "the whole object"],
    ["bytes=0-5000", "the whole object"],
    ["bytes=-1000", "the whole object"],
    ["bytes=-5000", "the whole object"],
    ["bytes=1000-", "no satisfiable range"],
    ["bytes=1000-2000", "no satisfiable range"],
    ["bytes=-0", "no satisfiable range"],
    ["bytes=5000-6000,1000-", "no satisfiable range"],
  ])("%s → 200 whole (%s)", (range, why) => {
    const p = plan(range);
    expect(p.status).toBe(200);
    expect(p.ignored).toBe(why);
    expect(header(p, "Content-Length")).toBe("1000");
    expect(header(p, "Content-Range")).toBeUndefined();
  });

  it.each([
    ["bytes=0-0", 0, 0],
    ["bytes=999-999", 999, 999], // one-byte ranges: the backend drops them
    ["bytes=10-19", 10, 19],
    ["bytes=990-5000", 990, 999],
    ["bytes=500-", 500, 999],
    ["bytes=-100", 900, 999],
    ["bytes=1-", 1, 999],
    ["Bytes=10-19", 10, 19],
    [" bytes = 10-19 ", 10, 19],
    ["bytes=10-19, 15-29", 10, 29],
    ["bytes=10-19,5-12", 5, 19],
    ["bytes=0-10,5-8,9-20", 0, 20], // merged against the last range, not the first
    ["bytes=10-19,2000-3000", 10, 19],
  ])("%s → 206 %i-%i with its own Content-Length", (range, start, end) => {
    const p = plan(range);
    expect(p.status).toBe(206);
    expect(p.headers).toEqual([
      ["Content-Type", TYPE],
      ["Content-Length", String(end - start + 1)],
      ["Accept-Ranges", "bytes"],
      ["Content-Range", `bytes ${start}-${end}/1000`],
    ]);
    expect(p.body).toEqual([{ kind: "slice", offset: start, length: end - start + 1 }]);
  });

  it("several ranges: multipart/byteranges with CRLF parts, sorted, exact Content-Length", () => {
    const p = plan("bytes=900-909,0-4");
    expect(p.status).toBe(206);
    expect(header(p, "Content-Type")).toBe(`multipart/byteranges; boundary=${MULTIPART_BOUNDARY}`);
    expect(header(p, "Content-Range")).toBeUndefined();
    const body = assemble(p);
    expect(header(p, "Content-Length")).toBe(String(body.length));
    const text = latin1(body);
    const bytesOf = (from: number, n: number) => String.fromCharCode(...Array.from({ length: n }, (_, i) => (from + i) % 251));
    expect(text).toBe(
      `--${MULTIPART_BOUNDARY}\r\nContent-Type: ${TYPE}\r\nContent-Range: bytes 0-4/1000\r\n\r\n${bytesOf(0, 5)}` +
        `\r\n--${MULTIPART_BOUNDARY}\r\nContent-Type: ${TYPE}\r\nContent-Range: bytes 900-909/1000\r\n\r\n${bytesOf(900, 10)}` +
        `\r\n--${MULTIPART_BOUNDARY}--\r\n`,
    );
  });

  it("nine ranges are served, ten are ignored (the backend's limit)", () => {
    const specs = (n: number) => `bytes=${Array.from({ length: n }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(",")}`;
    expect(plan(specs(9)).status).toBe(206);
    expect(plan(specs(9)).body.filter((b) => b.kind === "slice")).toHaveLength(9);
    expect(plan(specs(10)).status).toBe(200);
    expect(plan(specs(10)).ignored).toMatch(/10 ranges/);
  });

  it("If-Range is present: Range is ignored (these answers have no validator to match)", () => {
    expect(plan("bytes=0-9", 1000, '"etag"').status).toBe(200);
  });

  it("an empty object answers 200 and an empty body to any range", () => {
    for (const range of [null, "bytes=0-", "bytes=0-0", "bytes=-5"]) {
      const p = plan(range, 0);
      expect(p.status).toBe(200);
      expect(p.body).toEqual([]);
      expect(header(p, "Content-Length")).toBe("0");
    }
  });

  it.each([
    "",
    "bytes",
    "bytes=",
    "bytes=,",
    "bytes=abc",
    "bytes=5",
    "bytes=--5",
    "bytes=5-3",
    "bytes=0-1,5-3",
    "bytes=+1-2",
    "bytes=1_0-20",
    "bytes=0x10-20",
    "bytes=1.5-2",
    "bytes=1 -2",
    "bytes=-",
    "bytes=1-2-3",
    "items=0-5",
    "bytes=0-5;x",
    "bytes=١-٢", // non-ASCII digits (Python's int() takes them; RFC DIGIT does not)
    "bytes=0-5,,6-7",
  ])("bad syntax %j → the header is ignored (200)", (range) => {
    const p = plan(range);
    expect(p.status).toBe(200);
    expect(p.ignored).toBeDefined();
    expect(header(p, "Content-Length")).toBe("1000");
  });

  it("huge positions are unsatisfiable or clamped, never thrown", () => {
    expect(plan("bytes=99999999999999999999999-").status).toBe(200);
    expect(header(plan("bytes=10-99999999999999999999999"), "Content-Range")).toBe("bytes 10-999/1000");
    expect(header(plan("bytes=-99999999999999999999999"), "Content-Length")).toBe("1000");
  });
});

describe("properties", () => {
  const specArb = fc.oneof(
    fc.tuple(fc.nat(300), fc.nat(300)).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    fc.nat(300).map((a) => `${a}-`),
    fc.nat(300).map((n) => `-${n}`),
  );
  const headerArb = fc.array(specArb, { minLength: 1, maxLength: 9 }).map((specs) => `bytes=${specs.join(",")}`);

  it("any string: never throws; the body adds up to Content-Length and stays inside the object", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), headerArb), fc.nat(400), (range, size) => {
        const p = plan(range, size);
        expect([200, 206]).toContain(p.status);
        expect(header(p, "Content-Length")).toBe(String(p.length));
        let sum = 0;
        let lastEnd = -1;
        for (const part of p.body) {
          if (part.kind === "literal") {
            sum += part.bytes.length;
            continue;
          }
          sum += part.length;
          expect(part.length).toBeGreaterThan(0);
          expect(part.offset).toBeGreaterThan(lastEnd); // increasing, disjoint: one forward pass serves it
          lastEnd = part.offset + part.length - 1;
          expect(lastEnd).toBeLessThan(size);
        }
        expect(sum).toBe(p.length);
      }),
    );
  });

  it("the merged ranges cover exactly the bytes the specs select", () => {
    fc.assert(
      fc.property(headerArb, fc.nat(400), (range, size) => {
        const parsed = parseRangeHeader(range);
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        const wanted = new Set<number>();
        for (const spec of parsed.specs) {
          const [from, to] =
            spec.kind === "bounded" ? [spec.first, spec.last] : spec.kind === "open" ? [spec.first, size - 1] : [size - spec.length, size - 1];
          for (let i = Math.max(0, from); i <= Math.min(to, size - 1); i++) wanted.add(i);
        }
        const got = new Set<number>();
        for (const r of resolveRanges(parsed.specs, size)) for (let i = r.offset; i < r.offset + r.length; i++) got.add(i);
        expect([...got].sort((a, b) => a - b)).toEqual([...wanted].sort((a, b) => a - b));
      }),
    );
  });

  it("a 206's parts are the object's own bytes at the offsets Content-Range names", () => {
    fc.assert(
      fc.property(headerArb, fc.integer({ min: 1, max: 400 }), (range, size) => {
        const p = plan(range, size);
        if (p.status !== 206) return;
        const body = latin1(assemble(p));
        const single = header(p, "Content-Range");
        const parts =
          single !== undefined
            ? [{ range: single, data: body }]
            : [...body.matchAll(/Content-Range: (bytes \d+-\d+\/\d+)\r\n\r\n/g)].map((m) => {
                const [, a = "0", b = "0"] = /(\d+)-(\d+)/.exec(m[1] ?? "") ?? [];
                const from = (m.index ?? 0) + m[0].length;
                return { range: m[1] ?? "", data: body.slice(from, from + Number(b) - Number(a) + 1) };
              });
        for (const { range: cr, data } of parts) {
          const [, a = "0", b = "0", total] = /bytes (\d+)-(\d+)\/(\d+)/.exec(cr) ?? [];
          expect(Number(total)).toBe(size);
          expect(data).toBe(String.fromCharCode(...Array.from({ length: Number(b) - Number(a) + 1 }, (_, i) => (Number(a) + i) % 251)));
        }
      }),
    );
  });
});
