/** The pure rules of the storage layer, with an injected clock. */
import { describe, expect, it } from "vitest";
import { classifyFreshness, keyProblem } from "../../src/storage/envelope";
import { retryKvWrite } from "../../src/storage/retry";
import { createCounters } from "../../src/stats";
import { canSkipWrite, purgeVisibleWithinSeconds } from "../../src/storage/tiered";
import { NOW, recordingSleep, valueOf } from "./helpers";

describe("classifyFreshness", () => {
  it("is fresh before expiresAt, stale for the stale-if-error window, then expired", async () => {
    const { envelope } = await valueOf("x", { expiresAt: NOW + 100 });
    expect(classifyFreshness(envelope, NOW + 99, 300)).toBe("fresh");
    expect(classifyFreshness(envelope, NOW + 100, 300)).toBe("stale");
    expect(classifyFreshness(envelope, NOW + 399, 300)).toBe("stale");
    expect(classifyFreshness(envelope, NOW + 400, 300)).toBe("expired");
    expect(classifyFreshness(envelope, NOW + 100, 0)).toBe("expired");
  });
});

describe("canSkipWrite", () => {
  const envelope = async (bytes: string, expiresAt: number, extra: Partial<{ family: string; codec: string }> = {}) =>
    (await valueOf(bytes, { expiresAt, ...extra })).envelope;

  it("skips unchanged bytes whose expiry is at most min(60 s, 10 % of the lifetime) earlier", async () => {
    const next = await envelope("v", NOW + 900); // slack = min(60, 90) = 60
    expect(canSkipWrite(await envelope("v", NOW + 840), next, NOW)).toBe(true);
    expect(canSkipWrite(await envelope("v", NOW + 839), next, NOW)).toBe(false);
    const short = await envelope("v", NOW + 100); // slack = min(60, 10) = 10
    expect(canSkipWrite(await envelope("v", NOW + 90), short, NOW)).toBe(true);
    expect(canSkipWrite(await envelope("v", NOW + 89), short, NOW)).toBe(false);
  });

  it("skips when the existing expiry is later", async () => {
    expect(canSkipWrite(await envelope("v", NOW + 5000), await envelope("v", NOW + 900), NOW)).toBe(true);
  });

  it("never skips changed bytes, another family or codec, a missing or an expired value", async () => {
    const next = await envelope("v", NOW + 900);
    expect(canSkipWrite(undefined, next, NOW)).toBe(false);
    expect(canSkipWrite(await envelope("w", NOW + 900), next, NOW)).toBe(false);
    expect(canSkipWrite(await envelope("v", NOW + 900, { family: "other" }), next, NOW)).toBe(false);
    expect(canSkipWrite(await envelope("v", NOW + 900, { codec: "json" }), next, NOW)).toBe(false);
    expect(canSkipWrite(await envelope("v", NOW), await envelope("v", NOW + 5), NOW)).toBe(false);
  });
});

describe("purge propagation bound", () => {
  it("is KV's 60 s plus the L1 max age", () => {
    expect(purgeVisibleWithinSeconds(30)).toBe(90);
  });
});

describe("keyProblem", () => {
  it("applies KV's key rules", () => {
    expect(keyProblem("a")).toBeNull();
    expect(keyProblem("é".repeat(256))).toBeNull(); // 512 UTF-8 bytes
    expect(keyProblem("é".repeat(256) + "a")).toMatch(/513 bytes/);
    expect(keyProblem("")).not.toBeNull();
    expect(keyProblem(".")).not.toBeNull();
    expect(keyProblem("..")).not.toBeNull();
  });
});

describe("retryKvWrite", () => {
  it("does not retry errors other than 429", async () => {
    const { sleep, delays } = recordingSleep();
    let calls = 0;
    const outcome = await retryKvWrite(async () => {
      calls++;
      throw new Error("KV PUT failed: 500 Internal Server Error");
    }, { sleep });
    expect(outcome).toMatchObject({ ok: false, rateLimited: false, attempts: 1 });
    expect(calls).toBe(1);
    expect(delays).toEqual([]);
  });
});

describe("counters (src/stats.ts)", () => {
  it("counts per family into its section and snapshots plain copies", () => {
    const counters = createCounters();
    counters.count("a", "l1Hits");
    counters.count("a", "l1Hits", 2);
    counters.count("b", "l2Misses");
    counters.count("b", "misses");
    const snapshot = counters.snapshot();
    expect(snapshot.storage.a?.l1Hits).toBe(3);
    expect(snapshot.storage.b).toMatchObject({ l2Misses: 1, l1Hits: 0 });
    // A family appears in a section once it counted there.
    expect(Object.keys(snapshot.families)).toEqual(["b"]);
    expect(snapshot.families.b).toMatchObject({ misses: 1, hits: 0 });
    counters.count("a", "l1Hits");
    expect(snapshot.storage.a?.l1Hits).toBe(3);
  });
});
