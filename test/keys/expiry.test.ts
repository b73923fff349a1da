import { describe, expect, it } from "vitest";
import { computeExpiresAt, getFamily } from "../../src/keys";
import type { FamilyEntry } from "../../src/keys";

const COLLAB_MAX_SECONDS = 7 * 86_400;
/** 2024-11-03 01:30 PDT, the first of the two 01:30s of fall-back day. */
const FALL_BACK_0130_PDT = Date.UTC(2024, 10, 3, 8, 30) / 1000;
/** 2024-11-04 00:00 PST. */
const NOV_4_LA_MIDNIGHT = Date.UTC(2024, 10, 4, 8) / 1000;
const NOW = 1_700_000_000;

function family(name: string): FamilyEntry {
  const entry = getFamily(name);
  if (entry === undefined) throw new Error(`no family ${name}`);
  return entry;
}

function expiresAt(result: ReturnType<typeof computeExpiresAt>): number {
  if (!result.ok) throw new Error(result.reason);
  return result.expiresAt;
}

describe("fixed", () => {
  it("is now + seconds", () => {
    expect(expiresAt(computeExpiresAt(family("image_files:playlist:{uid}"), NOW, { collabMaxSeconds: COLLAB_MAX_SECONDS }))).toBe(NOW + 60);
    expect(expiresAt(computeExpiresAt(family("journeys:external:{uid}"), NOW, { collabMaxSeconds: COLLAB_MAX_SECONDS }))).toBe(NOW + 172_800);
    expect(expiresAt(computeExpiresAt(family("journey_share_links:top_sharers:{start}:{end}"), NOW, { collabMaxSeconds: 1 }))).toBe(NOW + 7200);
  });

  it("lets a writer shorten it but not extend it", () => {
    const f = family("auth:is_admin:{sub}");
    expect(expiresAt(computeExpiresAt(f, NOW, { collabMaxSeconds: COLLAB_MAX_SECONDS, writerExpiresAt: NOW + 10 }))).toBe(NOW + 10);
    expect(expiresAt(computeExpiresAt(f, NOW, { collabMaxSeconds: COLLAB_MAX_SECONDS, writerExpiresAt: NOW + 10_000 }))).toBe(NOW + 900);
  });
});

describe("random", () => {
  const prompts = family("interactive_prompts:external:{uid}");

  it("draws a uniform integer in [min, max] from the injected random", () => {
    const at = (r: number) => expiresAt(computeExpiresAt(prompts, NOW, { collabMaxSeconds: 1, random: () => r }));
    expect(at(0)).toBe(NOW + 86_400);
    expect(at(0.5)).toBe(NOW + 86_400 + 43_200);
    expect(at(0.999_999_999)).toBe(NOW + 172_799);
    // A misbehaving source that returns 1 (or more) still stays in range.
    expect(at(1)).toBe(NOW + 172_799);
    expect(at(-0.5)).toBe(NOW + 86_400);
  });

  it("covers both ends for a small range", () => {
    const offerings = family("revenue_cat:offerings:{revenue_cat_id}:{platform}");
    const seen = new Set<number>();
    for (let i = 0; i < 90; i++) {
      const r = i / 90;
      seen.add(expiresAt(computeExpiresAt(offerings, NOW, { collabMaxSeconds: 1, random: () => r })) - NOW);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([3602, 3603, 3604, 3605, 3606, 3607, 3608, 3609, 3610]);
  });

  it("defaults to Math.random", () => {
    for (let i = 0; i < 50; i++) {
      const t = expiresAt(computeExpiresAt(prompts, NOW, { collabMaxSeconds: 1 })) - NOW;
      expect(Number.isInteger(t)).toBe(true);
      expect(t).toBeGreaterThanOrEqual(86_400);
      expect(t).toBeLessThanOrEqual(172_799);
    }
  });

  it("honours a writer's time up to the rule's maximum, without drawing", () => {
    const never = () => {
      throw new Error("must not draw");
    };
    expect(expiresAt(computeExpiresAt(prompts, NOW, { collabMaxSeconds: 1, random: never, writerExpiresAt: NOW + 100_000 }))).toBe(NOW + 100_000);
    expect(expiresAt(computeExpiresAt(prompts, NOW, { collabMaxSeconds: 1, random: never, writerExpiresAt: NOW + 999_999 }))).toBe(NOW + 172_799);
  });
});

describe("la-midnight", () => {
  const dau = family("daily_active_users:{unix_date}");

  it("is the next LA midnight, across the 25-hour fall-back day", () => {
    expect(expiresAt(computeExpiresAt(dau, FALL_BACK_0130_PDT, { collabMaxSeconds: 1 }))).toBe(NOV_4_LA_MIDNIGHT);
  });

  it("is not the backend's mis-signed 08:00 PST / 10:00 PDT (A #12–#15)", () => {
    // 2024-01-15 12:00 PST: the backend's formula would give 16:00 UTC that day (in the past).
    const noonPst = Date.UTC(2024, 0, 15, 20) / 1000;
    expect(expiresAt(computeExpiresAt(dau, noonPst, { collabMaxSeconds: 1 }))).toBe(Date.UTC(2024, 0, 16, 8) / 1000);
  });

  it("is the end of a 23-hour spring-forward day", () => {
    const earlyMar10 = Date.UTC(2024, 2, 10, 8, 0, 1) / 1000; // 00:00:01 PST
    expect(expiresAt(computeExpiresAt(dau, earlyMar10, { collabMaxSeconds: 1 })) - earlyMar10).toBe(23 * 3600 - 1);
  });

  it("caps a writer's time at midnight", () => {
    const stats = family("daily_push_tokens:{start}:{end}");
    const late = computeExpiresAt(stats, FALL_BACK_0130_PDT, { collabMaxSeconds: 1, writerExpiresAt: NOV_4_LA_MIDNIGHT + 3600 });
    expect(expiresAt(late)).toBe(NOV_4_LA_MIDNIGHT);
    const early = computeExpiresAt(stats, FALL_BACK_0130_PDT, { collabMaxSeconds: 1, writerExpiresAt: FALL_BACK_0130_PDT + 60 });
    expect(expiresAt(early)).toBe(FALL_BACK_0130_PDT + 60);
  });
});

describe("absolute", () => {
  const special = family("interactive_prompts:special:{public_identifier}:info");

  it("takes the writer's time", () => {
    expect(expiresAt(computeExpiresAt(special, NOW, { collabMaxSeconds: 1, writerExpiresAt: NOW + 5_000_000 }))).toBe(NOW + 5_000_000);
  });

  it("falls back to now + 28 days without one", () => {
    expect(expiresAt(computeExpiresAt(special, NOW, { collabMaxSeconds: 1 }))).toBe(NOW + 2_419_200);
  });
});

describe("none", () => {
  const flows = family("client_flows:{slug}");

  it("lives for the configured cap", () => {
    expect(expiresAt(computeExpiresAt(flows, NOW, { collabMaxSeconds: COLLAB_MAX_SECONDS }))).toBe(NOW + COLLAB_MAX_SECONDS);
    expect(expiresAt(computeExpiresAt(family("transcripts:{uid}"), NOW, { collabMaxSeconds: 3600 }))).toBe(NOW + 3600);
  });

  it("takes the earlier of the writer's time and the cap", () => {
    expect(expiresAt(computeExpiresAt(flows, NOW, { collabMaxSeconds: 3600, writerExpiresAt: NOW + 60 }))).toBe(NOW + 60);
    expect(expiresAt(computeExpiresAt(flows, NOW, { collabMaxSeconds: 3600, writerExpiresAt: NOW + 7200 }))).toBe(NOW + 3600);
  });

  it("needs a positive cap", () => {
    expect(computeExpiresAt(flows, NOW, { collabMaxSeconds: 0 }).ok).toBe(false);
    expect(computeExpiresAt(flows, NOW, { collabMaxSeconds: Number.NaN }).ok).toBe(false);
  });
});

describe("writer time validation", () => {
  it.each([
    ["in the past", NOW - 1],
    ["equal to now", NOW],
    ["infinite", Number.POSITIVE_INFINITY],
    ["NaN", Number.NaN],
  ])("rejects a writer time %s for every expiry class", (_, writerExpiresAt) => {
    for (const name of [
      "image_files:playlist:{uid}",
      "interactive_prompts:external:{uid}",
      "daily_active_users:{unix_date}",
      "interactive_prompts:special:{public_identifier}:info",
      "client_flows:{slug}",
    ]) {
      const result = computeExpiresAt(family(name), NOW, { collabMaxSeconds: 3600, writerExpiresAt });
      expect(result.ok, name).toBe(false);
      if (!result.ok) expect(result.reason).toMatch(/writer expiry/);
    }
  });

  it("rejects a non-finite now", () => {
    expect(computeExpiresAt(family("image_files:playlist:{uid}"), Number.NaN, { collabMaxSeconds: 1 }).ok).toBe(false);
  });
});
