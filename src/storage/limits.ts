/**
 * Platform limits and policy constants for the storage tiers, each with its unit and its reason
 * (docs/platform.md §1.1, §1.2). docs/storage-schema.md is the prose version.
 */

/** KV refuses larger values (`413 Value length of … exceeds limit of 26214400`); applied to L1 too so both tiers hold the same values. */
export const MAX_VALUE_BYTES = 26_214_400;

/** KV refuses metadata whose JSON serialisation is longer than this. */
export const MAX_METADATA_BYTES = 1024;

/** KV refuses keys longer than this (UTF-8 bytes), and the empty key, `.` and `..`. */
export const MAX_KEY_BYTES = 512;

/** KV refuses `expirationTtl` below this. */
export const KV_MIN_TTL_SECONDS = 60;

/**
 * Longest GC backstop sent as `expirationTtl` (one year). KV refuses TTLs past a 32-bit range
 * (`Value out of range. Must be between -2147483648 and 2147483647`), and a writer may name an
 * expiry decades away (`X-Edge-Expires-At` on an `absolute` family). Freshness still comes from
 * the envelope; a value meant to live longer is simply refilled after a year.
 */
export const KV_MAX_TTL_SECONDS = 365 * 24 * 60 * 60;

/** KV is eventually consistent: a write, delete or list is visible in other colos within ~60 s. */
export const KV_PROPAGATION_SECONDS = 60;

/** KV allows 1 write/s per key; the first retry waits that long, later ones double. */
export const KV_RETRY_BASE_DELAY_MS = 1000;

/** 1 + 2 + 4 s of waiting fits easily in the 30 s `waitUntil` budget. */
export const KV_WRITE_MAX_ATTEMPTS = 4;

/** KV `list` returns at most this many keys per call. */
export const KV_LIST_MAX_LIMIT = 1000;

/**
 * Keys deleted per purge call: 1 list + 400 deletes (+ retries) stays far below the 1,000 KV
 * operations an invocation may make, leaving room for the caller's own reads (admin auth).
 */
export const PURGE_PAGE_SIZE = 400;

/** Keys starting with this are the edge's own bookkeeping (generations); never listed or purged as values. */
export const RESERVED_KEY_PREFIX = "_edge:";

/** Per-family L1 generation token, stored in KV under this prefix + family pattern. */
export const GENERATION_KEY_PREFIX = "_edge:gen:";

/** Path of the synthetic L1 URLs on the Worker's own host. */
export const L1_PATH_PREFIX = "/_edge/l1/";

/**
 * Write-skip slack: an unchanged value is not rewritten if that would only push its expiry later
 * by at most this share of its new lifetime (1/10) …
 */
export const WRITE_SKIP_SLACK_FRACTION = 0.1;

/** … and at most this many seconds. A KV write costs 10× a read and is capped at 1/s/key. */
export const WRITE_SKIP_MAX_SLACK_SECONDS = 60;

/**
 * Largest media object a fill writes to R2 (1 GiB). R2 takes up to 5 GiB in one put, but a fill
 * streams through one invocation; larger objects are passed through to the origin instead.
 */
export const MEDIA_MAX_OBJECT_BYTES = 1024 * 1024 * 1024;
