/**
 * The Worker's side of the shields (docs/storage-schema.md §Shield): which object to ask. The hit
 * path (L0/L1/L2) never comes here; only misses (./filler.ts), admin writes and purges
 * (./writer.ts) and media leases do. What this isolate and colo do with an answer is theirs.
 */
import type { FamilyEntry } from "../keys";
import { errorFields, logEvent } from "../log";
import type { PutResult, StoredValue } from "../storage";
import type { FamilyShield, ShieldFillAnswer, ShieldRefreshAnswer, ShieldStats, ShieldWriteAnswer } from "./family-shield";
import { SHIELD_COUNTERS } from "./family-shield";
import { forEachLimited } from "../util/concurrency";
import { shieldNameFor, shieldNamesForPrefix, shieldNamesOfFamily } from "./placement";

/** A write whose bytes go elsewhere (media: origin or admin PUT → R2), started at the shield. */
export interface ShieldLease {
  /**
   * The write made progress (bytes reached R2): renews the lease at the shield once a third of
   * its length has passed since the last renewal, so a write that keeps moving never lapses.
   */
  progress(): void;
  /** A fill: runs `publish` only if no write or purge of the key reached the shield since the lease. */
  commit(publish: () => Promise<PutResult>, now: number): Promise<{ committed: boolean; result?: PutResult }>;
  /**
   * An admin PUT: runs `publish` as a write (`X-Edge-Source-Time` applies; its mark lives as long
   * as the value, `valueExpiresAt`), if the lease still holds.
   */
  commitWrite(publish: () => Promise<PutResult>, now: number, write: { valueExpiresAt: number; sourceTime?: number }): Promise<ShieldWriteAnswer>;
}

export interface LeaseOptions {
  /** MEDIA_LEASE_MS: the lease lapses when not renewed for this long. */
  ttlMs: number;
  /** The `objects/<uuid>` the write streams into: the shield removes it if the lease lapses. */
  objectKey?: string;
}

/** Renewals per lease length while bytes flow: two can be lost before the lease lapses. */
const RENEWALS_PER_LEASE = 3;

/** Pure: whether a write that made progress at `nowMs` renews a lease last renewed at `renewedAtMs`. */
function renewalDue(renewedAtMs: number, nowMs: number, ttlMs: number): boolean {
  return nowMs - renewedAtMs >= ttlMs / RENEWALS_PER_LEASE;
}

export interface ShieldClient {
  /** The fill of a miss, by the key's shield: its own copy, a new origin fill, or one joined. */
  fill(key: string, family: FamilyEntry, now: number, refresh: boolean): Promise<ShieldFillAnswer>;
  /** Refresh ahead of the value expiring at `expiresAt`: the origin asked once per (key, expiresAt) edge-wide. */
  refreshAhead(key: string, family: FamilyEntry, expiresAt: number, now: number): Promise<ShieldRefreshAnswer>;
  put(key: string, family: FamilyEntry, value: StoredValue, now: number, sourceTime?: number): Promise<ShieldWriteAnswer>;
  remove(key: string, family: FamilyEntry, now: number, sourceTime?: number): Promise<ShieldWriteAnswer>;
  /**
   * One key of a key purge: with a source time, a `remove` with it; without one (an operator's
   * purge), also clears the key's source-time mark, so an operator can always unpin a key.
   */
  purgeKey(key: string, family: FamilyEntry, now: number, sourceTime?: number): Promise<ShieldWriteAnswer>;
  /** The O(1) part of a family purge: every shield of the family. */
  purgeFamily(family: FamilyEntry, now: number, sourceTime?: number): Promise<void>;
  /** The O(1) part of a prefix purge: every shield whose family the prefix can match. */
  purgePrefix(prefix: string, now: number, sourceTime?: number): Promise<void>;
  /** A family's shield counters, summed over its shards. */
  stats(family: FamilyEntry): Promise<ShieldStats>;
  /** Opens a lease for a write that streams elsewhere; take it before its first byte. */
  lease(key: string, family: FamilyEntry, now: number, options: LeaseOptions): Promise<ShieldLease>;
}

/** Purge fan-out: at most this many shields asked at once. */
const PURGE_CONCURRENCY = 16;

const eachLimited = (names: readonly string[], run: (name: string) => Promise<void>): Promise<void> => forEachLimited(names, PURGE_CONCURRENCY, run);

export function createShieldClient(namespace: DurableObjectNamespace<FamilyShield>, options: { shards: number }): ShieldClient {
  const stub = (name: string) => namespace.get(namespace.idFromName(name));
  const stubFor = (key: string, family: FamilyEntry) => stub(shieldNameFor(family, key, options.shards));

  return {
    fill: (key, family, now, refresh) => stubFor(key, family).fill({ key, now, refresh }),

    refreshAhead: (key, family, expiresAt, now) => stubFor(key, family).refreshAhead({ key, expiresAt, now }),

    put: (key, family, value, now, sourceTime) =>
      stubFor(key, family).put({ key, value, now, ...(sourceTime === undefined ? {} : { sourceTime }) }),

    remove: (key, family, now, sourceTime) =>
      stubFor(key, family).remove({ key, now, ...(sourceTime === undefined ? {} : { sourceTime }) }),

    purgeKey: (key, family, now, sourceTime) =>
      stubFor(key, family).remove(sourceTime === undefined ? { key, now, unpin: true } : { key, now, sourceTime }),

    purgeFamily: (family, now, sourceTime) =>
      eachLimited(shieldNamesOfFamily(family, options.shards), (name) =>
        stub(name).purge({ prefix: "", now, ...(sourceTime === undefined ? {} : { sourceTime }) }),
      ),

    purgePrefix: (prefix, now, sourceTime) =>
      eachLimited(shieldNamesForPrefix(prefix, options.shards), (name) =>
        stub(name).purge({ prefix, now, ...(sourceTime === undefined ? {} : { sourceTime }) }),
      ),

    async lease(key, family, now, { ttlMs, objectKey }) {
      const shield = stubFor(key, family);
      const { lease } = await shield.lease({ key, now, ttlMs, ...(objectKey === undefined ? {} : { objectKey }) });
      // Wall-clock, like the shield's lapse timer: both measure the write's progress in real time.
      let renewedAt = Date.now();
      let renewing = false;
      let held = true;
      return {
        progress() {
          if (!held || renewing || !renewalDue(renewedAt, Date.now(), ttlMs)) return;
          renewing = true;
          renewedAt = Date.now();
          shield
            .renewLease({ key, lease, now })
            .then((answer) => {
              // Overtaken or lapsed: the commit will be refused; nothing left to renew.
              held = answer.held;
            })
            .catch((error: unknown) => logEvent("media lease renewal failed", { family: family.name, ...errorFields(error) }))
            .finally(() => {
              renewing = false;
            });
        },
        async commit(publish, at) {
          const answer = await shield.commitLease({ key, lease, now: at }, publish);
          return answer.result === undefined ? { committed: answer.committed } : { committed: answer.committed, result: answer.result };
        },
        commitWrite: (publish, at, write) => shield.commitWrite({ key, lease, now: at, ...write }, publish),
      };
    },

    async stats(family) {
      const total = Object.fromEntries(SHIELD_COUNTERS.map((name) => [name, 0])) as ShieldStats;
      await eachLimited(shieldNamesOfFamily(family, options.shards), async (name) => {
        const one = await stub(name).stats();
        for (const counter of SHIELD_COUNTERS) total[counter] += one[counter];
      });
      return total;
    },
  };
}
