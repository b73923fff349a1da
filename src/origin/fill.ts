/**
 * A fill from the values endpoint (docs/origin.md §3): one call, its answer checked — the family's
 * codec (deep: gzip inflated, JSON parsed) and, for templates, the render framing — and given its
 * expiry through the registry's `computeExpiresAt` (`X-Edge-Expires-At`: absolute families take
 * it, others only shorten). Stores nothing: the fillers (src/cache/filler.ts, src/shield/) and the
 * shield decide that.
 */
import type { Fill, FetchFill } from "../cache/filler";
import { computeExpiresAt, validateValueDeep, type FamilyEntry } from "../keys";
import { buildStoredValue } from "../storage";
import type { OriginClient } from "./client";
import { templateProblem } from "./delegation";

/** What an origin fill needs besides the key. */
export interface OriginFillDeps {
  origin: Pick<OriginClient, "fetchValue">;
  /** Cap for families with no expiry of their own (Config.collabMaxSeconds). */
  collabMaxSeconds: number;
  /** For the `random` expiry class; tests inject it. */
  random?: () => number;
}

/**
 * One values-endpoint call, checked (codec, render framing) and given its expiry. `stored` says
 * whether the value may be stored (it is not already expired).
 */
export async function originFill(key: string, family: FamilyEntry, now: number, deps: OriginFillDeps, options: { refresh: boolean }): Promise<Fill> {
  const fetched = await deps.origin.fetchValue(key, options);
  if (fetched.kind !== "value") return fetched;

  const valid = await validateValueDeep(family.codec, fetched.bytes);
  if (!valid.ok) {
    return { kind: "error", status: 502, message: `origin value for ${key} fails the ${family.codec.name} codec: ${valid.reason}` };
  }
  // Templates must also render: one that passes the codec but not the render framing would be
  // stored in the background while the delegated render drops it, and left behind.
  const unrenderable = templateProblem(family.name, fetched.bytes);
  if (unrenderable !== null) {
    return { kind: "error", status: 502, message: `origin value for ${key} does not render: ${unrenderable}` };
  }
  // A writer time at or before now: the value is already stale; serve it once, store nothing.
  if (fetched.expiresAt !== undefined && fetched.expiresAt <= now) {
    const value = await buildStoredValue(fetched.bytes, { family: family.name, codec: family.codec.name, expiresAt: fetched.expiresAt }, now);
    return { kind: "value", value, stored: false, tier: "origin" };
  }
  const expiry = computeExpiresAt(family, now, {
    collabMaxSeconds: deps.collabMaxSeconds,
    ...(fetched.expiresAt === undefined ? {} : { writerExpiresAt: fetched.expiresAt }),
    ...(deps.random === undefined ? {} : { random: deps.random }),
  });
  if (!expiry.ok) return { kind: "error", status: 502, message: `no expiry for ${key}: ${expiry.reason}` };
  const value = await buildStoredValue(fetched.bytes, { family: family.name, codec: family.codec.name, expiresAt: expiry.expiresAt }, now);
  return { kind: "value", value, stored: expiry.expiresAt > now, tier: "origin" };
}

/** `originFill` bound to its dependencies, as the fillers take it. */
export function createOriginFill(deps: OriginFillDeps): FetchFill {
  return (key, family, now, options) => originFill(key, family, now, deps, options);
}
