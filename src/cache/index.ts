/**
 * The read-through cache core (docs/design.md §3, §4.2): one result type, the read through the
 * tiers with fills on miss, the filler and writer interfaces with their in-isolate and direct
 * implementations (the shields' are in src/shield/), the fill guard, and the `Cache-Status`
 * vocabulary.
 */
export { describeUnavailable, type CacheResult, type CacheTier, type CacheUnavailable, type CacheValue, type StoredTier } from "./result";
export { createCacheReader, type CacheReader, type CacheReaderOptions, type ReadOptions, type ReadScope } from "./read-through";
export { createIsolateFiller, staysInColo, type FetchFill, type Fill, type Filler, type FillOptions, type RefreshOutcome } from "./filler";
export { createPhases, serverTiming, timed, type Phase, type Phases } from "./phases";
export { claimRefresh, createRefreshMemory, expiryClassRefreshes, refreshAheadDue, refreshAheadFrom, type RefreshMemory } from "./refresh-ahead";
export { createFillGuard, FILL_BUDGET_SPENT, type FillGuard } from "./fill-guard";
export { cacheStatusOf, CACHE_NAME, type Served } from "./wire";
