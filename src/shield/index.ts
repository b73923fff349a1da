/** The family shields (docs/storage-schema.md §Shield): the Durable Object and the Worker's client. */
export { FamilyShield, SHIELD_COUNTERS, type ShieldFillAnswer, type ShieldRefreshAnswer, type ShieldSource, type ShieldStats, type ShieldWriteAnswer } from "./family-shield";
export { createShieldClient, type LeaseOptions, type ShieldClient, type ShieldLease } from "./client";
export { createShieldFiller } from "./filler";
export { createShieldWriter } from "./writer";
export { isShardedFamily, shardOf, shieldNameFor, shieldNamesForPrefix, shieldNamesOfFamily } from "./placement";
