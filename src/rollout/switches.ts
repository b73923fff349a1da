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
 * parsed config, and a pattern that selects nothing is a configuration error (`switchProblems`).
 */
import type { Config } from "../config";
import { FAMILIES, parseKey } from "../keys";
import type { FamilyEntry } from "../keys";
import type { TieredStore } from "../storage";

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

// Pure memo: a parsed config's switches, derived from it alone; held weakly with the config.
const resolved = new WeakMap<Config, { names: ReadonlySet<string>; problems: string[] }>();

function resolve(config: Config): { names: ReadonlySet<string>; problems: string[] } {
  let result = resolved.get(config);
  if (result === undefined) {
    result = parseFamilyPatterns(config.disabledFamilyPatterns);
    resolved.set(config, result);
  }
  return result;
}

/** The registered family names EDGE_DISABLED_FAMILIES selects (computed once per config). */
export function disabledFamiliesOf(config: Config): ReadonlySet<string> {
  return resolve(config).names;
}

/** Problems with the switches that only the registry can see; the Worker refuses to start on any. */
export function switchProblems(config: Config): string[] {
  return resolve(config).problems;
}

/** Whether `key` belongs to one of `disabled` (a key the registry cannot place is not disabled). */
export function isKeyDisabled(key: string, disabled: ReadonlySet<string>): boolean {
  if (disabled.size === 0) return false;
  const parsed = parseKey(key);
  return parsed.ok && disabled.has(parsed.value.family.name);
}

/**
 * The request path's view of the store: keys of disabled families always miss and are never
 * written (a fill still reaches the client, once). Deletes, listing and purges are left alone:
 * they only ever remove what an operator or the relay put there.
 */
export function withDisabledFamilies(store: TieredStore, disabled: ReadonlySet<string>): TieredStore {
  if (disabled.size === 0) return store;
  return {
    read: (key, now) => (isKeyDisabled(key, disabled) ? Promise.resolve({ state: "miss" }) : store.read(key, now)),
    write: (key, value, now) => (isKeyDisabled(key, disabled) ? Promise.resolve({ ok: true, skipped: true }) : store.write(key, value, now)),
    writes: (key) => !isKeyDisabled(key, disabled) && (store.writes?.(key) ?? true),
    singleFlight: (key, load) => store.singleFlight(key, load),
    list: (options) => store.list(options),
    purge: (selector, now) => store.purge(selector, now),
    delete: (key) => store.delete(key),
    keepLocal: (key, value, now) => (isKeyDisabled(key, disabled) ? Promise.resolve() : store.keepLocal(key, value, now)),
    forgetLocal: (key, now) => store.forgetLocal(key, now),
    stats: () => store.stats(),
    visibleWithinSeconds: store.visibleWithinSeconds,
  };
}
