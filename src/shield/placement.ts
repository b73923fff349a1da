/**
 * Which shield instance owns a key (docs/storage-schema.md §Shield). One per family, or one per
 * shard for families keyed by a user or a uid, so no single object takes a hot family's fills
 * (one Durable Object serves on the order of 1,000 requests/s).
 */
import { familiesMatchingPrefix, type FamilyEntry } from "../keys";

/** Keyed by a user (`sub`, `user_sub`) or by a uid: many keys, each read by few. */
export function isShardedFamily(family: FamilyEntry): boolean {
  return family.params.some((param) => param.kind === "uid" || param.name === "sub" || param.name.endsWith("_sub"));
}

/** FNV-1a over the key's UTF-16 code units: stable across isolates and deploys, no I/O. */
export function shardOf(key: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

/** The `idFromName` name of the shield that owns `key`. */
export function shieldNameFor(family: FamilyEntry, key: string, shards: number): string {
  return isShardedFamily(family) && shards > 1 ? `${family.name}#${shardOf(key, shards)}` : family.name;
}

/** Every shield of a family (a family purge reaches them all). */
export function shieldNamesOfFamily(family: FamilyEntry, shards: number): string[] {
  if (!isShardedFamily(family) || shards <= 1) return [family.name];
  return Array.from({ length: shards }, (_, shard) => `${family.name}#${shard}`);
}

/** Every shield whose family a key starting with `prefix` may belong to. */
export function shieldNamesForPrefix(prefix: string, shards: number): string[] {
  return familiesMatchingPrefix(prefix).flatMap((family) => shieldNamesOfFamily(family, shards));
}
