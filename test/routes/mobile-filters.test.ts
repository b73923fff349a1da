import { describe, expect, it } from "vitest";
import {
  decimalToString,
  filtersErrorBody,
  normalizeDecimal,
  parseDecimal,
  planMobileFilters,
} from "../../src/routes/mobile-filters";

function plan(query: string) {
  return planMobileFilters(new URLSearchParams(query));
}

function key(query: string): string {
  const result = plan(query);
  if (result.kind !== "ok") throw new Error(`expected ok for ${query}, got ${JSON.stringify(result)}`);
  return result.stableIdentifier;
}

describe("Python Decimal(pr).normalize() printed with str (A #7)", () => {
  const table: Array<[string, string]> = [
    ["2.0", "2"],
    ["1.50", "1.5"],
    ["10", "1E+1"],
    ["100", "1E+2"],
    ["1", "1"],
    ["3", "3"],
    ["2.5", "2.5"],
    ["0.5", "0.5"],
    [".5", "0.5"],
    ["5.", "5"],
    ["+1.25", "1.25"],
    ["0.000001", "0.000001"],
    ["0.0000001", "1E-7"],
    ["1e3", "1E+3"],
    ["1.5E+1", "15"],
    ["120", "1.2E+2"],
    ["0.10", "0.1"],
    ["-0", "-0"],
  ];
  for (const [input, expected] of table) {
    it(`${input} → ${expected}`, () => {
      const parsed = parseDecimal(input);
      expect(parsed).toBeDefined();
      expect(decimalToString(normalizeDecimal(parsed!))).toBe(expected);
    });
  }
  it("refuses what Decimal would not parse plainly", () => {
    for (const text of ["", ".", "abc", "1,5", " 1", "inf", "NaN", "1_0", "e5"]) expect(parseDecimal(text)).toBeUndefined();
  });
});

describe("stable identifier key table", () => {
  const table: Array<[string, string]> = [
    ["", "w=,h=,pr=,bmin=90000,bmax="],
    ["w=100", "w=,h=,pr=,bmin=90000,bmax="],
    ["h=100&pr=2", "w=,h=,pr=,bmin=90000,bmax="],
    ["w=100&h=200", "w=100,h=200,pr=1,bmin=90000,bmax="],
    ["w=100.2&h=199.01", "w=101,h=200,pr=1,bmin=90000,bmax="],
    ["w=0.5&h=0.5", "w=1,h=1,pr=1,bmin=90000,bmax="],
    ["w=100&h=200&pr=2.0", "w=100,h=200,pr=2,bmin=90000,bmax="],
    ["w=100&h=200&pr=1.50", "w=100,h=200,pr=1.5,bmin=90000,bmax="],
    ["w=100&h=200&pr=10", "w=100,h=200,pr=1E+1,bmin=90000,bmax="],
    ["w=100&h=200&pr=3", "w=100,h=200,pr=3,bmin=90000,bmax="],
    ["bmin=0", "w=,h=,pr=,bmin=0,bmax="],
    ["bmin=1000&bmax=2000", "w=,h=,pr=,bmin=1000,bmax=2000"],
    // bmax below the default bmin is fine: the default is applied after validation.
    ["bmax=50000", "w=,h=,pr=,bmin=90000,bmax=50000"],
    // pr is never looked at without a size, even when it is not a number.
    ["pr=abc", "w=,h=,pr=,bmin=90000,bmax="],
    // FastAPI keeps the last of repeated scalar params.
    ["w=1&w=300&h=400", "w=300,h=400,pr=1,bmin=90000,bmax="],
  ];
  for (const [query, expected] of table) {
    it(`?${query} → ${expected}`, () => expect(key(query)).toBe(expected));
  }
});

describe("invalid filters → the route's own 422 body", () => {
  it("width and height below 1", () => {
    const result = plan("w=0&h=-3");
    expect(result.kind).toBe("invalid");
    if (result.kind !== "invalid") return;
    expect(filtersErrorBody(result.detail)).toBe(
      '{"detail": [{"loc": ["query", "width"], "msg": "Input should be greater than or equal to 1", "type": "greater_than_equal"}, ' +
        '{"loc": ["query", "height"], "msg": "Input should be greater than or equal to 1", "type": "greater_than_equal"}]}',
    );
  });
  it("non-positive pixel ratio", () => {
    const result = plan("w=10&h=10&pr=0");
    expect(result.kind === "invalid" && filtersErrorBody(result.detail)).toBe(
      '{"detail": [{"loc": ["query", "pixel_ratio_str"], "msg": "Value error, must be a positive finite number", "type": "value_error"}]}',
    );
    expect(plan("w=10&h=10&pr=-2").kind).toBe("invalid");
  });
  it("size errors come alone, before bandwidth errors", () => {
    const result = plan("w=0&h=10&bmin=-1");
    expect(result.kind === "invalid" && result.detail.map((d) => d.loc[1])).toEqual(["width"]);
  });
  it("bandwidth bounds", () => {
    const result = plan("bmin=-1&bmax=-2");
    expect(result.kind === "invalid" && filtersErrorBody(result.detail)).toBe(
      '{"detail": [{"loc": ["query", "min_bandwidth"], "msg": "Input should be greater than or equal to 0", "type": "greater_than_equal"}, ' +
        '{"loc": ["query", "max_bandwidth"], "msg": "Input should be greater than or equal to 0", "type": "greater_than_equal"}]}',
    );
    const below = plan("bmin=5000&bmax=4000");
    expect(below.kind === "invalid" && filtersErrorBody(below.detail)).toBe(
      '{"detail": [{"loc": ["query", "max_bandwidth"], "msg": "Value error, max_bandwidth must be greater than min_bandwidth", "type": "value_error"}]}',
    );
    // min invalid: the max validator never sees it.
    const minBad = plan("bmin=-1&bmax=5");
    expect(minBad.kind === "invalid" && minBad.detail.map((d) => d.loc[1])).toEqual(["min_bandwidth"]);
  });
});

describe("spellings left to the origin", () => {
  for (const query of ["w=abc&h=1", "w=1e3&h=10", "w=inf&h=1", "bmin=1.5", "bmin=007", "w=&h=1", "w=10&h=10&pr=abc", "w=10&h=10&pr=1e99999"]) {
    it(`?${query} passes through`, () => expect(plan(query).kind).toBe("passthrough"));
  }
});
