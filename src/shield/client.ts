/**
 * The Worker's side of the shields (docs/storage-schema.md §Shield): which object to ask, and
 * what this isolate and colo do with the answer. The hit path (L0/L1/L2) never comes here; only
 * misses, admin writes and purges do. Local copies (L0, L1) follow the shield's answer: written
 * only when the shield committed (or answered from its own storage), dropped after a delete or
 * purge.
 */
import { parseKey, type FamilyEntry } from "../keys";
import { originFill, staysInColo, type Fill, type FillDeps, type Filler } from "../origin";
import type { PutResult, StoredValue, TieredStore } from "../storage";
import type { FamilyShield, ShieldStats, ShieldWriteAnswer } from "./family-shield";
import { SHIELD_COUNTERS } from "./family-shield";
import { errorFields, logEvent } from "../observe/log";
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
  /**
   * The `Filler` for misses of this request's store. `fallback` fills when the shield cannot be
   * reached; its value is served but stored nowhere, since only the shield may order writes.
   */
  filler(store: TieredStore, fallback: FillDeps): Filler;
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

async function eachLimited(names: readonly string[], run: (name: string) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < names.length) await run(names[next++] as string);
  };
  await Promise.all(Array.from({ length: Math.min(PURGE_CONCURRENCY, names.length) }, worker));
}

export function createShieldClient(namespace: DurableObjectNamespace<FamilyShield>, options: { shards: number }): ShieldClient {
  const stub = (name: string) => namespace.get(namespace.idFromName(name));
  const stubFor = (key: string, family: FamilyEntry) => stub(shieldNameFor(family, key, options.shards));

  return {
    filler(store, fallback) {
      return {
        async fill(key, family, now, { refresh }): Promise<Fill> {
          const unstored = async (): Promise<Fill> => {
            const filled = await store.singleFlight(`unstored-fill:${key}`, () => originFill(key, family, now, fallback, { refresh }));
            return filled.kind === "value" ? { ...filled, stored: false } : filled;
          };
          // A view that never writes this key (a disabled family) must not have the shield write it.
          if (store.writes?.(key) === false) return unstored();
          if (family.anonymousKeys !== undefined) {
            // Keys anonymous requests name (docs/security.md §5): asked of the origin from here, so
            // a made-up key costs the shield nothing. Its negative answer (and an `absent`) stays
            // in this colo; a real answer is filled and stored through the shield as any other,
            // so the ordering rule holds for it (one more origin call, on the first miss only).
            const flight = `${refresh ? "anonymous-refresh:" : "anonymous-fill:"}${key}`;
            const probe = await store.singleFlight(flight, () => originFill(key, family, now, fallback, { refresh }));
            if (probe.kind !== "value") return probe;
            if (staysInColo(family, probe.value)) {
              await store.keepLocal(key, probe.value, now).catch((error: unknown) => {
                logEvent("colo copy not kept", { family: family.name, ...errorFields(error) });
              });
              return { ...probe, stored: false };
            }
          }
          let answer;
          try {
            answer = await stubFor(key, family).fill({ key, now, refresh });
          } catch (error) {
            // Unreachable or overloaded: the client is still answered, one fill per isolate.
            logEvent("shield unavailable; filling without storing", { family: family.name, ...errorFields(error) });
            return unstored();
          }
          const { fill } = answer;
          // The shield's own copy and a committed fill are current: keep them here too. A fill
          // that lost to a later write leaves nothing locally either.
          if (fill.kind === "value" && (answer.source === "shield" || answer.committed)) {
            await store.keepLocal(key, fill.value, now);
          }
          return fill;
        },
        async forget(key, now) {
          const parsed = parseKey(key);
          if (parsed.ok) await stubFor(key, parsed.value.family).remove({ key, now });
          await store.forgetLocal(key);
        },
      };
    },

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
