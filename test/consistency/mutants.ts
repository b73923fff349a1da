/**
 * The rules the checker must catch when switched off (docs/reliability.md "Consistency"), one
 * row each: the module that holds the pure rule function, the function, and what replaces it in
 * a mutant run. Only the consistency project's test files use it, through `vi.mock` (`mutate`):
 * consistency.test.ts switches each on in turn after the CI-sized run (each must be caught within
 * the CI budget), mutants.test.ts the one `npm run check:consistency -- --mutants` names. Nothing
 * production runs can switch a rule off. If a rule function moves, re-point its row (`module` is
 * relative to the repo root and must also be listed in those files' `vi.mock` calls, which vitest
 * needs as literals).
 */
import type { Generations } from "../../src/storage/generations";
import type { Envelope } from "../../src/storage/tier";

export interface Mutant {
  /** What the mutant switches off. */
  rule: string;
  module: "src/shield/ordering.ts" | "src/storage/envelope.ts" | "src/storage/generations.ts";
  name: string;
  /** The replacement, given the real module. */
  replace: (real: Record<string, unknown>) => unknown;
}

export const MUTANTS: Record<string, Mutant> = {
  ordering: {
    rule: "the ordering rule: a write or purge that reached the shield after a fill started wins (docs/storage-schema.md §Ordering)",
    module: "src/shield/ordering.ts",
    name: "mayCommit",
    replace: () => () => true,
  },
  "source-times": {
    rule: "source times: an older X-Edge-Source-Time never overwrites a newer write (docs/admin-api.md)",
    module: "src/shield/ordering.ts",
    name: "isLateWrite",
    replace: () => () => false,
  },
  generations: {
    rule: "generations for L0/L1: a family purge makes every older local copy unreachable (docs/storage-schema.md §Generations)",
    module: "src/storage/generations.ts",
    // `newGenerationToken` is called inside its own module, where a mock cannot reach it: the
    // mutant replaces the generations the store is built with, whose bump keeps the family's
    // current token (no new one is made or written), so local copies stay reachable.
    name: "createGenerations",
    replace: (real) => (...args: unknown[]) => {
      const generations = (real.createGenerations as (...a: unknown[]) => Generations)(...args);
      return {
        ...generations,
        bump: async (family: string, now: number) => {
          const previous = await generations.current(family, now);
          return { previous, next: previous };
        },
      } satisfies Generations;
    },
  },
  "stale-bound": {
    rule: "the stale-if-error bound: a last good value is served at most STALE_IF_ERROR_SECONDS past its expiry (docs/storage-schema.md §Envelope)",
    module: "src/storage/envelope.ts",
    name: "classifyFreshness",
    replace: () => (envelope: Envelope, now: number) => (now < envelope.expiresAt ? "fresh" : "stale"),
  },
};

/**
 * Which mutant is switched on in this test file's run (undefined: none — every rule is the real
 * one). The test files that mock the rule modules flip it; each test file runs in its own workerd
 * (the Workers Vitest integration's default), so a mutant switched on never reaches another file.
 */
export const switchboard: { on: string | undefined } = { on: undefined };

/**
 * The module `module` as the rule modules' `vi.mock` factories return it: every rule function of
 * a mutant that lives there is replaced by one that runs the mutant while `switchboard.on` names
 * it, and the real function otherwise.
 */
export function mutate(module: Mutant["module"], real: Record<string, unknown>): Record<string, unknown> {
  const out = { ...real };
  for (const [name, mutant] of Object.entries(MUTANTS)) {
    if (mutant.module !== module) continue;
    const original = real[mutant.name];
    if (typeof original !== "function") throw new Error(`${module} has no function ${mutant.name}: re-point test/consistency/mutants.ts`);
    const replaced = mutant.replace(real) as (...args: unknown[]) => unknown;
    const current = out[mutant.name] as (...args: unknown[]) => unknown;
    out[mutant.name] = (...args: unknown[]) => (switchboard.on === name ? replaced(...args) : current(...args));
  }
  return out;
}
