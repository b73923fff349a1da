/**
 * Deterministic RandomSources for tests (src/util/random.ts): a seeded one for frequency tests,
 * and a scripted one that hands out given draws and records every range asked for, so a test can
 * state exactly which draws an algorithm makes.
 */
import { createRandomSource, type RandomSource } from "../../src/util/random";
import { createRandom } from "../../dev/origin/util";

const TWO_32 = 2 ** 32;

/**
 * The production `below` over a seeded word stream (the dev origin's mulberry32, whose floats are
 * its 32-bit words divided by 2^32, so multiplying back is exact): repeatable draws.
 */
export function seededRandom(seed: number): RandomSource {
  const next = createRandom(seed);
  return createRandomSource(() => next() * TWO_32);
}

export interface ScriptedRandom extends RandomSource {
  /** Every `below(n)` asked so far, in order. */
  readonly asked: number[];
  /** How many scripted draws are left unused. */
  remaining(): number;
}

/** Draws `values` in order; a draw outside `[0, n)` or past the script is a test error. */
export function scriptedRandom(values: readonly number[]): ScriptedRandom {
  const asked: number[] = [];
  let next = 0;
  return {
    asked,
    remaining: () => values.length - next,
    below(n) {
      asked.push(n);
      const value = values[next++];
      if (value === undefined) throw new Error(`scripted random: no draw left for below(${n}) (asked ${asked.join(", ")})`);
      if (!Number.isInteger(value) || value < 0 || value >= n) throw new Error(`scripted random: ${value} is not below ${n}`);
      return value;
    },
  };
}
