/**
 * The rules the checker must catch when switched off (docs/reliability.md "Consistency"), one
 * row each: the module that holds the pure rule function, the function, and what replaces it in
 * a mutant run. Only test/consistency/mutants.test.ts uses it, through `vi.mock`, and only when
 * `npm run check:consistency -- --mutants` names a mutant: nothing production runs can switch a
 * rule off. If a rule function moves, re-point its row (`module` is relative to the repo root and
 * must also be listed in mutants.test.ts's `vi.mock` calls, which vitest needs as literals).
 */
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
    name: "newGenerationToken",
    // Every bump writes the token a family starts with: the local copies' keys never change.
    replace: () => () => "0",
  },
  "stale-bound": {
    rule: "the stale-if-error bound: a last good value is served at most STALE_IF_ERROR_SECONDS past its expiry (docs/storage-schema.md §Envelope)",
    module: "src/storage/envelope.ts",
    name: "classifyFreshness",
    replace: () => (envelope: Envelope, now: number) => (now < envelope.expiresAt ? "fresh" : "stale"),
  },
};
