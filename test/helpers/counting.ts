/**
 * Counting wrappers around the REAL bindings (./faults.ts `wrapBinding` style): every call is
 * forwarded unchanged and tallied by the platform operation it is billed as (docs/cost.md):
 * KV reads (the L1 generation keys apart), writes, deletes and lists; Durable Object requests
 * (each RPC method call on a stub is one billed request); R2 class A and class B operations
 * (deletes are free); Cache API reads, writes and deletes; requests to the origin. Each operation
 * is tallied for the side that made it: the Worker, or a shield (its own KV and R2 through
 * ./shield-seams.ts, and an origin request made while a shield call is in flight — the Worker
 * waits on that call, so requests made meanwhile are the shield's, as long as requests are sent
 * one at a time and their background work is settled before the next, as test/cost does).
 */
import { vi } from "vitest";
import { GENERATION_KEY_PREFIX } from "../../src/storage/limits";
import { wrapBinding, wrapShieldNamespace } from "./faults";
import { wrapShieldStorage } from "./shield-seams";

/** What one side made, by billed operation. */
export interface SideCounts {
  kvReads: number;
  /** Reads of an L1 generation key (`_edge:gen:…`): at most one per family per isolate per L1_MAX_AGE_SECONDS. */
  kvGenerationReads: number;
  kvWrites: number;
  kvDeletes: number;
  kvLists: number;
  /** Class A: put, list, multipart create/upload/complete. */
  r2ClassA: number;
  /** Class B: get, head. */
  r2ClassB: number;
  /** Not billed, counted so nothing goes unseen. */
  r2Deletes: number;
  originRequests: number;
}

export interface WorkerCounts extends SideCounts {
  durableObjectRequests: number;
  cacheReads: number;
  cacheWrites: number;
  cacheDeletes: number;
}

export interface OperationCounts {
  worker: WorkerCounts;
  shield: SideCounts;
}

const sideZero = (): SideCounts => ({
  kvReads: 0,
  kvGenerationReads: 0,
  kvWrites: 0,
  kvDeletes: 0,
  kvLists: 0,
  r2ClassA: 0,
  r2ClassB: 0,
  r2Deletes: 0,
  originRequests: 0,
});

const workerZero = (): WorkerCounts => ({ ...sideZero(), durableObjectRequests: 0, cacheReads: 0, cacheWrites: 0, cacheDeletes: 0 });

type Side = "worker" | "shield";

/** R2 methods by class (docs/platform.md §5.4). */
const R2_CLASS_A = new Set(["put", "list", "createMultipartUpload", "resumeMultipartUpload"]);
const R2_CLASS_B = new Set(["get", "head"]);

export interface OperationCounter {
  /** A copy of the tallies since the last `reset`. */
  counts(): OperationCounts;
  reset(): void;
  /** The Worker's own bindings, wrapped: pass them in the env the Worker is called with. */
  kv(real: KVNamespace): KVNamespace;
  r2(real: R2Bucket): R2Bucket;
  cache(real: Cache): Cache;
  shieldNamespace<T extends object>(real: T): T;
  /**
   * Wraps the shields' own KV and R2 (./shield-seams.ts) and the global `fetch` (a spy that
   * calls through) until the returned restore is called.
   */
  install(originUrl: string): () => void;
}

export function createOperationCounter(): OperationCounter {
  let tally: OperationCounts = { worker: workerZero(), shield: sideZero() };
  /** Shield calls in flight: origin requests made meanwhile are the shield's. */
  let shieldCallsInFlight = 0;

  const countKv = (side: Side) => (real: KVNamespace): KVNamespace =>
    wrapBinding(real, (method, args, forward) => {
      const counts = tally[side];
      switch (method) {
        case "get":
        case "getWithMetadata": {
          // A bulk get is billed per key.
          const keys = Array.isArray(args[0]) ? (args[0] as unknown[]) : [args[0]];
          for (const key of keys) {
            if (typeof key === "string" && key.startsWith(GENERATION_KEY_PREFIX)) counts.kvGenerationReads += 1;
            else counts.kvReads += 1;
          }
          break;
        }
        case "put":
          counts.kvWrites += 1;
          break;
        case "delete":
          counts.kvDeletes += 1;
          break;
        case "list":
          counts.kvLists += 1;
          break;
      }
      return forward();
    });

  const countR2 = (side: Side) => (real: R2Bucket): R2Bucket =>
    wrapBinding(real, (method, _args, forward) => {
      const counts = tally[side];
      if (R2_CLASS_A.has(method)) counts.r2ClassA += 1;
      else if (R2_CLASS_B.has(method)) counts.r2ClassB += 1;
      else if (method === "delete") counts.r2Deletes += 1;
      return forward();
    });

  return {
    counts: () => structuredClone(tally),
    reset() {
      tally = { worker: workerZero(), shield: sideZero() };
    },
    kv: countKv("worker"),
    r2: countR2("worker"),
    cache: (real) =>
      wrapBinding(real, (method, _args, forward) => {
        if (method === "match") tally.worker.cacheReads += 1;
        else if (method === "put") tally.worker.cacheWrites += 1;
        else if (method === "delete") tally.worker.cacheDeletes += 1;
        return forward();
      }),
    shieldNamespace: (real) =>
      wrapShieldNamespace(real, (_method, _args, forward) => {
        tally.worker.durableObjectRequests += 1;
        shieldCallsInFlight += 1;
        return Promise.resolve(forward()).finally(() => {
          shieldCallsInFlight -= 1;
        });
      }),
    install(originUrl) {
      const restoreShield = wrapShieldStorage({ kv: countKv("shield"), media: countR2("shield") });
      const realFetch = globalThis.fetch;
      const spy = vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
        const url = input instanceof Request ? input.url : String(input);
        if (url.startsWith(originUrl)) tally[shieldCallsInFlight > 0 ? "shield" : "worker"].originRequests += 1;
        return realFetch(input, init);
      });
      return () => {
        spy.mockRestore();
        restoreShield();
      };
    },
  };
}
