/**
 * Who applies the admin API's writes (docs/admin-api.md; docs/storage-schema.md §Ordering): one
 * interface, two implementations, chosen once where the Worker is wired (src/index.ts), as the
 * filler is — the family shields when the `FAMILY_SHIELD` binding exists (src/shield/writer.ts:
 * each write ordered with the family's fills, `X-Edge-Source-Time` recorded), else the direct
 * writer below (the tiered store alone: nothing orders writes, so source times are checked by the
 * API but not recorded). Both page a purge the same way: a keys purge in one call, a family or
 * prefix purge a page of the store per call.
 */
import type { FamilyEntry } from "../keys";
import type { PurgeResult, PurgeSelector, StorageFailure, StoredValue, TieredStore } from "../storage";

export type WriteAnswer =
  /** `skipped`: KV already held these bytes (docs/storage-schema.md "Write-skip"). */
  | { applied: true; skipped: boolean }
  /** Dropped: older (`X-Edge-Source-Time`) than the newest write applied to the key. */
  | { applied: false; reason: "late" }
  /** Storage refused the value (too large, KV still 429 after retries): nothing stored. */
  | { applied: false; reason: "refused"; failure: StorageFailure };

export type RemoveAnswer = { applied: true } | { applied: false; reason: "late" };

/** A purge's answer (docs/admin-api.md): a keys purge also lists the keys a newer write kept. */
export type PurgeAnswer = PurgeResult & { superseded?: string[] };

/**
 * Each call may throw when storage (or the key's shield) cannot be reached: nothing of that call
 * is applied past what it reports, and repeating it is safe (deletes and purges are idempotent,
 * a PUT writes the same bytes).
 */
export interface Writer {
  put(key: string, family: FamilyEntry, value: StoredValue, now: number, sourceTime?: number): Promise<WriteAnswer>;
  remove(key: string, family: FamilyEntry, now: number, sourceTime?: number): Promise<RemoveAnswer>;
  /** `purged` counts the keys this call removed; a keys purge's `superseded` keys are not among them. */
  purge(selector: PurgeSelector, now: number, sourceTime?: number): Promise<PurgeAnswer>;
}

/** Without shields nothing orders writes: source times are not recorded, so no write is late. */
export function createDirectWriter(store: TieredStore): Writer {
  return {
    async put(key, _family, value, now) {
      const written = await store.write(key, value, now);
      return written.ok ? { applied: true, skipped: written.skipped } : { applied: false, reason: "refused", failure: written.failure };
    },
    async remove(key) {
      await store.delete(key);
      return { applied: true };
    },
    async purge(selector, now) {
      const result = await store.purge(selector, now);
      return "keys" in selector ? { ...result, superseded: [] } : result;
    },
  };
}
