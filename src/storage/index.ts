/** The storage layer's public surface (docs/design.md §3; layout in docs/storage-schema.md). */
export type { ByteRange, Envelope, GenerationalTier, ObjectWriteResult, Pointer, PutResult, StorageFailure, StoredValue } from "./tier";
export { createL0Memory, createL0Tier, type L0Memory, type L0Tier, type L0TierOptions } from "./l0-tier";
export { buildStoredValue, classifyFreshness, sha256Hex, type Freshness } from "./envelope";
export { createKvTier, kvExpirationTtl, type KvTier, type KvTierOptions } from "./kv-tier";
export {
  createCacheApiTier,
  familyCacheTag,
  type CacheApiTier,
  type CacheApiTierOptions,
} from "./cache-api-tier";
export {
  canSkipWrite,
  createStoreMemory,
  createTieredStore,
  MEDIA_KEY_PREFIX,
  purgeVisibleWithinSeconds,
  type ListOptions,
  type ListResult,
  type PurgeResult,
  type PurgeSelector,
  type TieredStore,
  type TieredStoreOptions,
  type WriteResult,
} from "./tiered";
export { MAX_VALUE_BYTES, MEDIA_MAX_OBJECT_BYTES, PURGE_PAGE_SIZE, KV_PROPAGATION_SECONDS } from "./limits";
export { singleFlight, type InFlight } from "./single-flight";
export { createR2Tier, isWriterObjectKey, newWriterObjectKey, type ObjectWriter, type PendingEnvelope, type R2Tier } from "./r2-tier";
