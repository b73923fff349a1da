/**
 * Media reads (docs/storage-schema.md §R2): the pointer in R2 says which immutable object holds a
 * key's bytes; the bytes come from the colo's Cache API copy of that object (L1) when it has one,
 * else from R2 by range, else from the origin (a fill that writes R2 as it serves). The answer's
 * status, headers and body follow the caller's range plan, built once the object's size is known.
 *
 * L1 holds objects, not keys: an object never changes, so a copy of it is never wrong, and a
 * purge (which removes the pointer) is seen at once everywhere because the strongly consistent
 * pointer is read on every request. An object enters L1 when it is read again after its fill
 * (hot), if it is at most L1_MEDIA_MAX_BYTES, for at most L1_MAX_AGE_SECONDS. It is read back
 * slice by slice with ranged matches, so a small range of a large copy reads only that range.
 *
 * A fill takes the family shield's lease before its first byte, renews it while bytes reach R2,
 * and commits the pointer through it; an object that is not published is removed (./publish.ts).
 */
import type { CacheResult, ReadScope } from "../cache";
import type { OriginError } from "../errors";
import { computeExpiresAt, type FamilyEntry } from "../keys";
import { errorFields, familyLabelOf, logEvent } from "../log";
import type { OriginClient } from "../origin/client";
import type { ShieldLease } from "../shield/client";
import { classifyFreshness, familyCacheTag, newWriterObjectKey, type Envelope, type Pointer, type R2Tier } from "../storage";
import { L1_PATH_PREFIX } from "../storage/limits";
import { forwardSlices, renderPlan } from "./body";
import { startFill } from "./fill";
import { discardUnpublished, settleCommit, UNLEASED, type TakeLease } from "./publish";
import { putMedia, type MediaPut, type MediaPutResult } from "./put";
import type { RangePlan } from "./range";

/** Objects larger than this stay out of the colo cache (R2 serves them by range just as well). */
export const L1_MEDIA_MAX_BYTES = 32 * 1024 * 1024;

/** A media read's value: the answer's shape (status, headers, parts) and its streamed body. */
export interface MediaBody {
  plan: RangePlan;
  body: ReadableStream<Uint8Array>;
}

export interface MediaStoreOptions {
  r2: R2Tier;
  origin: OriginClient;
  /** The colo cache; absent when L1 is off. */
  cache?: Cache;
  /** Any URL on the Worker's own host; L1 copies live under it. */
  baseUrl: string;
  l1MaxAgeSeconds: number;
  staleIfErrorSeconds: number;
  collabMaxSeconds: number;
  /**
   * The family's shield (docs/storage-schema.md §Ordering): a lease whose `commit` publishes the
   * pointer only if no write or purge of the key came since it was taken. It is taken when the
   * origin's answer has a body to store (a lease left open costs the shield until it lapses, and
   * most misses of an unserved family never store). Without a shield the pointer is published
   * directly.
   */
  lease?: TakeLease;
  /**
   * MEDIA_LEASE_MS: a write's lease lapses after this long without progress, and a reader waiting
   * for another request's fill stops waiting after this long without progress (the fill can no
   * longer commit then) and fills itself.
   */
  leaseMs: number;
  /** The isolate's media fills in flight (src/isolate.ts). */
  flights: MediaFlights;
}

export interface MediaStore {
  /**
   * `plan(size)` is the answer's shape once the object's size is known. Never throws for R2 or
   * origin trouble before the answer starts: those are results.
   */
  read(key: string, family: FamilyEntry, scope: ReadScope, plan: (size: number) => RangePlan): Promise<CacheResult<MediaBody>>;
  /**
   * The admin API's GET: the key's fresh stored object (its envelope and bytes, streamed), or
   * undefined when there is none. Throws when R2 fails (existence is then unknown).
   */
  readValue(key: string, now: number): Promise<{ envelope: Envelope; body: ReadableStream<Uint8Array> } | undefined>;
  /** The admin API's PUT (./put.ts): the bytes to R2, the pointer through the shield. */
  put(key: string, family: FamilyEntry, input: MediaPut): Promise<MediaPutResult>;
}

/**
 * Media fills in flight in one isolate (src/isolate.ts): a second reader waits for the object
 * instead of a second download.
 */
export type MediaFlights = Map<string, Promise<Pointer | undefined>>;

/** A fill in flight, as the store sees it: how it ends for its waiters, and its sign of life. */
interface Flight {
  /** The published pointer, or undefined (nothing published, or the fill gave up). Once only. */
  settle(pointer: Pointer | undefined): void;
  /** Bytes reached R2, or the object is complete: waiters keep waiting. */
  progress(): void;
}

/**
 * Registers a fill of `key` for readers arriving meanwhile. A fill that makes no progress for
 * `idleMs` settles them with nothing, so they fill themselves: whatever hangs (the origin, R2, the
 * shield's commit), no reader waits past the point where the fill's lease has lapsed at its
 * shield, after which it could not publish anyway. Wall-clock, like that lease.
 */
function startFlight(inFlight: MediaFlights, key: string, idleMs: number, waitUntil: (promise: Promise<unknown>) => void): Flight {
  let settle: (pointer: Pointer | undefined) => void = () => undefined;
  const published = new Promise<Pointer | undefined>((resolve) => (settle = resolve));
  inFlight.set(key, published);
  let lastProgressAt = Date.now();
  const watch = () => {
    const idle = Date.now() - lastProgressAt;
    if (idle >= idleMs) settle(undefined);
    else timer = setTimeout(watch, idleMs - idle);
  };
  let timer = setTimeout(watch, idleMs);
  waitUntil(
    published.finally(() => {
      clearTimeout(timer);
      if (inFlight.get(key) === published) inFlight.delete(key);
    }),
  );
  return {
    settle: (pointer) => settle(pointer),
    progress: () => {
      lastProgressAt = Date.now();
    },
  };
}

export function createMediaStore(options: MediaStoreOptions): MediaStore {
  const { r2, cache } = options;

  async function takeLease(key: string, family: FamilyEntry, now: number, objectKey: string): Promise<ShieldLease | undefined> {
    if (options.lease === undefined) return UNLEASED;
    try {
      return await options.lease(key, family, now, { ttlMs: options.leaseMs, objectKey });
    } catch (error) {
      // Without the shield's word the fill may not publish; the client is still served.
      logEvent("media lease refused", { family: family.name, ...errorFields(error) });
      return undefined;
    }
  }
  const l1Url = (pointer: Pointer) => `${options.baseUrl.replace(/\/+$/, "")}${L1_PATH_PREFIX}media/${pointer.objectKey}`;

  /**
   * The plan's body by ranged R2 reads. The first slice is opened before the answer starts, so an
   * object the expiry rule has removed is a miss (undefined), not a broken 200.
   */
  async function fromR2(pointer: Pointer, plan: RangePlan): Promise<ReadableStream<Uint8Array> | undefined> {
    const first = plan.body.find((part) => part.kind === "slice");
    let opened = first === undefined ? undefined : await r2.readObject(pointer, { offset: first.offset, length: first.length });
    if (first !== undefined && opened === undefined) return undefined;
    return renderPlan(plan, async (offset, length) => {
      const ready = opened;
      opened = undefined;
      const slice = ready ?? (await r2.readObject(pointer, { offset, length }));
      if (slice === undefined) throw new Error(`media object ${pointer.objectKey} is gone`);
      return slice;
    });
  }

  function whole(stream: ReadableStream<Uint8Array>, plan: RangePlan): ReadableStream<Uint8Array> {
    const slices = forwardSlices(stream);
    return renderPlan(plan, slices.source, slices.release);
  }

  /** A hot object goes into the colo cache, read from R2 a second time rather than teed. */
  function keepInL1(pointer: Pointer, waitUntil: ReadScope["waitUntil"]): void {
    if (cache === undefined || pointer.envelope.size > L1_MEDIA_MAX_BYTES) return;
    waitUntil(
      (async () => {
        const body = await r2.readObject(pointer);
        if (body === undefined) return;
        await cache.put(
          l1Url(pointer),
          new Response(body, {
            headers: {
              "Content-Length": String(pointer.envelope.size),
              "Cache-Control": `max-age=${options.l1MaxAgeSeconds}`,
              "Cache-Tag": familyCacheTag(pointer.envelope.family),
            },
          }),
        );
      })().catch((error: unknown) => logEvent("media L1 put failed", errorFields(error))),
    );
  }

  /**
   * One slice of the colo's copy, by a ranged match: the cache reads only those bytes (a bare
   * match for the whole object). Undefined when the copy is absent, is not this object, or the
   * Cache API fails (R2 then serves: L1 is a copy, never the only one).
   */
  async function l1Slice(pointer: Pointer, offset: number, length: number): Promise<ReadableStream<Uint8Array> | undefined> {
    if (cache === undefined) return undefined;
    const { size } = pointer.envelope;
    const whole = offset === 0 && length === size;
    const last = offset + length - 1;
    let copy: Response | undefined;
    try {
      // The edge's own slice, never the client's Range: the plan has already resolved it.
      copy = await cache.match(whole ? l1Url(pointer) : new Request(l1Url(pointer), { headers: { Range: `bytes=${offset}-${last}` } }));
    } catch (error) {
      logEvent("media L1 read failed", errorFields(error));
      return undefined;
    }
    if (copy?.body == null) return undefined;
    const fits = whole
      ? copy.status === 200 && copy.headers.get("Content-Length") === String(size)
      : copy.status === 206 && copy.headers.get("Content-Range") === `bytes ${offset}-${last}/${size}`;
    if (fits) return copy.body;
    await copy.body.cancel().catch(() => undefined);
    return undefined;
  }

  /**
   * The plan's body from the colo's copy, each slice by its own ranged match; undefined when the
   * first slice is not there. A later slice the cache has dropped meanwhile comes from R2.
   */
  async function fromL1(pointer: Pointer, plan: RangePlan): Promise<ReadableStream<Uint8Array> | undefined> {
    const first = plan.body.find((part) => part.kind === "slice");
    if (first === undefined) return undefined;
    let opened = await l1Slice(pointer, first.offset, first.length);
    if (opened === undefined) return undefined;
    return renderPlan(plan, async (offset, length) => {
      const ready = opened;
      opened = undefined;
      const slice = ready ?? (await l1Slice(pointer, offset, length)) ?? (await r2.readObject(pointer, { offset, length }));
      if (slice === undefined) throw new Error(`media object ${pointer.objectKey} is gone`);
      return slice;
    });
  }

  /** The object from the nearest tier that has it, or undefined (the expiry rule removed it). */
  async function fromStored(pointer: Pointer, plan: RangePlan, waitUntil: ReadScope["waitUntil"]): Promise<{ tier: "l1" | "r2"; value: MediaBody } | undefined> {
    const copy = await fromL1(pointer, plan);
    if (copy !== undefined) return { tier: "l1", value: { plan, body: copy } };
    const body = await fromR2(pointer, plan);
    if (body === undefined) return undefined;
    keepInL1(pointer, waitUntil);
    return { tier: "r2", value: { plan, body } };
  }

  /**
   * The key's pointer (`undefined` when there is none). R2 failing the read is a miss (the origin
   * answers), not a failed request: then `fallback`, the pointer the caller already holds, if any.
   */
  async function readPointer(key: string, fallback?: Pointer): Promise<Pointer | undefined> {
    try {
      return await r2.readPointer(key);
    } catch (error) {
      logEvent("media pointer read failed", { family: familyLabelOf(key), ...errorFields(error) });
      return fallback;
    }
  }

  return {
    async read(key, family, scope, planFor) {
      const now = Math.floor(scope.now);
      let pointer = await readPointer(key);
      if (pointer !== undefined && pointer.envelope.family !== family.name) pointer = undefined;
      if (pointer !== undefined && classifyFreshness(pointer.envelope, now, options.staleIfErrorSeconds) === "fresh") {
        const served = await fromStored(pointer, planFor(pointer.envelope.size), scope.waitUntil);
        if (served !== undefined) {
          scope.stats.count(family.name, "hits");
          return { kind: "value", state: "hit", ...served };
        }
        pointer = undefined;
      }
      scope.stats.count(family.name, "misses");

      const running = options.flights.get(key);
      if (running !== undefined) {
        // Settles when that fill publishes, fails, or stops making progress (startFlight).
        const filled = await running;
        if (filled !== undefined) {
          const served = await fromStored(filled, planFor(filled.envelope.size), scope.waitUntil);
          if (served !== undefined) return { kind: "value", state: "hit", ...served };
        }
      }

      // Registered before the origin is asked, so a reader arriving meanwhile waits for this fill.
      const flight = startFlight(options.flights, key, options.leaseMs, scope.waitUntil);
      return fillFromOrigin(key, family, now, scope, planFor, pointer, flight).catch((error: unknown) => {
        flight.settle(undefined);
        throw error;
      });
    },

    async readValue(key, clock) {
      const pointer = await r2.readPointer(key);
      if (pointer === undefined || classifyFreshness(pointer.envelope, Math.floor(clock), options.staleIfErrorSeconds) !== "fresh") return undefined;
      const body = await r2.readObject(pointer);
      return body === undefined ? undefined : { envelope: pointer.envelope, body };
    },

    put: (key, family, input) => putMedia({ r2, leaseMs: options.leaseMs, collabMaxSeconds: options.collabMaxSeconds, ...(options.lease === undefined ? {} : { lease: options.lease }) }, key, family, input),
  };

  /**
   * Publishes a fill's object through its lease. One that is not published (a later write or
   * purge won, the lease lapsed, the pointer write failed, or the shield failed mid-commit) is
   * removed, unless the pointer shows the failed commit ran after all.
   */
  async function commitFill(key: string, pointer: Pointer, lease: ShieldLease, now: number): Promise<Pointer | undefined> {
    const commit = await settleCommit(key, () => lease.commit(() => r2.commitPointer(key, pointer, now), now));
    if (commit.ok && commit.answer.committed) return pointer;
    return (await discardUnpublished(r2, key, pointer.objectKey, !commit.ok)) ? pointer : undefined;
  }

  async function fillFromOrigin(
    key: string,
    family: FamilyEntry,
    now: number,
    scope: ReadScope,
    planFor: (size: number) => RangePlan,
    pointer: Pointer | undefined,
    flight: Flight,
  ): Promise<CacheResult<MediaBody>> {
    const count = (counter: "staleServes" | "fills" | "originErrors") => scope.stats.count(family.name, counter);
    const unsettled = (read: CacheResult<MediaBody>): CacheResult<MediaBody> => {
      flight.settle(undefined);
      return read;
    };
    const fetched = await options.origin.fetchValueStream(key);
    switch (fetched.kind) {
      case "stream":
        break;
      case "unsupported":
        return unsettled({ kind: "unavailable", reason: "unsupported", message: fetched.reason });
      case "absent":
        return unsettled({ kind: "absent", remembered: false });
      case "error": {
        count("originErrors");
        logEvent("media fill failed", { family: familyLabelOf(key), status: fetched.status, message: fetched.message });
        const originError: OriginError = fetched;
        // The pointer as it is now: a write may have landed while the origin was asked (a PUT's
        // fresh object is the value, served as a hit; a purge leaves nothing to serve stale).
        // Only when R2 cannot say does the pointer this read began with stand in.
        const latest = await readPointer(key, pointer);
        const freshness = latest === undefined || latest.envelope.family !== family.name ? "expired" : classifyFreshness(latest.envelope, now, options.staleIfErrorSeconds);
        const served = latest === undefined || freshness === "expired" ? undefined : await fromStored(latest, planFor(latest.envelope.size), scope.waitUntil);
        if (served !== undefined && freshness === "fresh") return unsettled({ kind: "value", state: "hit", ...served });
        if (served !== undefined) {
          count("staleServes");
          return unsettled({ kind: "value", state: "stale", ...served, originError });
        }
        return unsettled({ kind: "unavailable", reason: "origin_error", originError });
      }
      default:
        return fetched satisfies never;
    }

    const plan = planFor(fetched.size);
    const expiry = computeExpiresAt(family, now, {
      collabMaxSeconds: options.collabMaxSeconds,
      ...(fetched.expiresAt === undefined ? {} : { writerExpiresAt: fetched.expiresAt }),
    });
    // A purge that arrives while the bytes stream wins (the lease's commit refuses). The lease
    // names the object before its first byte, so the shield can remove it if the fill dies.
    const objectKey = newWriterObjectKey();
    const lease = expiry.ok ? await takeLease(key, family, now, objectKey) : undefined;
    const writer = expiry.ok && lease !== undefined ? r2.openObject({ family: family.name, codec: family.codec.name, storedAt: now, expiresAt: expiry.expiresAt, size: fetched.size }, objectKey) : undefined;
    if (lease === undefined || writer === undefined || !writer.ok) {
      // Not storable (already expired, too large for one fill, no lease): served straight through.
      return unsettled({ kind: "value", state: "miss", tier: "origin", value: { plan, body: whole(fetched.body, plan) }, stored: false, requested: false });
    }
    count("fills");
    const fill = startFill(fetched.body, writer, r2, () => {
      flight.progress();
      lease.progress();
    });
    const committed = fill.written.then(async (result) => {
      if (!result.ok) {
        // The writer has deleted its object already.
        logEvent("media fill not stored", { family: familyLabelOf(key), message: result.failure.message });
        return undefined;
      }
      flight.progress();
      return commitFill(key, result.pointer, lease, now);
    });
    // Its own waitUntil: waiters may be settled (startFlight) long before the commit ends.
    scope.waitUntil(committed.then(flight.settle, () => flight.settle(undefined)));
    return { kind: "value", state: "miss", tier: "origin", value: { plan, body: whole(fill.client, plan) }, stored: true, requested: false };
  }
}
