/**
 * The nemesis (docs/reliability.md "Consistency"): wrappers around the REAL bindings (as
 * test/helpers/faults.ts's: they forward every call, and only make chosen ones fail, wait or look
 * old), driven by the history's steps. The history arms a fault, holds a class of calls, or turns
 * a lag on; a later step releases it. Nothing here decides on its own: replaying the same steps
 * makes the same calls fail, wait and lag (the simulators' own timing may still differ).
 *
 * - KV, as each colo sees it: faults (a get that throws, a put that throws or answers 429, a
 *   delete that throws), and a lag — a colo sees writes made elsewhere (other colos, the shields)
 *   only once they are `lagSeconds` old on the injected clock, up to KV's documented propagation
 *   (docs/storage-schema.md "Propagation bound"); its own writes at once. Every write of the
 *   history's keys, from every isolate and every shield, goes into one journal the lagging views
 *   read from.
 * - The shields' KV (test/helpers/shield-seams.ts): the same faults, and a hold on their puts (a
 *   commit that stops half-way until released).
 * - Each colo's Cache API: a hold on puts (a back-fill that lands late), failures, and entries aged
 *   by the injected clock — miniflare's cache ages them by the wall clock, which a history moves
 *   past in milliseconds.
 * - R2 (the Workers' `MEDIA` and the shields'): puts that fail (an object's upload, a pointer's
 *   write), gets and heads that fail.
 * - The Workers' `FAMILY_SHIELD`: the next `shieldDown` calls reject (unreachable, overloaded).
 */
import { wrapBinding, wrapShieldNamespace, KV_ERRORS, CACHE_ERROR } from "../helpers/faults";

/** What a failing R2 call says (the platform's text for an internal error). */
const R2_ERROR = "R2 failed: We encountered an internal error. Please try again. (10001)";

/** How often a held shield put looks whether it was released. */
const SHIELD_HOLD_POLL_MS = 5;
/**
 * A held call goes on by itself after this long (wall clock), as a slow platform call would: a
 * history that holds and never releases costs this, not a wedged request.
 */
export const HOLD_MAX_MS = 400;

/** The shields' writes land in this colo's view at once (a Durable Object lives in one place). */
export const SHIELD_COLO = "shield";

interface JournalEntry {
  clock: number;
  colo: string;
  /** Null: deleted. */
  bytes: Uint8Array | null;
  metadata: unknown;
}

export type KvFaultKind = "get" | "put" | "put429" | "delete";

export interface KvFaults {
  /** How many more calls of each kind fail. */
  left: Record<KvFaultKind, number>;
}

const noFaults = (): KvFaults => ({ left: { get: 0, put: 0, put429: 0, delete: 0 } });

export interface Nemesis {
  /** The injected clock, read at each call. */
  readonly clock: () => number;
  /** Keys whose writes are journaled and whose reads may lag (the history's keys and their family's generation key). */
  readonly tracked: Set<string>;
  /** What a tracked key held before the history (generation keys); absent otherwise. */
  readonly before: Map<string, { bytes: Uint8Array; metadata: unknown } | null>;
  readonly journal: Map<string, JournalEntry[]>;
  /** Colo → seconds its KV view lags behind writes made elsewhere (0: none). */
  readonly lagSeconds: Map<string, number>;
  /** The longest lag each colo had in the history, for the model. */
  readonly maxLagSeconds: Map<string, number>;
  readonly workerKvFaults: KvFaults;
  readonly shieldKvFaults: KvFaults;
  /**
   * While true, the shields' KV puts wait until `releaseShieldPuts`. They wait by polling the
   * flag on their own timers: a promise made in a Durable Object's context cannot be resolved
   * from the test's.
   */
  holdShieldPuts: boolean;
  /** Bumped by each release: a held put goes on once it changed. */
  shieldReleases: number;
  /** Colo → whether its Cache API puts are held. */
  readonly holdCachePuts: Map<string, boolean>;
  readonly heldCachePuts: Map<string, (() => void)[]>;
  /** Colo → how many more Cache API calls fail. */
  readonly cacheFaults: Map<string, number>;
  /** How many more calls to the Workers' `FAMILY_SHIELD` reject. */
  shieldDown: number;
  /** How many more R2 puts, and gets or heads, fail (the Workers' and the shields'). */
  readonly r2Faults: { put: number; get: number };
  /** Faults injected, by kind (for the run's report). */
  readonly injected: Map<string, number>;
}

export function createNemesis(clock: () => number): Nemesis {
  return {
    clock,
    tracked: new Set(),
    before: new Map(),
    journal: new Map(),
    lagSeconds: new Map(),
    maxLagSeconds: new Map(),
    workerKvFaults: noFaults(),
    shieldKvFaults: noFaults(),
    holdShieldPuts: false,
    shieldReleases: 0,
    holdCachePuts: new Map(),
    heldCachePuts: new Map(),
    cacheFaults: new Map(),
    shieldDown: 0,
    r2Faults: { put: 0, get: 0 },
    injected: new Map(),
  };
}

export function countInjected(nemesis: Nemesis, kind: string): void {
  nemesis.injected.set(kind, (nemesis.injected.get(kind) ?? 0) + 1);
}

async function bytesOf(value: unknown): Promise<Uint8Array> {
  if (typeof value === "string") return new TextEncoder().encode(value);
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  return new Uint8Array(await new Response(value as BodyInit).arrayBuffer());
}

function record(nemesis: Nemesis, key: string, colo: string, bytes: Uint8Array | null, metadata: unknown): void {
  if (!nemesis.tracked.has(key)) return;
  const entries = nemesis.journal.get(key) ?? [];
  entries.push({ clock: nemesis.clock(), colo, bytes, metadata });
  nemesis.journal.set(key, entries);
}

/** What `colo` sees of `key` now: undefined when it sees what KV holds (no lag, or nothing journaled). */
function laggingView(nemesis: Nemesis, key: string, colo: string): { bytes: Uint8Array; metadata: unknown } | null | undefined {
  const lag = nemesis.lagSeconds.get(colo) ?? 0;
  const entries = nemesis.journal.get(key);
  if (lag <= 0 || entries === undefined || !nemesis.tracked.has(key)) return undefined;
  const horizon = nemesis.clock() - lag;
  const visible = entries.filter((entry) => entry.colo === colo || entry.clock <= horizon).at(-1);
  if (visible === entries.at(-1)) return undefined;
  if (visible === undefined) return nemesis.before.get(key) ?? null;
  return visible.bytes === null ? null : { bytes: visible.bytes, metadata: visible.metadata };
}

function kvAnswer(method: string, args: unknown[], seen: { bytes: Uint8Array; metadata: unknown } | null): unknown {
  const options = args[1];
  const type = typeof options === "string" ? options : ((options as { type?: string } | undefined)?.type ?? "text");
  const as = (bytes: Uint8Array): unknown => {
    switch (type) {
      case "arrayBuffer":
        return bytes.slice().buffer;
      case "stream":
        return new Response(bytes.slice()).body;
      case "json":
        return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
      default:
        return new TextDecoder().decode(bytes);
    }
  };
  const value = seen === null ? null : as(seen.bytes);
  return method === "get" ? value : { value, metadata: seen?.metadata ?? null, cacheStatus: null };
}

/** A fault armed for this call, if any (and counts it). */
function takeFault(nemesis: Nemesis, faults: KvFaults, method: string, key: string): Error | undefined {
  // The history's keys only: other tests' and histories' keys are not this history's to break.
  if (!nemesis.tracked.has(key)) return undefined;
  const take = (kind: KvFaultKind, message: string): Error | undefined => {
    if (faults.left[kind] <= 0) return undefined;
    faults.left[kind] -= 1;
    countInjected(nemesis, `kv ${kind}`);
    return new Error(message);
  };
  switch (method) {
    case "get":
    case "getWithMetadata":
      return take("get", KV_ERRORS.get);
    case "put":
      return take("put429", KV_ERRORS.rateLimited) ?? take("put", KV_ERRORS.put);
    case "delete":
      return take("delete", KV_ERRORS.delete);
    default:
      return undefined;
  }
}

/**
 * The real KV namespace as `colo` sees it, with the nemesis's faults and lag; `shield` wraps a
 * shield's KV (its puts can be held).
 */
export function nemesisKv(nemesis: Nemesis, real: KVNamespace, colo: string, options: { shield?: boolean } = {}): KVNamespace {
  const faults = options.shield === true ? nemesis.shieldKvFaults : nemesis.workerKvFaults;
  return wrapBinding(real, (method, args, forward) => {
    const key = typeof args[0] === "string" ? args[0] : "";
    const fault = takeFault(nemesis, faults, method, key);
    if (fault !== undefined) return Promise.reject(fault);
    switch (method) {
      case "get":
      case "getWithMetadata": {
        const seen = laggingView(nemesis, key, colo);
        if (seen === undefined) return forward();
        countInjected(nemesis, "kv lagging read");
        return Promise.resolve(kvAnswer(method, args, seen));
      }
      case "put":
        return (async () => {
          if (options.shield === true && nemesis.holdShieldPuts && nemesis.tracked.has(key)) {
            countInjected(nemesis, "shield kv put held");
            const ticket = nemesis.shieldReleases;
            const until = Date.now() + HOLD_MAX_MS;
            while (nemesis.shieldReleases === ticket && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, SHIELD_HOLD_POLL_MS));
          }
          const bytes = nemesis.tracked.has(key) ? await bytesOf(args[1]) : undefined;
          const result = await (bytes === undefined ? forward() : real.put(key, bytes, args[2] as KVNamespacePutOptions));
          if (bytes !== undefined) record(nemesis, key, colo, bytes, (args[2] as { metadata?: unknown } | undefined)?.metadata ?? null);
          return result;
        })();
      case "delete":
        return (async () => {
          const result = await forward();
          record(nemesis, key, colo, null, null);
          return result;
        })();
      default:
        return forward();
    }
  });
}

export function releaseShieldPuts(nemesis: Nemesis): void {
  nemesis.shieldReleases += 1;
}

/** `Cache-Control: max-age` of a response the tiers put, in seconds. */
function maxAgeOf(response: Response): number {
  const match = /max-age=(\d+)/.exec(response.headers.get("Cache-Control") ?? "");
  return match === null ? 0 : Number(match[1]);
}

/**
 * A colo's real Cache API with the nemesis's holds and failures, whose entries expire by the
 * injected clock (`max-age` from the put's clock) as production's expire by the real one.
 */
export function nemesisCache(nemesis: Nemesis, real: Cache, colo: string): Cache {
  const expiresAt = new Map<string, number>();
  const urlOf = (request: unknown): string => (typeof request === "string" ? request : request instanceof Request ? request.url : String(request));
  return wrapBinding(real, (method, args, forward) => {
    const left = nemesis.cacheFaults.get(colo) ?? 0;
    if (left > 0 && (method === "match" || method === "put")) {
      nemesis.cacheFaults.set(colo, left - 1);
      countInjected(nemesis, `cache ${method} failure`);
      return Promise.reject(new Error(CACHE_ERROR));
    }
    const url = urlOf(args[0]);
    switch (method) {
      case "match": {
        const until = expiresAt.get(url);
        if (until !== undefined && nemesis.clock() >= until) {
          expiresAt.delete(url);
          return real.delete(url).then(() => undefined);
        }
        return forward();
      }
      case "put":
        return (async () => {
          // The entry's life counts from the put's call: a Worker's back-fill runs in its
          // request's waitUntil, so in production it lands within that request's budget of it.
          const until = nemesis.clock() + maxAgeOf(args[1] as Response);
          if (nemesis.holdCachePuts.get(colo) === true) {
            countInjected(nemesis, "cache put held");
            await new Promise<void>((resolve) => {
              const held = nemesis.heldCachePuts.get(colo) ?? [];
              held.push(resolve);
              nemesis.heldCachePuts.set(colo, held);
              setTimeout(resolve, HOLD_MAX_MS);
            });
          }
          expiresAt.set(url, until);
          return forward();
        })();
      default:
        return forward();
    }
  });
}

export function releaseCachePuts(nemesis: Nemesis, colo: string): void {
  for (const release of (nemesis.heldCachePuts.get(colo) ?? []).splice(0)) release();
}

/** The Workers' `FAMILY_SHIELD`: the next `shieldDown` calls reject. */
export function nemesisShields<T extends object>(nemesis: Nemesis, real: T): T {
  return wrapShieldNamespace(real, (_method, _args, forward) => {
    if (nemesis.shieldDown > 0) {
      nemesis.shieldDown -= 1;
      countInjected(nemesis, "shield unreachable");
      return Promise.reject(new Error("Durable Object is overloaded (the nemesis has the shields down)"));
    }
    return forward();
  });
}

/**
 * An R2 bucket (the Workers' or the shields') with the nemesis's failures. A failed put of a
 * stream cancels it, as a broken upload ends its body, so the writer's side sees the failure.
 */
export function nemesisR2(nemesis: Nemesis, real: R2Bucket): R2Bucket {
  return wrapBinding(real, (method, args, forward) => {
    if (method === "put" && nemesis.r2Faults.put > 0) {
      nemesis.r2Faults.put -= 1;
      countInjected(nemesis, "r2 put failure");
      const error = new Error(R2_ERROR);
      const body = args[1];
      if (body instanceof ReadableStream) return body.cancel(error).then(() => Promise.reject(error));
      return Promise.reject(error);
    }
    if ((method === "get" || method === "head") && nemesis.r2Faults.get > 0) {
      nemesis.r2Faults.get -= 1;
      countInjected(nemesis, `r2 ${method} failure`);
      return Promise.reject(new Error(R2_ERROR));
    }
    return forward();
  });
}
