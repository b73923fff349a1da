/**
 * Uniform random integers for the routes that draw (docs/routes.md, personalized emotions): a
 * `RandomSource` is injected where the Worker is wired (`createWorker({ random })`), crypto
 * randomness by default, so a test can make every draw deterministic. Draws are exact — rejection
 * sampling, never `Math.floor(x * n)` — so a weighted pick has exactly its weight's probability.
 */

export interface RandomSource {
  /** A uniformly distributed integer in `[0, n)`; `n` a positive safe integer. */
  below(n: number): number;
}

const TWO_32 = 2 ** 32;
/** 53 random bits: the most a safe integer holds. */
const TWO_53 = 2 ** 53;
/** The high word's share of a 53-bit draw (53 − 32). */
const HIGH_BITS = 21;

/** `RandomSource` over a generator of uniform 32-bit words (`0 … 2^32 − 1`). */
export function createRandomSource(next32: () => number): RandomSource {
  return {
    below(n) {
      if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`below(n) needs a positive safe integer, got ${n}`);
      // Words at or past the largest multiple of n are redrawn, so every residue is equally likely.
      if (n <= TWO_32) {
        const limit = TWO_32 - (TWO_32 % n);
        for (;;) {
          const word = next32();
          if (word < limit) return word % n;
        }
      }
      const limit = TWO_53 - (TWO_53 % n);
      for (;;) {
        const high = next32() >>> (32 - HIGH_BITS);
        const value = high * TWO_32 + next32();
        if (value < limit) return value % n;
      }
    },
  };
}

/** Crypto randomness (`crypto.getRandomValues`), the production source. */
export function createCryptoRandom(): RandomSource {
  const word = new Uint32Array(1);
  return createRandomSource(() => crypto.getRandomValues(word)[0] as number);
}
