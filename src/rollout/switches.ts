/**
 * Rollout switches (docs/integrate.md §Switches): two vars an operator flips with a config-only
 * `wrangler deploy`, so adopting the edge — and backing out of it — never needs a code change.
 *
 * - `EDGE_MODE=passthrough`: the edge is a pure proxy. No edge route, no read, no fill, and no
 *   proxy token on forwarded requests, so the origin renders every body itself. The admin API
 *   stays up (purges must still work during a rollback).
 * - `EDGE_DISABLED_FAMILIES=pattern,…`: those families are neither read nor written on the
 *   request path. A route that needs one passes through; a delegation naming a disabled template
 *   family renders from a fresh values fetch that is stored nowhere.
 *
 * src/config.ts parses both vars; the patterns are resolved against the registry here, once per
 * parsed config where the Worker is wired (src/index.ts), and a pattern that selects nothing is a
 * configuration error (`switchProblems`).
 * The disabled families are applied in one place, the cache core's read (src/cache/read-through.ts).
 */
import type { Config } from "../config";
import { FAMILIES } from "../keys";
import type { FamilyEntry } from "../keys";

/**
 * Pure: the family names a list of patterns selects. A pattern is a family name as
 * registered (`journeys:external:{uid}`) where `*` matches any run of characters
 * (`content_files:*`, `*`). A pattern that selects nothing is a problem: a typo in a rollback
 * switch must stop the deploy, not silently leave the family on.
 */
export function parseFamilyPatterns(patterns: readonly string[], families: readonly FamilyEntry[] = FAMILIES): { names: ReadonlySet<string>; problems: string[] } {
  const names = new Set<string>();
  const problems: string[] = [];
  for (const pattern of patterns) {
    const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
    const matcher = new RegExp(`^${escaped}$`);
    const matched = families.filter((family) => matcher.test(family.name));
    if (matched.length === 0) problems.push(`EDGE_DISABLED_FAMILIES: ${JSON.stringify(pattern)} matches no family (names as in docs/families.md, * for any characters)`);
    for (const family of matched) names.add(family.name);
  }
  return { names, problems };
}

/** Problems with the switches that only the registry can see; the Worker refuses to start on any. */
export function switchProblems(config: Config): string[] {
  return parseFamilyPatterns(config.disabledFamilyPatterns).problems;
}
