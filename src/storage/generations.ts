/**
 * Per-family L1 generations (docs/design.md §3 purge). The current token of a family is part of every L1
 * URL of its keys; a family purge writes a new token to KV, so entries under the old one become
 * unreachable. Each isolate remembers a token for at most `maxAgeSeconds` (the L1 bound), so a
 * hit costs no KV read while a bump is still seen within KV propagation + that bound.
 */
import { INITIAL_GENERATION } from "./cache-api-tier";
import { GENERATION_KEY_PREFIX } from "./limits";
import { retryKvWrite, type Sleep } from "./retry";

export interface RememberedGeneration {
  token: string;
  /** Injected-clock second at which it was read from (or written to) KV. */
  fetchedAt: number;
}

/** The isolate's memory of generations, by family (src/isolate.ts). */
export type GenerationMemory = Map<string, RememberedGeneration>;

export function generationKey(family: string): string {
  return `${GENERATION_KEY_PREFIX}${family}`;
}

/** Unique rather than a counter: KV has no compare-and-set, and a stale read + 1 could repeat an old token. */
export function newGenerationToken(now: number): string {
  const random = crypto.getRandomValues(new Uint8Array(6));
  return `${now.toString(36)}.${Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * The second a token was made, i.e. when its family was last purged: KV values stored before it
 * are misses at once, without waiting for the purge's paged deletes to reach them. The initial
 * token (never purged) has none.
 */
export function generationTime(token: string): number | undefined {
  const match = /^([0-9a-z]+)\.[0-9a-f]+$/.exec(token);
  if (match === null) return undefined;
  const seconds = parseInt(match[1] as string, 36);
  return Number.isSafeInteger(seconds) ? seconds : undefined;
}

export interface Generations {
  current(family: string, now: number): Promise<string>;
  /** Every token this isolate may have used for the family: the remembered one (any age) and KV's. */
  known(family: string): Promise<string[]>;
  /** Writes a new token; returns the one it replaced (to delete the local pre-bump copies). */
  bump(family: string, now: number): Promise<{ previous: string; next: string }>;
}

export function createGenerations(
  kv: KVNamespace,
  options: { maxAgeSeconds: number; memory: GenerationMemory; sleep: Sleep; onRetry?: () => void },
): Generations {
  const { memory } = options;
  const read = async (family: string, now: number): Promise<string> => {
    const token = (await kv.get(generationKey(family))) ?? INITIAL_GENERATION;
    memory.set(family, { token, fetchedAt: now });
    return token;
  };

  return {
    async current(family, now) {
      const remembered = memory.get(family);
      const age = remembered === undefined ? Infinity : now - remembered.fetchedAt;
      if (remembered !== undefined && age >= 0 && age < options.maxAgeSeconds) return remembered.token;
      return read(family, now);
    },

    async known(family) {
      const fromKv = (await kv.get(generationKey(family))) ?? INITIAL_GENERATION;
      const remembered = memory.get(family)?.token;
      return remembered === undefined || remembered === fromKv ? [fromKv] : [remembered, fromKv];
    },

    async bump(family, now) {
      const previous = await read(family, now);
      const next = newGenerationToken(now);
      // No TTL: one tiny key per family, and it must outlive every L1 entry it guards.
      const outcome = await retryKvWrite(() => kv.put(generationKey(family), next), {
        sleep: options.sleep,
        onRetry: () => options.onRetry?.(),
      });
      if (!outcome.ok) throw new Error(`could not bump the L1 generation of ${family}: ${outcome.message}`);
      memory.set(family, { token: next, fetchedAt: now });
      return { previous, next };
    },
  };
}
