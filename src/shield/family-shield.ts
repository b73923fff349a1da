/**
 * `FamilyShield`: the Durable Object that is the single writer of one family (or one shard of
 * it). docs/storage-schema.md §Shield is the contract; in short:
 * - Fills after an L1+L2 miss come here: one origin fill per key for the whole edge at a time,
 *   every waiter gets the same bytes, and fresh values up to `maxValueBytes` are kept in this
 *   object's SQLite storage so a colo whose KV read is stale or missing is answered from here.
 * - Admin PUT, DELETE and purges come here too and are applied one at a time (`serial`), so KV
 *   receives them in the order they were applied.
 * - Ordering rule (./ordering.ts): a write or purge after a fill started wins; the fill answers
 *   its waiters and writes nothing. Leases (`lease` / `renewLease` / `commitLease` /
 *   `commitWrite`) let a write that streams its bytes elsewhere (media: origin or admin → R2)
 *   publish under the same rule; a lease the writer stops renewing lapses, and its object goes.
 * - Source times (`X-Edge-Source-Time`): each write's mark, and each family/prefix purge's, is kept
 *   until `markKeepUntil` (./ordering.ts) so a retried older write still loses, then removed.
 * - Refresh ahead (`refreshAhead`, docs/storage-schema.md §Refresh ahead): one origin fill per
 *   (key, expires-at) for the whole edge, recorded in `refreshes` before the origin is asked, so
 *   every later request for that lifetime — from any isolate, for a value of any size — is
 *   answered without the origin. It is a fill like any other: the ordering rule applies to it.
 * The clock is the caller's (`now` on every call); an alarm deletes values, marks and refresh
 * records expired by the latest clock a caller sent.
 */
import { DurableObject } from "cloudflare:workers";
import { createTokenMemory } from "../auth/jwt";
import { DEFAULT_MEDIA_LEASE_MS, MAX_MEDIA_LEASE_MS, MIN_MEDIA_LEASE_MS, parseConfig, type Config, type Env } from "../config";
import { parseKey, type FamilyEntry } from "../keys";
import { errorFields, familyLabelOf, logEvent } from "../log";
import { staysInColo, type Fill } from "../cache/filler";
import { createOriginClient, type OriginClient } from "../origin/client";
import { originFill } from "../origin/fill";
import { createR2Tier, createStoreMemory, createTieredStore, isWriterObjectKey, type PutResult, type StoredValue, type TieredStore, type WriteResult } from "../storage";
import {
  beginFill,
  createOrdering,
  endFill,
  isLateWrite,
  markKeepUntil,
  mayCommit,
  mergeMarks,
  newestInForce,
  notePurge,
  noteWrite,
  refreshAllowed,
  type SourceMark,
} from "./ordering";

/** How a fill was answered: from this object's storage, by a new origin fill, or by joining one. */
export type ShieldSource = "shield" | "origin" | "joined";

export interface ShieldFillAnswer {
  fill: Fill;
  source: ShieldSource;
  /** The value was written (shield and KV) by this fill; false when it lost to a later write. */
  committed: boolean;
  /** Wall-clock ms the origin took, when this answer asked it (or joined a fill that did): `Server-Timing`'s `origin`. */
  originMs?: number;
}

export type ShieldWriteAnswer =
  /** `result.skipped`: KV already held these bytes (docs/storage-schema.md "Write-skip"). */
  | { applied: true; result: WriteResult }
  /** Dropped: older (`X-Edge-Source-Time`) than the newest write applied to the key. */
  | { applied: false; reason: "late" }
  /** A leased write (`commitWrite`) that a later write or purge overtook, or whose lease lapsed. */
  | { applied: false; reason: "overtaken" };

/**
 * How a refresh ahead went here: `refreshed` (this call asked the origin; `value` is what it
 * committed), `done` (this lifetime's refresh, or a newer fill, came first; `value` is this
 * object's newer copy when it keeps one), `failed` (the origin failed: nothing was written).
 */
export type ShieldRefreshAnswer =
  | { outcome: "refreshed" | "done"; value?: StoredValue }
  | { outcome: "failed"; message: string };

export const SHIELD_COUNTERS = ["fills", "coalesced", "droppedLateWrites", "shieldHits", "lateAdminWrites", "refreshes", "refreshFailures"] as const;
export type ShieldCounter = (typeof SHIELD_COUNTERS)[number];
export type ShieldStats = Record<ShieldCounter, number>;

/** How often the alarm looks for expired values and source-time marks while any are stored. */
const CLEAN_INTERVAL_MS = 10 * 60 * 1000;
/** A source-time row as stored (`source_times`, `purge_times`). */
type MarkRow = { t: number; keep_until: number };

const markOf = (row: MarkRow): SourceMark => ({ t: row.t, keepUntil: row.keep_until });

interface Lease {
  key: string;
  startedAt: number;
  /**
   * A leased write's lapse: wall-clock, since it measures the writer's progress, not the caller's
   * clock. The shield's own fills have none: they end in this object, in `finally`.
   */
  lapse?: { timer: ReturnType<typeof setTimeout>; ttlMs: number };
  /** The `objects/<uuid>` the write streams into, removed if the lease lapses. */
  objectKey?: string;
}

export class FamilyShield extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly ordering = createOrdering();
  /** Serializes writes and commits: each runs after the previous settled. */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly inFlight = new Map<string, { refresh: boolean; answer: Promise<ShieldFillAnswer> }>();
  private readonly lastRefreshAt = new Map<string, number>();
  private readonly leases = new Map<number, Lease>();
  private parsed: { settings: Env; config: Config; store: TieredStore; origin: OriginClient } | undefined;
  /** This object's own memory (its store's in-flight loads, its tokens): a Durable Object is not the Worker's isolate. */
  private readonly memory = { storage: createStoreMemory(), tokens: createTokenMemory() };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS vals (key TEXT PRIMARY KEY, bytes BLOB NOT NULL, envelope TEXT NOT NULL, expires_at INTEGER NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS source_times (key TEXT PRIMARY KEY, t REAL NOT NULL, keep_until REAL NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS purge_times (prefix TEXT PRIMARY KEY, t REAL NOT NULL, keep_until REAL NOT NULL)`);
    // The newest value lifetime (its expires-at) each key was refreshed ahead for; kept until then.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS refreshes (key TEXT PRIMARY KEY, expires_at REAL NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value REAL NOT NULL)`);
    this.migrateSourceTimes();
  }

  /**
   * Objects created before marks had a lifetime hold `source_times(key, t)`: those rows get
   * `keep_until` 0, so they no longer order anything (one could be a time pinned far ahead), and
   * the alarm removes them (docs/storage-schema.md §Shield).
   */
  private migrateSourceTimes(): void {
    const columns = this.sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info('source_times')`).toArray();
    if (columns.some((column) => column.name === "keep_until")) return;
    this.sql.exec(`ALTER TABLE source_times ADD COLUMN keep_until REAL NOT NULL DEFAULT 0`);
    void this.ctx.blockConcurrencyWhile(() => this.scheduleClean());
  }

  /**
   * The storage this shield writes: the Worker's KV namespace and media bucket. A seam for tests
   * (test/helpers/shield-seams.ts), which wrap them with the same fault wrappers as the Worker's
   * own bindings.
   */
  protected storageBindings(): { kv: KVNamespace; media?: R2Bucket } {
    return { kv: this.env.CACHE, ...(this.env.MEDIA === undefined ? {} : { media: this.env.MEDIA }) };
  }

  /**
   * The environment this shield's config is parsed from: the Worker's. A seam for tests
   * (test/helpers/shield-seams.ts), which give a shield the origin or timeout a fault test gives
   * the Worker, so a fill through the shield meets the same fault. A new object is parsed anew.
   */
  protected settings(): Env {
    return this.env;
  }

  private deps(): { config: Config; store: TieredStore; origin: OriginClient } {
    const settings = this.settings();
    if (this.parsed === undefined || this.parsed.settings !== settings) {
      const config = parseConfig(settings);
      const { kv, media } = this.storageBindings();
      // KV only: the shield has no colo cache of its own, and its own storage is its L1.
      const store = createTieredStore({
        kv,
        ...(media === undefined ? {} : { media: createR2Tier(media) }),
        l1MaxAgeSeconds: config.l1MaxAgeSeconds,
        staleIfErrorSeconds: config.staleIfErrorSeconds,
        baseUrl: "https://shield.invalid/",
        memory: this.memory.storage,
      });
      const origin = createOriginClient({
        config: { originUrl: config.originUrl, originTimeoutMs: config.originTimeoutMs, edgeOriginSecret: config.secrets.edgeOrigin },
        tokens: this.memory.tokens,
      });
      this.parsed = { settings, config, store, origin };
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
    await this.scheduleClean();
  }

  /** The alarm runs while anything it removes is stored (values, source-time marks). */
  private async scheduleClean(): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + CLEAN_INTERVAL_MS);
  }

  /** The newest source time in force for `key`: its own mark's, or a purge's whose prefix covers it. */
  private newestSourceTime(key: string, now: number): number | undefined {
    const own = this.sql.exec<MarkRow>(`SELECT t, keep_until FROM source_times WHERE key = ?`, key).toArray();
    const purges = this.sql.exec<MarkRow>(`SELECT t, keep_until FROM purge_times WHERE substr(?, 1, length(prefix)) = prefix`, key).toArray();
    return newestInForce([...own, ...purges].map(markOf), now);
  }

  /**
   * Applies `X-Edge-Source-Time` to the key's mark; true when the write must be dropped. A write
   * without one leaves the mark as it is, except an operator's key purge (`unpin`), which clears it.
   */
  private async late(
    key: string,
    now: number,
    mark: { sourceTime?: number; valueExpiresAt?: number; unpin?: boolean },
  ): Promise<boolean> {
    if (mark.sourceTime === undefined) {
      if (mark.unpin === true) this.sql.exec(`DELETE FROM source_times WHERE key = ?`, key);
      return false;
    }
    if (isLateWrite(this.newestSourceTime(key, now), mark.sourceTime)) return true;
    const keepUntil = markKeepUntil(now, this.deps().config.sourceTimeWindowSeconds, mark.valueExpiresAt);
    this.sql.exec(`INSERT OR REPLACE INTO source_times (key, t, keep_until) VALUES (?, ?, ?)`, key, mark.sourceTime, keepUntil);
    await this.scheduleClean();
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
        return { fill: { kind: "value", value: own, stored: true, tier: "shield" }, source: "shield", committed: false };
      }
      const running = this.inFlight.get(key);
      if (running !== undefined) {
        this.count("coalesced");
        return { ...(await running.answer), source: "joined" };
      }
    } else {
      this.rememberRefresh(key, now);
      // A forced refresh is a write: an older fill still in flight must not overwrite what it gets.
      noteWrite(this.ordering, key);
    }

    return this.originFill(key, parsed.value.family, now, refresh);
  }

  /**
   * Notes a forced refresh of `key` at `now`. Keys a refresh older than the interval allows again
   * (`refreshAllowed`) are dropped first, oldest first (the map is in refresh order), so an
   * instance remembers only the last REFRESH_MIN_INTERVAL_SECONDS of forced refreshes, not every
   * key a client ever sent `Pragma: no-cache` for.
   */
  private rememberRefresh(key: string, now: number): void {
    for (const [held, at] of this.lastRefreshAt) {
      if (!refreshAllowed(at, now)) break;
      this.lastRefreshAt.delete(held);
    }
    this.lastRefreshAt.delete(key); // re-inserted as the newest
    this.lastRefreshAt.set(key, now);
  }

  /**
   * One origin fill of `key`, committed under the ordering rule (a write or purge that arrives
   * after it started wins), which later plain fills of the key join while it runs.
   */
  private async originFill(key: string, family: FamilyEntry, now: number, refresh: boolean): Promise<ShieldFillAnswer> {
    const { config, origin } = this.deps();
    const lease = this.openLease(key);
    const answer = (async (): Promise<ShieldFillAnswer> => {
      try {
        const askedAt = Date.now();
        const filled = await originFill(key, family, now, {
          origin,
          collabMaxSeconds: config.collabMaxSeconds,
        }, { refresh });
        const originMs = Date.now() - askedAt;
        this.count("fills");
        if (filled.kind !== "value" || !filled.stored) return { fill: filled, source: "origin", committed: false, originMs };
        // A negative answer about a key anonymous requests name is kept by nobody here (../cache/filler.ts).
        if (staysInColo(family, filled.value)) return { fill: { ...filled, stored: false }, source: "origin", committed: false, originMs };
        const value = filled.value;
        const committed = await this.commitLease({ key, lease, now }, async () => {
          await this.keepOwn(key, value, now);
          return this.deps().store.write(key, value, now);
        });
        return { fill: { ...filled, stored: committed.committed }, source: "origin", committed: committed.committed, originMs };
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

  /**
   * Refresh ahead of the value of `key` that expires at `expiresAt` (a hit found it in its last
   * tenth of life or last 60 s): asks the origin once for the whole edge, however many isolates
   * and colos ask, and records that it did before asking — so a value too large for this
   * object's storage is not refilled twice either. Answers without the origin when this lifetime
   * was refreshed already, a fill of the key is running, or a newer value is held here. What the
   * origin answers is a fill: committed only if no write or purge of the key arrived since it
   * started. A failed origin changes nothing: readers keep the value until it expires, and the
   * record stays (one origin call per lifetime, failed or not).
   */
  async refreshAhead(request: { key: string; expiresAt: number; now: number }): Promise<ShieldRefreshAnswer> {
    const { key, expiresAt, now } = request;
    this.observe(now);
    const parsed = parseKey(key);
    if (!parsed.ok) return { outcome: "failed", message: `shield: ${parsed.failure.message}` };
    const own = this.readOwn(key, now);
    if (own !== undefined && own.envelope.expiresAt > expiresAt) return { outcome: "done", value: own };
    const asked = this.sql.exec<{ expires_at: number }>(`SELECT expires_at FROM refreshes WHERE key = ?`, key).toArray()[0];
    if ((asked !== undefined && asked.expires_at >= expiresAt) || this.inFlight.has(key)) return { outcome: "done" };
    this.sql.exec(`INSERT OR REPLACE INTO refreshes (key, expires_at) VALUES (?, ?)`, key, expiresAt);
    this.count("refreshes");
    await this.scheduleClean();
    const answer = await this.originFill(key, parsed.value.family, now, false);
    const { fill } = answer;
    if (fill.kind === "error") {
      this.count("refreshFailures");
      return { outcome: "failed", message: `origin error ${fill.status}: ${fill.message}` };
    }
    // An `absent` or `unsupported` answer is left to the next miss: the value is served until it
    // expires, as it would have been without the refresh.
    return fill.kind === "value" && answer.committed ? { outcome: "refreshed", value: fill.value } : { outcome: "refreshed" };
  }

  // ---- leases: a write whose bytes do not pass through here ----

  private openLease(key: string, leased?: { ttlMs: number; objectKey?: string }): number {
    const startedAt = beginFill(this.ordering);
    const lease: Lease = { key, startedAt };
    if (leased !== undefined) {
      lease.lapse = { timer: setTimeout(() => this.lapseLease(startedAt), leased.ttlMs), ttlMs: leased.ttlMs };
      if (leased.objectKey !== undefined) lease.objectKey = leased.objectKey;
    }
    this.leases.set(startedAt, lease);
    return startedAt;
  }

  private closeLease(lease: number): void {
    const held = this.leases.get(lease);
    if (held === undefined) return;
    if (held.lapse !== undefined) clearTimeout(held.lapse.timer);
    this.leases.delete(lease);
    endFill(this.ordering);
  }

  /**
   * Nothing renewed the lease for its length: its writer has stopped (or is gone), and can no
   * longer commit. Its object is removed here, for a writer that died after its upload finished;
   * one still uploading finds its commit refused and removes the object itself.
   */
  private lapseLease(lease: number): void {
    const held = this.leases.get(lease);
    if (held === undefined) return;
    this.closeLease(lease);
    const { objectKey } = held;
    if (objectKey === undefined || this.env.MEDIA === undefined) return;
    this.ctx.waitUntil(
      createR2Tier(this.env.MEDIA)
        .discardObject(objectKey)
        .catch((error: unknown) => logEvent("media object not removed", { family: familyLabelOf(held.key), ...errorFields(error) })),
    );
  }

  /** Whether `lease` still holds for `key` and nothing written or purged since may overtake it. */
  private holds(request: { key: string; lease: number }): boolean {
    const held = this.leases.get(request.lease);
    return held !== undefined && held.key === request.key && mayCommit(this.ordering, request.key, request.lease);
  }

  /**
   * Starts a write whose bytes go elsewhere (media: origin → R2 → client, or an admin PUT → R2).
   * The caller streams its object to `objectKey` (an `objects/<uuid>`), renews the lease while
   * bytes flow (`renewLease`), then publishes with `commitLease` (a fill) or `commitWrite` (an
   * admin PUT). A lease not renewed within `ttlMs` (MEDIA_LEASE_MS, clamped) lapses.
   */
  async lease(request: { key: string; now: number; ttlMs?: number; objectKey?: string }): Promise<{ lease: number }> {
    this.observe(request.now);
    const ttlMs = Math.min(Math.max(request.ttlMs ?? DEFAULT_MEDIA_LEASE_MS, MIN_MEDIA_LEASE_MS), MAX_MEDIA_LEASE_MS);
    // Only a writer's own object is removed on a lapse: a content address may back other pointers.
    const objectKey = request.objectKey !== undefined && isWriterObjectKey(request.objectKey) ? request.objectKey : undefined;
    return { lease: this.openLease(request.key, { ttlMs, ...(objectKey === undefined ? {} : { objectKey }) }) };
  }

  /**
   * The writer made progress: the lease lives another `ttlMs`. `held` is false once it cannot
   * commit any more (lapsed, committed, or overtaken by a write or purge).
   */
  async renewLease(request: { key: string; lease: number; now: number }): Promise<{ held: boolean }> {
    this.observe(request.now);
    const held = this.leases.get(request.lease);
    if (held?.lapse === undefined || held.key !== request.key) return { held: false };
    clearTimeout(held.lapse.timer);
    held.lapse.timer = setTimeout(() => this.lapseLease(request.lease), held.lapse.ttlMs);
    return { held: mayCommit(this.ordering, request.key, request.lease) };
  }

  /**
   * Publishes a fill under the ordering rule, in order with every other write of this shield.
   * `publish` may be a callback from the caller (Workers RPC passes it as a stub). A lost or
   * lapsed lease publishes nothing and counts a dropped late write.
   */
  async commitLease(
    request: { key: string; lease: number; now: number },
    publish: () => Promise<PutResult>,
  ): Promise<{ committed: boolean; result?: PutResult }> {
    this.observe(request.now);
    return this.serial(async () => {
      if (!this.holds(request)) {
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

  /**
   * Publishes an admin PUT whose bytes were streamed under the lease: a write like `put`
   * (`X-Edge-Source-Time` applies; fills in flight lose to it), admitted only while the lease
   * holds — a write or purge of the key since the PUT began overtakes it, and a lapsed lease's
   * object may already be gone.
   */
  async commitWrite(
    request: { key: string; lease: number; now: number; valueExpiresAt: number; sourceTime?: number },
    publish: () => Promise<PutResult>,
  ): Promise<ShieldWriteAnswer> {
    try {
      // The mark lives as long as the value, as `put`'s does.
      const published = async (): Promise<WriteResult> => {
        const result = await publish();
        return result.ok ? { ok: true, skipped: false } : result;
      };
      return await this.applyWrite(request, { valueExpiresAt: request.valueExpiresAt }, published, () => this.holds(request));
    } finally {
      this.closeLease(request.lease);
    }
  }

  // ---- admin writes ----

  /** One admin write, after the `X-Edge-Source-Time` check, in order with everything else. */
  private applyWrite(
    request: { key: string; now: number; sourceTime?: number },
    mark: { valueExpiresAt?: number; unpin?: boolean },
    apply: () => Promise<WriteResult>,
    admit: () => boolean = () => true,
  ): Promise<ShieldWriteAnswer> {
    this.observe(request.now);
    return this.serial(async () => {
      // A leased write (`commitWrite`) checks its lease first: an overtaken one records nothing.
      if (!admit()) {
        this.count("droppedLateWrites");
        return { applied: false, reason: "overtaken" } as const;
      }
      const sourceTime = request.sourceTime === undefined ? {} : { sourceTime: request.sourceTime };
      const before = this.sql.exec<MarkRow>(`SELECT t, keep_until FROM source_times WHERE key = ?`, request.key).toArray()[0];
      if (await this.late(request.key, request.now, { ...mark, ...sourceTime })) {
        this.count("lateAdminWrites");
        return { applied: false, reason: "late" } as const;
      }
      noteWrite(this.ordering, request.key);
      // A write KV refused applied nothing (503): its mark goes too, so it orders no other write
      // out (found by the consistency checker).
      const restoreMark = () => {
        this.sql.exec(`DELETE FROM source_times WHERE key = ?`, request.key);
        if (before !== undefined) this.sql.exec(`INSERT INTO source_times (key, t, keep_until) VALUES (?, ?, ?)`, request.key, before.t, before.keep_until);
      };
      let result: WriteResult;
      try {
        result = await apply();
      } catch (error) {
        restoreMark();
        throw error;
      }
      if (!result.ok) restoreMark();
      return { applied: true, result } as const;
    });
  }

  async put(request: { key: string; value: StoredValue; now: number; sourceTime?: number }): Promise<ShieldWriteAnswer> {
    // The mark lives as long as the value it wrote, so an older retried PUT cannot replace it.
    return this.applyWrite(request, { valueExpiresAt: request.value.envelope.expiresAt }, async () => {
      // KV first: a PUT KV refuses answers 503 "nothing applied", so this object must not keep
      // (and answer fills with) the value either. Found by the consistency checker.
      const result = await this.deps().store.write(request.key, request.value, request.now);
      if (result.ok) await this.keepOwn(request.key, request.value, request.now);
      return result;
    });
  }

  /**
   * DELETE, a key purge, or the origin saying the value is gone. Throws when KV keeps refusing.
   * With a source time it leaves a tombstone mark; `unpin` (an operator's key purge without one)
   * clears the key's mark instead.
   */
  async remove(request: { key: string; now: number; sourceTime?: number; unpin?: boolean }): Promise<ShieldWriteAnswer> {
    return this.applyWrite(request, request.unpin === true ? { unpin: true } : {}, async () => {
      this.sql.exec(`DELETE FROM vals WHERE key = ?`, request.key);
      await this.deps().store.delete(request.key);
      return { ok: true, skipped: false };
    });
  }

  /**
   * A family purge (`prefix` "") or prefix purge: O(1) here — fills in flight for matching keys
   * lose, and this object's matching values go in one statement. KV is cleaned by the caller's
   * paged deletes. With a source time, one mark for the prefix makes every older write of a key
   * it covers late; without one (an operator's purge), the marks of the keys and prefixes it
   * covers are cleared, so nothing stays pinned.
   */
  async purge(request: { prefix: string; now: number; sourceTime?: number }): Promise<void> {
    const { prefix, now, sourceTime } = request;
    this.observe(now);
    await this.serial(async () => {
      notePurge(this.ordering, prefix);
      this.sql.exec(`DELETE FROM vals WHERE substr(key, 1, ?) = ?`, prefix.length, prefix);
      if (sourceTime === undefined) {
        this.sql.exec(`DELETE FROM source_times WHERE substr(key, 1, ?) = ?`, prefix.length, prefix);
        this.sql.exec(`DELETE FROM purge_times WHERE substr(prefix, 1, ?) = ?`, prefix.length, prefix);
        return;
      }
      const existing = this.sql.exec<MarkRow>(`SELECT t, keep_until FROM purge_times WHERE prefix = ?`, prefix).toArray()[0];
      const mark = mergeMarks(
        existing === undefined ? undefined : markOf(existing),
        { t: sourceTime, keepUntil: markKeepUntil(now, this.deps().config.sourceTimeWindowSeconds) },
        now,
      );
      this.sql.exec(`INSERT OR REPLACE INTO purge_times (prefix, t, keep_until) VALUES (?, ?, ?)`, prefix, mark.t, mark.keepUntil);
      await this.scheduleClean();
    });
  }

  async stats(): Promise<ShieldStats> {
    const stats = Object.fromEntries(SHIELD_COUNTERS.map((name) => [name, 0])) as ShieldStats;
    for (const row of this.sql.exec<{ name: string; n: number }>(`SELECT name, n FROM counters`)) {
      if ((SHIELD_COUNTERS as readonly string[]).includes(row.name)) stats[row.name as ShieldCounter] = row.n;
    }
    return stats;
  }

  /** Removes expired values and marks, by the latest caller clock; runs again while any are left. */
  override async alarm(): Promise<void> {
    const now = this.sql.exec<{ value: number }>(`SELECT value FROM meta WHERE name = 'now'`).toArray()[0]?.value;
    if (now !== undefined) {
      this.sql.exec(`DELETE FROM vals WHERE expires_at <= ?`, now);
      this.sql.exec(`DELETE FROM source_times WHERE keep_until <= ?`, now);
      this.sql.exec(`DELETE FROM purge_times WHERE keep_until <= ?`, now);
      this.sql.exec(`DELETE FROM refreshes WHERE expires_at <= ?`, now);
    }
    const left = this.sql.exec<{ n: number }>(
      `SELECT (SELECT count(*) FROM vals) + (SELECT count(*) FROM source_times) + (SELECT count(*) FROM purge_times) + (SELECT count(*) FROM refreshes) AS n`,
    ).one().n;
    if (left > 0) await this.ctx.storage.setAlarm(Date.now() + CLEAN_INTERVAL_MS);
  }
}
