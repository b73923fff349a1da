/** src/util/random.ts: exact uniform draws by rejection, over any 32-bit word stream. */
import { describe, expect, it } from "vitest";
import { createCryptoRandom, createRandomSource } from "../../src/util/random";

/** A word stream that replays `words` and counts how many were taken. */
function words(list: readonly number[]) {
  let taken = 0;
  return {
    next: () => {
      const word = list[taken++];
      if (word === undefined) throw new Error("no word left");
      return word;
    },
    taken: () => taken,
  };
}

describe("createRandomSource", () => {
  it("maps a word below the largest multiple of n to word mod n", () => {
    const stream = words([7, 0, 4294967291]);
    const random = createRandomSource(stream.next);
    expect([random.below(5), random.below(5), random.below(5)]).toEqual([2, 0, 1]);
    expect(stream.taken()).toBe(3);
  });

  it("redraws a word at or past the largest multiple of n, so every residue is equally likely", () => {
    // 2^32 mod 3 = 1: the one word 2^32 − 1 would make 0 more likely than 1 and 2.
    const stream = words([2 ** 32 - 1, 2 ** 32 - 1, 5]);
    expect(createRandomSource(stream.next).below(3)).toBe(2);
    expect(stream.taken()).toBe(3);
  });

  it("draws 53 bits for n past 2^32: the high word's top 21 bits, then the low word", () => {
    const n = 2 ** 40 + 3;
    const stream = words([0x00001800, 0x00000001, 0x00000002]);
    // (0x1800 >>> 11) · 2^32 + 1 = 3 · 2^32 + 1, below n, so kept as it is.
    expect(createRandomSource(stream.next).below(n)).toBe(3 * 2 ** 32 + 1);
    expect(stream.taken()).toBe(2);
  });

  it.each([0, -1, 1.5, 2 ** 53, Number.NaN])("refuses below(%s)", (n) => {
    expect(() => createRandomSource(() => 0).below(n)).toThrow(RangeError);
  });

  it("crypto randomness stays in range", () => {
    const random = createCryptoRandom();
    for (const n of [1, 2, 7, 2 ** 32, 2 ** 53 - 1]) {
      for (let i = 0; i < 50; i++) {
        const value = random.below(n);
        expect(Number.isInteger(value) && value >= 0 && value < n).toBe(true);
      }
    }
  });
});
