/** The pure parts of the shield: the ordering rule, source times, refresh limit, placement. */
import { describe, expect, it } from "vitest";
import { FAMILIES, getFamily, type FamilyEntry } from "../../src/keys";
import * as ordering from "../../src/shield/ordering";
import { isShardedFamily, shardOf, shieldNameFor, shieldNamesForPrefix, shieldNamesOfFamily } from "../../src/shield";

const family = (name: string): FamilyEntry => {
  const entry = getFamily(name);
  if (entry === undefined) throw new Error(name);
  return entry;
};

describe("ordering rule", () => {
  it("a write to the key after the fill began wins; one before it does not", () => {
    const o = ordering.createOrdering();
    ordering.noteWrite(o, "k"); // nothing in flight: nothing to record
    const fill = ordering.beginFill(o);
    expect(ordering.mayCommit(o, "k", fill)).toBe(true);
    ordering.noteWrite(o, "other");
    expect(ordering.mayCommit(o, "k", fill)).toBe(true);
    ordering.noteWrite(o, "k");
    expect(ordering.mayCommit(o, "k", fill)).toBe(false);
    // A fill that began after that write may commit.
    const later = ordering.beginFill(o);
    expect(ordering.mayCommit(o, "k", later)).toBe(true);
  });

  it("a family purge (prefix '') or a matching prefix purge after the fill began wins", () => {
    const o = ordering.createOrdering();
    const a = ordering.beginFill(o);
    ordering.notePurge(o, "auth:is_admin:oseh_u_x");
    expect(ordering.mayCommit(o, "auth:is_admin:oseh_u_y", a)).toBe(true);
    expect(ordering.mayCommit(o, "auth:is_admin:oseh_u_x1", a)).toBe(false);
    ordering.notePurge(o, "");
    expect(ordering.mayCommit(o, "auth:is_admin:oseh_u_y", a)).toBe(false);
  });

  it("forgets its marks once nothing is in flight", () => {
    const o = ordering.createOrdering();
    const a = ordering.beginFill(o);
    ordering.noteWrite(o, "k");
    ordering.notePurge(o, "");
    ordering.endFill(o);
    expect(o.lastWrite.size).toBe(0);
    expect(o.purges).toHaveLength(0);
    expect(ordering.mayCommit(o, "k", a)).toBe(true); // (a lease that ended can no longer commit: the shield checks it is held)
  });

  it("X-Edge-Source-Time: only a strictly older write is late", () => {
    expect(ordering.isLateWrite(undefined, 5)).toBe(false);
    expect(ordering.isLateWrite(5, undefined)).toBe(false);
    expect(ordering.isLateWrite(5, 4.999)).toBe(true);
    expect(ordering.isLateWrite(5, 5)).toBe(false);
    expect(ordering.isLateWrite(5, 6)).toBe(false);
  });

  it("X-Edge-Source-Time: at most 60 s ahead of the edge's clock", () => {
    expect(ordering.isSourceTimeTooFarAhead(1060, 1000)).toBe(false);
    expect(ordering.isSourceTimeTooFarAhead(1060.001, 1000)).toBe(true);
    expect(ordering.isSourceTimeTooFarAhead(1000 + 86_400, 1000)).toBe(true);
    expect(ordering.isSourceTimeTooFarAhead(0, 1000)).toBe(false); // the past is never refused
  });

  it("source-time marks: only marks still in force order writes; a mark lives max(value expiry, write + window)", () => {
    const marks = [
      { t: 50, keepUntil: 200 },
      { t: 90, keepUntil: 150 },
    ];
    expect(ordering.newestInForce(marks, 100)).toBe(90);
    expect(ordering.newestInForce(marks, 150)).toBe(50); // a mark is gone at its keepUntil
    expect(ordering.newestInForce(marks, 200)).toBeUndefined();
    expect(ordering.newestInForce([], 0)).toBeUndefined();

    expect(ordering.markKeepUntil(1000, 3600)).toBe(4600); // a tombstone: the window
    expect(ordering.markKeepUntil(1000, 3600, 1900)).toBe(4600); // a value shorter than the window
    expect(ordering.markKeepUntil(1000, 3600, 87_400)).toBe(87_400); // as long as the value it wrote
  });

  it("a purge mark recorded again: the newer time and the longer life, unless the old one has lapsed", () => {
    const next = { t: 10, keepUntil: 500 };
    expect(ordering.mergeMarks(undefined, next, 100)).toEqual(next);
    expect(ordering.mergeMarks({ t: 20, keepUntil: 300 }, next, 100)).toEqual({ t: 20, keepUntil: 500 });
    expect(ordering.mergeMarks({ t: 5, keepUntil: 900 }, next, 100)).toEqual({ t: 10, keepUntil: 900 });
    expect(ordering.mergeMarks({ t: 20, keepUntil: 100 }, next, 100)).toEqual(next); // lapsed: not carried on
  });

  it("refreshes of one key reach the origin at most once per 3 s", () => {
    expect(ordering.refreshAllowed(undefined, 100)).toBe(true);
    expect(ordering.refreshAllowed(100, 102)).toBe(false);
    expect(ordering.refreshAllowed(100, 103)).toBe(true);
    expect(ordering.refreshAllowed(100, 99)).toBe(true); // a clock that went back is not trusted to block
  });
});

describe("placement", () => {
  it("shards families keyed by a user or uid, keeps the others whole", () => {
    expect(isShardedFamily(family("auth:is_admin:{sub}"))).toBe(true);
    expect(isShardedFamily(family("journeys:external:{uid}"))).toBe(true);
    expect(isShardedFamily(family("entitlements:{user_sub}"))).toBe(true);
    expect(isShardedFamily(family("emotion_content_statistics"))).toBe(false);
    expect(shieldNameFor(family("emotion_content_statistics"), "emotion_content_statistics", 16)).toBe("emotion_content_statistics");
    const name = shieldNameFor(family("auth:is_admin:{sub}"), "auth:is_admin:oseh_u_a", 16);
    expect(name).toMatch(/^auth:is_admin:\{sub\}#\d+$/);
    expect(shieldNameFor(family("auth:is_admin:{sub}"), "auth:is_admin:oseh_u_a", 1)).toBe("auth:is_admin:{sub}");
  });

  it("spreads keys over the shards, stably", () => {
    const shards = new Set(Array.from({ length: 200 }, (_, i) => shardOf(`auth:is_admin:oseh_u_${i}`, 16)));
    expect(shards.size).toBe(16);
    expect(shardOf("auth:is_admin:oseh_u_a", 16)).toBe(shardOf("auth:is_admin:oseh_u_a", 16));
  });

  it("a family purge reaches every shard; a prefix purge every shield its prefix can match", () => {
    expect(shieldNamesOfFamily(family("auth:is_admin:{sub}"), 4)).toEqual([0, 1, 2, 3].map((i) => `auth:is_admin:{sub}#${i}`));
    const journeys = shieldNamesForPrefix("journeys:ext", 2);
    expect(journeys).toContain("journeys:external:{uid}#1");
    expect(journeys).toContain("journeys:{uid}:meta#0"); // `journeys:{uid}` — the uid could start with "ext"
    expect(journeys.some((name) => name.startsWith("transcripts:"))).toBe(false);
    // Every family is reachable by the empty-literal prefix of its own name.
    for (const entry of FAMILIES) expect(shieldNamesForPrefix(entry.name.split("{")[0]!, 1)).toContain(entry.name);
  });
});
