/**
 * The admin API's writes through the family shields (src/cache/writer.ts has the interface and
 * the direct writer): each PUT, DELETE and key purge is applied by the key's shield in order with
 * the family's fills, with its `X-Edge-Source-Time`; a family or prefix purge is recorded by every
 * shield it can touch first (O(1): fills in flight lose, their own copies go; with a source time,
 * older writes of its keys become late), then KV is deleted a page per call behind it. This
 * isolate's and colo's copies (L0, L1) follow each answer; after a removal this isolate also ignores
 * the key's older copies its colo's lagging KV view may still show (src/storage/tiered.ts
 * `StoreMemory.removedHere`).
 */
import type { Writer } from "../cache/writer";
import { getFamily, parseKey } from "../keys";
import type { TieredStore } from "../storage";
import type { ShieldClient } from "./client";

export function createShieldWriter(shield: ShieldClient, store: TieredStore): Writer {
  return {
    async put(key, family, value, now, sourceTime) {
      const answer = await shield.put(key, family, value, now, sourceTime);
      if (!answer.applied) return { applied: false, reason: "late" };
      if (!answer.result.ok) return { applied: false, reason: "refused", failure: answer.result.failure };
      await store.keepLocal(key, value, now);
      return { applied: true, skipped: answer.result.skipped };
    },

    async remove(key, family, now, sourceTime) {
      const answer = await shield.remove(key, family, now, sourceTime);
      if (!answer.applied) return { applied: false, reason: "late" };
      await store.forgetLocal(key, now);
      return { applied: true };
    },

    async purge(selector, now, sourceTime) {
      if ("keys" in selector) {
        // Each key as a DELETE by its shield: one whose newer write was already applied stays, is
        // not counted in `purged`, and is listed in `superseded`.
        const superseded: string[] = [];
        let purged = 0;
        for (const key of selector.keys) {
          const parsed = parseKey(key);
          if (!parsed.ok) continue; // the admin API refuses such keys before any is purged
          const answer = await shield.purgeKey(key, parsed.value.family, now, sourceTime);
          if (!answer.applied) {
            superseded.push(key);
            continue;
          }
          await store.forgetLocal(key, now);
          purged += 1;
        }
        return { purged, cursor: null, visibleWithinSeconds: store.visibleWithinSeconds, superseded };
      }
      // Recorded by the shields once, on the first page; the later pages only delete behind it.
      if (selector.cursor === undefined) {
        if ("family" in selector) {
          const family = getFamily(selector.family);
          if (family !== undefined) await shield.purgeFamily(family, now, sourceTime);
        } else {
          await shield.purgePrefix(selector.prefix, now, sourceTime);
        }
      }
      return store.purge(selector, now);
    },
  };
}
