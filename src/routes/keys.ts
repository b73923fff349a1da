/**
 * Route → key, through the registry only (docs/design.md §2). Route inputs are untrusted (a uid from the
 * path, a sub from a token), and `buildKey` throws on a param its family refuses, so a refusal
 * here is a value: the caller lets the request pass through and the origin judges the input.
 */
import { buildKey, getFamily } from "../keys";
import type { FamilyEntry } from "../keys";

export type RouteKey = { ok: true; key: string; family: FamilyEntry } | { ok: false; reason: string };

/** `values` fill the family's params in pattern order. */
export function routeKey(familyName: string, values: readonly string[]): RouteKey {
  const family = getFamily(familyName);
  if (family === undefined) return { ok: false, reason: `no registered family ${familyName}` };
  const required = family.params.filter((spec) => spec.optional !== true);
  if (required.length !== values.length) return { ok: false, reason: `${familyName} takes ${required.length} params` };
  const params: Record<string, string> = {};
  required.forEach((spec, i) => {
    params[spec.name] = values[i] as string;
  });
  try {
    return { ok: true, key: buildKey(family, params), family };
  } catch (error) {
    if (error instanceof TypeError) return { ok: false, reason: error.message };
    throw error;
  }
}
