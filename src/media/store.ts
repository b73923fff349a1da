/**
 * Media reads (docs/storage-schema.md §R2): the pointer in R2 says which immutable object holds a
 * key's bytes; the bytes come from the colo's Cache API copy of that object (L1) when it has one,
 * else from R2 by range, else from the origin (a fill that writes R2 as it serves). The answer's
 * status, headers and body follow the caller's range plan, built once the object's size is known.
 *
 * L1 holds objects, not keys: an object never changes, so a copy of it is never wrong, and a
 * purge (which removes the pointer) is seen at once everywhere because the strongly consistent
 * pointer is read on every request. An object enters L1 when it is read again after its fill
 * (hot), if it is at most L1_MEDIA_MAX_BYTES, for at most L1_MAX_AGE_SECONDS.
 */
import { computeExpiresAt, type FamilyEntry } from "../keys";
import { errorFields, familyLabelOf, logEvent } from "../observe/log";
import { cacheStatusHit, cacheStatusMiss, cacheStatusStale, type OriginClient } from "../origin";
import { familyCacheTag, type Pointer, type PutResult, type R2Tier } from "../storage";
import { L1_PATH_PREFIX } from "../storage/limits";
import { forwardSlices, renderPlan } from "./body";
import { startFill } from "./fill";
import type { RangePlan } from "./range";

/** Objects larger than this stay out of the colo cache (R2 serves them by range just as well). */
export const L1_MEDIA_MAX_BYTES = 32 * 1024 * 1024;

export type MediaRead =
  | { kind: "body"; plan: RangePlan; body: ReadableStream<Uint8Array>; cacheStatus: string }
  | { kind: "passthrough"; reason: string };

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
  waitUntil: (promise: Promise<unknown>) => void;
  stats?: { count(family: string, counter: "hits" | "misses" | "staleServes" | "fills" | "originErrors"): void };
  /**
   * The family's shield (docs/storage-schema.md §Ordering): a lease whose `commit` publishes the
   * pointer only if no write or purge of the key came since it was taken. It is taken when the
   * origin's answer has a body to store (a lease left open costs the shield until its TTL, and
   * most misses of an unserved family never store). Without a shield the pointer is published
   * directly.
   */
  lease?: (key: string, family: FamilyEntry, now: number) => Promise<{ commit(publish: () => Promise<PutResult>, now: number): Promise<{ committed: boolean }> }>;
}

export interface MediaStore {
  /** `plan(size)` is the answer's shape once the object's size is known. */
  read(key: string, family: FamilyEntry, now: number, plan: (size: number) => RangePlan): Promise<MediaRead>;
}

/** Fills in flight in this isolate: a second reader waits for the object instead of a second download. */
const inFlight = new Map<string, Promise<Pointer | undefined>>();

export function createMediaStore(options: MediaStoreOptions): MediaStore {
  const { r2, cache } = options;
  const unleased = { commit: async (publish: () => Promise<PutResult>) => ({ committed: (await publish()).ok }) };

  async function takeLease(key: string, family: FamilyEntry, now: number) {
    if (options.lease === undefined) return unleased;
    try {
      return await options.lease(key, family, now);
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
  function keepInL1(pointer: Pointer): void {
    if (cache === undefined || pointer.envelope.size > L1_MEDIA_MAX_BYTES) return;
    options.waitUntil(
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

  async function fromStored(pointer: Pointer, plan: RangePlan, cacheStatus: (tier: "l1" | "r2") => string): Promise<MediaRead | undefined> {
    if (cache !== undefined) {
      // A bare GET: the client's Range never reaches cache.match (which would apply it itself).
      const copy = await cache.match(l1Url(pointer));
      if (copy?.body != null && copy.headers.get("Content-Length") === String(pointer.envelope.size)) {
        return { kind: "body", plan, body: whole(copy.body, plan), cacheStatus: cacheStatus("l1") };
      }
      await copy?.body?.cancel();
    }
    const body = await fromR2(pointer, plan);
    if (body === undefined) return undefined;
    keepInL1(pointer);
    return { kind: "body", plan, body, cacheStatus: cacheStatus("r2") };
  }

  async function readPointer(key: string): Promise<Pointer | undefined> {
    try {
      return await r2.readPointer(key);
    } catch (error) {
      // R2 failing a read is a miss (the origin answers), not a failed request.
      logEvent("media pointer read failed", { family: familyLabelOf(key), ...errorFields(error) });
      return undefined;
    }
  }

  return {
    async read(key, family, clock, planFor) {
      const now = Math.floor(clock);
      const count = (counter: "hits" | "misses" | "staleServes" | "fills" | "originErrors") => options.stats?.count(family.name, counter);
      let pointer = await readPointer(key);
      if (pointer !== undefined && pointer.envelope.family !== family.name) pointer = undefined;
      if (pointer !== undefined && pointer.envelope.expiresAt > now) {
        const served = await fromStored(pointer, planFor(pointer.envelope.size), (tier) => cacheStatusHit(tier));
        if (served !== undefined) {
          count("hits");
          return served;
        }
        pointer = undefined;
      }
      count("misses");

      const running = inFlight.get(key);
      if (running !== undefined) {
        const filled = await running;
        if (filled !== undefined) {
          const served = await fromStored(filled, planFor(filled.envelope.size), (tier) => cacheStatusHit(tier));
          if (served !== undefined) return served;
        }
      }

      // Registered before the origin is asked, so a reader arriving meanwhile waits for this fill.
      let settle: (pointer: Pointer | undefined) => void = () => undefined;
      const published = new Promise<Pointer | undefined>((resolve) => (settle = resolve));
      inFlight.set(key, published);
      options.waitUntil(published.finally(() => inFlight.get(key) === published && inFlight.delete(key)));
      const answer = await fillFromOrigin(key, family, now, planFor, pointer, settle).catch((error: unknown) => {
        settle(undefined);
        throw error;
      });
      return answer;
    },
  };

  async function fillFromOrigin(
    key: string,
    family: FamilyEntry,
    now: number,
    planFor: (size: number) => RangePlan,
    pointer: Pointer | undefined,
    settle: (pointer: Pointer | undefined) => void,
  ): Promise<MediaRead> {
    const count = (counter: "hits" | "misses" | "staleServes" | "fills" | "originErrors") => options.stats?.count(family.name, counter);
    const unsettled = (read: MediaRead): MediaRead => {
      settle(undefined);
      return read;
    };
    const fetched = await options.origin.fetchValueStream(key);
    switch (fetched.kind) {
      case "stream":
        break;
      case "unsupported":
        return unsettled({ kind: "passthrough", reason: fetched.reason });
      case "absent":
        // serve_s3_file has no answer for a missing object but its own error: let it give it.
        return unsettled({ kind: "passthrough", reason: "the origin has no such object" });
      case "error": {
        count("originErrors");
        logEvent("media fill failed", { family: familyLabelOf(key), status: fetched.status, message: fetched.message });
        const stale = pointer ?? (await readPointer(key));
        if (stale !== undefined && stale.envelope.family === family.name && stale.envelope.expiresAt + options.staleIfErrorSeconds > now) {
          const served = await fromStored(stale, planFor(stale.envelope.size), () => cacheStatusStale(fetched.status));
          if (served !== undefined) {
            count("staleServes");
            return unsettled(served);
          }
        }
        return unsettled({ kind: "passthrough", reason: `origin error ${fetched.status}: ${fetched.message}` });
      }
      default:
        return fetched satisfies never;
    }

    const plan = planFor(fetched.size);
    const expiry = computeExpiresAt(family, now, {
      collabMaxSeconds: options.collabMaxSeconds,
      ...(fetched.expiresAt === undefined ? {} : { writerExpiresAt: fetched.expiresAt }),
    });
    // A purge that arrives while the bytes stream wins (the lease's commit refuses).
    const lease = expiry.ok ? await takeLease(key, family, now) : undefined;
    const writer = expiry.ok && lease !== undefined ? r2.openObject({ family: family.name, codec: family.codec.name, storedAt: now, expiresAt: expiry.expiresAt, size: fetched.size }) : undefined;
    if (lease === undefined || writer === undefined || !writer.ok) {
      // Not storable (already expired, too large for one fill, no lease): served straight through.
      return unsettled({ kind: "body", plan, body: whole(fetched.body, plan), cacheStatus: cacheStatusMiss(false) });
    }
    count("fills");
    const fill = startFill(fetched.body, writer, r2);
    const committed = fill.written.then(async (result) => {
      if (!result.ok) {
        logEvent("media fill not stored", { family: familyLabelOf(key), message: result.failure.message });
        return undefined;
      }
      const published = await lease.commit(() => r2.commitPointer(key, result.pointer, now), now);
      // Not committed: a later write or purge won (the object is garbage for the expiry rule).
      return published.committed ? result.pointer : undefined;
    });
    void committed.then(settle);
    return { kind: "body", plan, body: whole(fill.client, plan), cacheStatus: cacheStatusMiss(true) };
  }
}
