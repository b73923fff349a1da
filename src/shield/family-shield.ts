/**
 * `FamilyShield`: the Durable Object that is the single writer of one family (or one shard of
 * it). docs/storage-schema.md §Shield is the contract; in short:
 * - Fills after an L1+L2 miss come here: one origin fill per key for the whole edge at a time,
 *   every waiter gets the same bytes, and fresh values up to `maxValueBytes` are kept in this
 *   object's SQLite storage so a colo whose KV read is stale or missing is answered from here.
 * - Admin PUT, DELETE and purges come here too and are applied one at a time (`serial`), so KV
 *   receives them in the order they were applied.
 * - Ordering rule (./ordering.ts): a write or purge after a fill started wins; the fill answers
 *   its waiters and writes nothing. Leases (`lease` / `commitLease`) let a fill that streams its
 *   bytes elsewhere (media: origin → R2 → client) publish under the same rule.
 * The clock is the caller's (`now` on every call); an alarm deletes values expired by the latest
 * clock a caller sent.
 */
import { DurableObject } from "cloudflare:workers";
import { parseConfig, type Config, type Env } from "../config";
import { parseKey } from "../keys";
import { familyLabelOf, logEvent } from "../observe/log";
import { originClientFor, originFill, staysInColo, type Fill } from "../origin";
import { createR2Tier, createTieredStore, type PutResult, type StoredValue, type TieredStore } from "../storage";
import {
  beginFill,
  createOrdering,
  endFill,
  isLateWrite,
  mayCommit,
  notePurge,
  noteWrite,
  refreshAllowed,
} from "./ordering";

/** How a fill was answered: from this object's storage, by a new origin fill, or by joining one. */
export type ShieldSource = "shield" | "origin" | "joined";

export interface ShieldFillAnswer {
  fill: Fill;
  source: ShieldSource;
  /** The value was written (shield and KV) by this fill; false when it lost to a later write. */
  committed: boolean;
}

export type ShieldWriteAnswer =
  | { applied: true; result: PutResult }
  /** Dropped: older (`X-Edge-Source-Time`) than the newest write applied to the key. */
  | { applied: false; reason: "late" };

export const SHIELD_COUNTERS = ["fills", "coalesced", "droppedLateWrites", "shieldHits", "lateAdminWrites"] as const;
export type ShieldCounter = (typeof SHIELD_COUNTERS)[number];
export type ShieldStats = Record<ShieldCounter, number>;

/** How often the alarm looks for expired values while any are stored. */
const CLEAN_INTERVAL_MS = 10 * 60 * 1000;
/** A lease not committed within this long is abandoned (its fill's worker is gone). */
const LEASE_TTL_MS = 5 * 60 * 1000;

interface Lease {
  key: string;
  startedAt: number;
  timer: ReturnType<typeof setTimeout>;
}

export class FamilyShield extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly ordering = createOrdering();
  /** Serializes writes and commits: each runs after the previous settled. */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly inFlight = new Map<string, { refresh: boolean; answer: Promise<ShieldFillAnswer> }>();
  private readonly lastRefreshAt = new Map<string, number>();
  private readonly leases = new Map<number, Lease>();
  private parsed: { config: Config; store: TieredStore } | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS vals (key TEXT PRIMARY KEY, bytes BLOB NOT NULL, envelope TEXT NOT NULL, expires_at INTEGER NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS source_times (key TEXT PRIMARY KEY, t REAL NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value REAL NOT NULL)`);
  }

  private deps(): { config: Config; store: TieredStore } {
    if (this.parsed === undefined) {
      const config = parseConfig(this.env);
      // KV only: the shield has no colo cache of its own, and its own storage is its L1.
      const store = createTieredStore({
        kv: this.env.CACHE,
        ...(this.env.MEDIA === undefined ? {} : { media: createR2Tier(this.env.MEDIA) }),
        l1MaxAgeSeconds: config.l1MaxAgeSeconds,
        staleIfErrorSeconds: config.staleIfErrorSeconds,
        baseUrl: "https://shield.invalid/",
        waitUntil: (promise) => this.ctx.waitUntil(promise),
      });
      this.parsed = { config, store };
    }
    return this.parsed;
  }

  private count(counter: ShieldCounter, by = 1): void {
    this.sql.exec(`INSERT INTO counters (name, n) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET n = n + excluded.n`, counter, by);
  }

  /** The latest caller clock, for the alarm (which has no caller). */
  private observe(now: number): void {
    this.sql.exec(`INSERT INTO meta (name, value) VALUES ('now', ?) ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)`, now);
  }

  private serial<T>(run: () => Promise<T>): Promise<T> {
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private readOwn(key: string, now: number): StoredValue | undefined {
    const row = this.sql.exec<{ bytes: ArrayBuffer; envelope: string; expires_at: number }>(
      `SELECT bytes, envelope, expires_at FROM vals WHERE key = ?`,
      key,
    ).toArray()[0];
    if (row === undefined || row.expires_at <= now) return undefined;
    return { bytes: new Uint8Array(row.bytes), envelope: JSON.parse(row.envelope) as StoredValue["envelope"] };
  }

  private async keepOwn(key: string, value: StoredValue, now: number): Promise<void> {
    const { config } = this.deps();
    if (value.bytes.byteLength > config.shieldMaxValueBytes || value.envelope.expiresAt <= now) {
      this.sql.exec(`DELETE FROM vals WHERE key = ?`, key); // KV only; an older copy must not stay
      return;
    }
    this.sql.exec(
      `INSERT OR REPLACE INTO vals (key, bytes, envelope, expires_at) VALUES (?, ?, ?, ?)`,
      key,
      value.bytes,
      JSON.stringify(value.envelope),
      value.envelope.expiresAt,
    );
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + CLEAN_INTERVAL_MS);
  }

  /** Applies `X-Edge-Source-Time`; true when the write must be dropped. */
  private late(key: string, sourceTime: number | undefined): boolean {
    const row = this.sql.exec<{ t: number }>(`SELECT t FROM source_times WHERE key = ?`, key).toArray()[0];
    if (isLateWrite(row?.t, sourceTime)) return true;
    if (sourceTime !== undefined) {
      this.sql.exec(`INSERT OR REPLACE INTO source_times (key, t) VALUES (?, ?)`, key, sourceTime);
    }
    return false;
  }

  // ---- fills ----

  async fill(request: { key: string; now: number; refresh: boolean }): Promise<ShieldFillAnswer> {
    const { key, now } = request;
    this.observe(now);
    const parsed = parseKey(key);
    if (!parsed.ok) return { fill: { kind: "error", status: 502, message: `shield: ${parsed.failure.message}` }, source: "origin", committed: false };
    // Forced refreshes reach the origin at most once per interval; a later one is a plain fill.
    const refresh = request.refresh && refreshAllowed(this.lastRefreshAt.get(key), now);

    if (!refresh) {
      const own = this.readOwn(key, now);
      if (own !== undefined) {
        this.count("shieldHits");
        return { fill: { kind: "value", value: own, stored: true }, source: "shield", committed: false };
      }
      const running = this.inFlight.get(key);
      if (running !== undefined) {
        this.count("coalesced");
        return { ...(await running.answer), source: "joined" };
      }
    } else {
      this.lastRefreshAt.set(key, now);
      // A forced refresh is a write: an older fill still in flight must not overwrite what it gets.
      noteWrite(this.ordering, key);
    }

    const { config } = this.deps();
    const lease = this.openLease(key);
    const answer = (async (): Promise<ShieldFillAnswer> => {
      try {
        const filled = await originFill(key, parsed.value.family, now, {
          origin: originClientFor(config),
          collabMaxSeconds: config.collabMaxSeconds,
        }, { refresh });
        this.count("fills");
        if (filled.kind !== "value" || !filled.stored) return { fill: filled, source: "origin", committed: false };
        // A negative answer about a key anonymous requests name is kept by nobody here (../origin/load.ts).
        if (staysInColo(parsed.value.family, filled.value)) return { fill: { ...filled, stored: false }, source: "origin", committed: false };
        const value = filled.value;
        const committed = await this.commitLease({ key, lease, now }, async () => {
          await this.keepOwn(key, value, now);
          return this.deps().store.write(key, value, now);
        });
        return { fill: { ...filled, stored: committed.committed }, source: "origin", committed: committed.committed };
      } finally {
        this.closeLease(lease);
      }
    })();
    const entry = { refresh, answer };
    this.inFlight.set(key, entry);
    try {
      return await answer;
    } finally {
      if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
    }
  }

  // ---- leases: a fill whose bytes do not pass through here ----

  private openLease(key: string): number {
    const startedAt = beginFill(this.ordering);
    const timer = setTimeout(() => this.closeLease(startedAt), LEASE_TTL_MS);
    this.leases.set(startedAt, { key, startedAt, timer });
    return startedAt;
  }

  private closeLease(lease: number): void {
    const held = this.leases.get(lease);
    if (held === undefined) return;
    clearTimeout(held.timer);
    this.leases.delete(lease);
    endFill(this.ordering);
  }

  /**
   * Starts a fill whose bytes go elsewhere (media: origin → R2 → client). The caller writes its
   * object (`AddressedTier.putObject`), then calls `commitLease` with a `publish` callback that
   * commits the pointer; the callback runs only if no write or purge of the key arrived since.
   */
  async lease(request: { key: string; now: number }): Promise<{ lease: number }> {
    this.observe(request.now);
    return { lease: this.openLease(request.key) };
  }

  /**
   * Publishes under the ordering rule, in order with every other write of this shield. `publish`
   * may be a callback from the caller (Workers RPC passes it as a stub). A lost or expired lease
   * publishes nothing and counts a dropped late write.
   */
  async commitLease(
    request: { key: string; lease: number; now: number },
    publish: () => Promise<PutResult>,
  ): Promise<{ committed: boolean; result?: PutResult }> {
    this.observe(request.now);
    return this.serial(async () => {
      const held = this.leases.get(request.lease);
      if (held === undefined || held.key !== request.key || !mayCommit(this.ordering, request.key, request.lease)) {
        this.count("droppedLateWrites");
        this.closeLease(request.lease);
        return { committed: false };
      }
      const result = await publish();
      this.closeLease(request.lease);
      if (!result.ok) logEvent("shield commit not stored", { family: familyLabelOf(request.key), reason: result.failure.reason, message: result.failure.message });
      return { committed: result.ok, result };
    });
  }

  // ---- admin writes ----

  /** One admin write, after the `X-Edge-Source-Time` check, in order with everything else. */
  private applyWrite(
    request: { key: string; now: number; sourceTime?: number },
    apply: () => Promise<PutResult>,
  ): Promise<ShieldWriteAnswer> {
    this.observe(request.now);
    return this.serial(async () => {
      if (this.late(request.key, request.sourceTime)) {
        this.count("lateAdminWrites");
        return { applied: false, reason: "late" } as const;
      }
      noteWrite(this.ordering, request.key);
      return { applied: true, result: await apply() } as const;
    });
  }

  async put(request: { key: string; value: StoredValue; now: number; sourceTime?: number }): Promise<ShieldWriteAnswer> {
    return this.applyWrite(request, async () => {
      await this.keepOwn(request.key, request.value, request.now);
      return this.deps().store.write(request.key, request.value, request.now);
    });
  }

  /** DELETE, a key purge, or the origin saying the value is gone. Throws when KV keeps refusing. */
  async remove(request: { key: string; now: number; sourceTime?: number }): Promise<ShieldWriteAnswer> {
    return this.applyWrite(request, async () => {
      this.sql.exec(`DELETE FROM vals WHERE key = ?`, request.key);
      await this.deps().store.delete(request.key);
      return { ok: true };
    });
  }

  /**
   * A family purge (`prefix` "") or prefix purge: O(1) here — fills in flight for matching keys
   * lose, and this object's matching values go in one statement. KV is cleaned by the caller's
   * paged deletes.
   */
  async purge(request: { prefix: string; now: number }): Promise<void> {
    this.observe(request.now);
    await this.serial(async () => {
      notePurge(this.ordering, request.prefix);
      this.sql.exec(`DELETE FROM vals WHERE substr(key, 1, ?) = ?`, request.prefix.length, request.prefix);
    });
  }

  async stats(): Promise<ShieldStats> {
    const stats = Object.fromEntries(SHIELD_COUNTERS.map((name) => [name, 0])) as ShieldStats;
    for (const row of this.sql.exec<{ name: string; n: number }>(`SELECT name, n FROM counters`)) {
      if ((SHIELD_COUNTERS as readonly string[]).includes(row.name)) stats[row.name as ShieldCounter] = row.n;
    }
    return stats;
  }

  override async alarm(): Promise<void> {
    const now = this.sql.exec<{ value: number }>(`SELECT value FROM meta WHERE name = 'now'`).toArray()[0]?.value;
    if (now !== undefined) this.sql.exec(`DELETE FROM vals WHERE expires_at <= ?`, now);
    const left = this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM vals`).one().n;
    if (left > 0) await this.ctx.storage.setAlarm(Date.now() + CLEAN_INTERVAL_MS);
  }
}
