/**
 * The refresh-ahead rules (src/cache/refresh-ahead.ts), pure: the window (last tenth of life or
 * last 60 s, whichever is shorter), the expiry classes that refresh, and the isolate's memory of
 * the refreshes it asked for. The refresh itself, through the shields: test/shield/refresh-ahead.test.ts.
 */
import { describe, expect, it } from "vitest";
import { claimRefresh, createRefreshMemory, expiryClassRefreshes, refreshAheadDue, refreshAheadFrom } from "../../src/cache";
import { getFamily, type FamilyEntry } from "../../src/keys";

function family(name: string): FamilyEntry {
  const found = getFamily(name);
  if (found === undefined) throw new Error(`no family ${name}`);
  return found;
}

describe("refresh-ahead window", () => {
  it("is the last tenth of life or the last 60 s, whichever is shorter", () => {
    expect(refreshAheadFrom({ storedAt: 1000, expiresAt: 1000 + 900 })).toBe(1000 + 900 - 60);
    expect(refreshAheadFrom({ storedAt: 1000, expiresAt: 1000 + 120 })).toBe(1000 + 120 - 12);
    expect(refreshAheadFrom({ storedAt: 1000, expiresAt: 1000 })).toBe(1000);
  });

  it("is due from its start until the expiry, not after", () => {
    const admin = family("auth:is_admin:{sub}");
    const envelope = { storedAt: 0, expiresAt: 900 };
    expect(refreshAheadDue(admin, envelope, 839)).toBe(false);
    expect(refreshAheadDue(admin, envelope, 840)).toBe(true);
    expect(refreshAheadDue(admin, envelope, 899)).toBe(true);
    expect(refreshAheadDue(admin, envelope, 900)).toBe(false);
  });

  it("refreshes the classes whose later fill lives longer", () => {
    expect(expiryClassRefreshes({ kind: "fixed", seconds: 60 })).toBe(true);
    expect(expiryClassRefreshes({ kind: "random", minSeconds: 1, maxSeconds: 2 })).toBe(true);
    expect(expiryClassRefreshes({ kind: "none" })).toBe(true);
    expect(expiryClassRefreshes({ kind: "la-midnight" })).toBe(false);
    expect(expiryClassRefreshes({ kind: "absolute", fallbackSeconds: 60 })).toBe(false);
    // A key that dies at the next LA midnight gains nothing from a refill before it.
    const daily = family("journey_subcategory_view_stats:{unix_date}");
    expect(refreshAheadDue(daily, { storedAt: 0, expiresAt: 900 }, 899)).toBe(false);
  });
});

describe("the isolate's refresh memory", () => {
  it("claims a (key, expiresAt) once, and the next lifetime again", () => {
    const memory = createRefreshMemory();
    expect(claimRefresh(memory, "k", 900, 850)).toBe(true);
    expect(claimRefresh(memory, "k", 900, 851)).toBe(false);
    // An older copy (another tier's) of an already-claimed lifetime: nothing new to ask.
    expect(claimRefresh(memory, "k", 880, 852)).toBe(false);
    expect(claimRefresh(memory, "k", 1800, 1750)).toBe(true);
    expect(claimRefresh(memory, "other", 900, 850)).toBe(true);
  });

  it("stays bounded: expired claims go first when it is full", () => {
    const memory = createRefreshMemory();
    for (let i = 0; i < 5000; i++) claimRefresh(memory, `k${i}`, 100, 50);
    expect(memory.size).toBeLessThanOrEqual(4096);
    // All claims expired by now: the memory makes room, and a live claim stays claimed.
    expect(claimRefresh(memory, "live", 1000, 200)).toBe(true);
    expect(claimRefresh(memory, "live", 1000, 201)).toBe(false);
  });
});
