/**
 * Key families (docs/design.md §2): the registry, the one key parser/builder, expiry rules, codecs and
 * LA calendar helpers. Pure code, no I/O.
 */
export { FAMILIES } from "./registry";
export { parseKey, familyNameOf, getFamily, buildKey, keyOf, type BuiltKey, type FamilyKey, familiesMatchingPrefix, familyLiteralPrefix, MAX_KEY_BYTES, RESERVED_KEY_PREFIX } from "./parse";
export { computeExpiresAt, parseExpiresAtHeader, type ComputeExpiresAtOptions, type ExpiresAtResult } from "./expiry";
export { CODECS, validateGzipJsonDeep, validateU64GzipJsonDeep, validateValueDeep } from "./codecs";
export { laUnixDate, laMidnightStartOf, nextLaMidnight, unixDateToIso, isoToUnixDate, laOffsetSeconds } from "./la-time";
export type * from "./types";
