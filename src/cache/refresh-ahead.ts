/**
 * Refresh ahead (docs/storage-schema.md §Refresh ahead): a hit on a value near the end of its life
 * starts one background fill through the family's shield, so a key in use is refilled before it
 * expires and no client waits on the origin for it. Pure rules here; the read-through core
 * (./read-through.ts) starts the refresh, the fillers (./filler.ts, src/shield/filler.ts) make it,
 * and the shield (src/shield/family-shield.ts `refreshAhead`) asks the origin once per key per
 * lifetime for the whole edge.
 */
import type { Expiry, FamilyEntry } from "../keys";
import type { Envelope } from "../storage";

/**
 * A value refreshes in its last tenth of life or its last 60 s, whichever is shorter: late enough
 * that a key read once in a while is not refilled for nothing, early enough that one origin call
 * (ORIGIN_TIMEOUT_MS at most, 5 s in production) lands before the value expires.
 */
export const REFRESH_AHEAD_FRACTION = 0.1;
export const REFRESH_AHEAD_MAX_SECONDS = 60;

/**
 * Whether a later fill of this expiry class lives longer, so refreshing ahead keeps the key warm:
 * `fixed`, `random` and `none` (the COLLAB_MAX_SECONDS cap) count from the fill. An `la-midnight`
 * value refilled before the midnight dies at the same midnight (src/keys/expiry.ts), and an
 * `absolute` value's expiry is the origin's (`X-Edge-Expires-At`, B #1's `expires_at`), which a
 * refill before it carries again: neither gains anything.
 */
export function expiryClassRefreshes(expiry: Expiry): boolean {
  switch (expiry.kind) {
    case "fixed":
    case "random":
    case "none":
      return true;
    case "la-midnight":
    case "absolute":
      return false;
    default:
      return expiry satisfies never;
  }
}

/** Unix seconds from which a hit on a value with this envelope refreshes it. */
export function refreshAheadFrom(envelope: Pick<Envelope, "storedAt" | "expiresAt">): number {
  const life = Math.max(0, envelope.expiresAt - envelope.storedAt);
  return envelope.expiresAt - Math.min(REFRESH_AHEAD_MAX_SECONDS, life * REFRESH_AHEAD_FRACTION);
}

/** Whether a fresh hit at `now` on a value of `family` should refresh it ahead of its expiry. */
export function refreshAheadDue(family: FamilyEntry, envelope: Pick<Envelope, "storedAt" | "expiresAt">, now: number): boolean {
  return expiryClassRefreshes(family.expiry) && now >= refreshAheadFrom(envelope) && now < envelope.expiresAt;
}

/**
 * The refreshes this isolate asked for, key → the expiry of the value it asked to refresh: an
 * isolate asks once per key per lifetime, however often it hits the key in the window (the shield
 * then answers every isolate of the edge after the first without asking the origin).
 */
export type RefreshMemory = Map<string, number>;

/** Entries kept before the expired ones are dropped; past it, the memory starts over. */
const REFRESH_MEMORY_MAX_ENTRIES = 4096;

export function createRefreshMemory(): RefreshMemory {
  return new Map();
}

/**
 * True once per (key, expiresAt) in this isolate: the caller starts the refresh. Entries whose value
 * expired are dropped when the memory is full (forgetting one costs at most one more shield
 * request, which the shield answers from its record).
 */
export function claimRefresh(memory: RefreshMemory, key: string, expiresAt: number, now: number): boolean {
  if ((memory.get(key) ?? Number.NEGATIVE_INFINITY) >= expiresAt) return false;
  if (memory.size >= REFRESH_MEMORY_MAX_ENTRIES) {
    for (const [held, until] of memory) if (until <= now) memory.delete(held);
    if (memory.size >= REFRESH_MEMORY_MAX_ENTRIES) memory.clear();
  }
  memory.set(key, expiresAt);
  return true;
}
