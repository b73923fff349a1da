/**
 * Publishing a streamed media object (docs/storage-schema.md §R2 "Publishing"): the lease a write
 * takes before its first byte, and what becomes of an object whose pointer was never written.
 * Fills (./store.ts) and admin PUTs (./put.ts) share both.
 */
import { errorFields, familyLabelOf, logEvent } from "../log";
import type { FamilyEntry } from "../keys";
import type { LeaseOptions, ShieldLease } from "../shield";
import type { R2Tier } from "../storage";

/** Takes the family shield's lease for a write (`ShieldClient.lease`). */
export type TakeLease = (key: string, family: FamilyEntry, now: number, options: LeaseOptions) => Promise<ShieldLease>;

/** Without a shield (the binding absent) a write publishes directly: nothing orders it. */
export const UNLEASED: ShieldLease = {
  progress: () => undefined,
  commit: async (publish) => {
    const result = await publish();
    return { committed: result.ok, result };
  },
  commitWrite: async (publish) => {
    const result = await publish();
    return { applied: true, result: result.ok ? { ok: true, skipped: false } : result };
  },
};

/**
 * Removes a write's object that no pointer names (its commit lost, failed, or never happened), so
 * a write that does not publish leaves nothing behind. `maybePublished`: the commit failed in
 * flight, so it may have run; the pointer says whether it did, and then the object stays.
 * Returns whether the object is published.
 */
export async function discardUnpublished(r2: R2Tier, key: string, objectKey: string, maybePublished: boolean): Promise<boolean> {
  try {
    if (maybePublished && (await r2.readPointer(key))?.objectKey === objectKey) return true;
    await r2.discardObject(objectKey);
  } catch (error) {
    // Left for the bucket's expiry rule (docs/storage-schema.md §R2 "Expiry cleanup").
    logEvent("media object not removed", { family: familyLabelOf(key), ...errorFields(error) });
  }
  return false;
}

/** The outcome of a commit that may fail in flight: published, refused, or unknown (it threw). */
export async function settleCommit<T>(key: string, commit: () => Promise<T>): Promise<{ ok: true; answer: T } | { ok: false }> {
  try {
    return { ok: true, answer: await commit() };
  } catch (error) {
    // The shield was reset or overloaded mid-commit: the pointer may or may not have been written.
    logEvent("media commit failed", { family: familyLabelOf(key), ...errorFields(error) });
    return { ok: false };
  }
}
