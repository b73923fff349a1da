/**
 * L0: isolate memory, above L1 (docs/storage-schema.md §L0). Small hot values (templates, flags)
 * are answered without a Cache API or KV round trip. Bounded three ways: a per-value size, a
 * total of bytes and a count of entries (least recently used goes first). An entry lives at most
 * `maxAgeSeconds` by the injected clock (the L1 bound, so a purge reaches it as fast as it reaches
 * L1) and never past its value's `expiresAt`; it is keyed under the family's generation like L1.
 */
import { checkStorable, keyProblem } from "./envelope";
import type { GenerationalTier, PutResult, StoredValue } from "./tier";

interface L0Entry {
  generation: string;
  value: StoredValue;
  /** Injected-clock second it was stored; `until` = min(cachedAt + maxAge, expiresAt). */
  cachedAt: number;
  until: number;
}

/** The entries of one isolate (Map order = least recently used first) and their byte total. */
export interface L0Memory {
  entries: Map<string, L0Entry>;
  bytes: number;
}

export function createL0Memory(): L0Memory {
  return { entries: new Map(), bytes: 0 };
}

export const L0_DEFAULT_MAX_VALUE_BYTES = 64 * 1024; // templates and flags; larger values are not "small hot"
export const L0_DEFAULT_MAX_ENTRIES = 1024;

export interface L0TierOptions {
  /** Upper bound of an entry's life (L1_MAX_AGE_SECONDS). */
  maxAgeSeconds: number;
  /** Total value bytes held; 0 holds nothing. */
  maxBytes: number;
  maxValueBytes?: number;
  maxEntries?: number;
  /** The isolate's (src/isolate.ts). */
  memory: L0Memory;
}

export interface L0Tier extends GenerationalTier {
  readonly name: "l0";
}

export function createL0Tier(options: L0TierOptions): L0Tier {
  const { memory } = options;
  const maxValueBytes = Math.min(options.maxValueBytes ?? L0_DEFAULT_MAX_VALUE_BYTES, options.maxBytes);
  const maxEntries = options.maxEntries ?? L0_DEFAULT_MAX_ENTRIES;

  const forget = (key: string): void => {
    const entry = memory.entries.get(key);
    if (entry === undefined) return;
    memory.entries.delete(key);
    memory.bytes -= entry.value.bytes.byteLength;
  };

  const getAt = async (key: string, generation: string, now: number): Promise<StoredValue | undefined> => {
    const entry = memory.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.generation !== generation || now < entry.cachedAt || now >= entry.until) {
      forget(key);
      return undefined;
    }
    // Most recently used moves to the end; a copy out, so no caller can alter what others read.
    memory.entries.delete(key);
    memory.entries.set(key, entry);
    return { bytes: entry.value.bytes.slice(), envelope: entry.value.envelope };
  };

  const putAt = async (key: string, value: StoredValue, now: number, generation: string): Promise<PutResult> => {
    const checked = checkStorable(key, value);
    if (!checked.ok) return checked;
    forget(key); // an older copy must never outlive this write, stored or not
    const until = Math.min(now + options.maxAgeSeconds, value.envelope.expiresAt);
    const size = value.bytes.byteLength;
    // Not an error: L0 is a cache of small values, and a value it declines is served from L1/L2.
    if (until <= now || size > maxValueBytes || maxEntries < 1) return { ok: true };
    while (memory.entries.size >= maxEntries || memory.bytes + size > options.maxBytes) {
      const oldest = memory.entries.keys().next();
      if (oldest.done === true) break;
      forget(oldest.value);
    }
    memory.entries.set(key, {
      generation,
      value: { bytes: value.bytes.slice(), envelope: checked.metadata },
      cachedAt: now,
      until,
    });
    memory.bytes += size;
    return { ok: true };
  };

  return {
    name: "l0",
    getAt,
    putAt,
    // One entry per key whatever its generation, so deleting the key is deleting every generation.
    deleteAt: async (key) => forget(key),
  };
}
