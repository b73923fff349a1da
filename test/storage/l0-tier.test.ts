import { describe, expect, it } from "vitest";
import { createL0Memory, createL0Tier } from "../../src/storage/l0-tier";
import { MAX_VALUE_BYTES } from "../../src/storage/limits";
import { NOW, valueOf } from "./helpers";
import { describeTierContract, tierSubject } from "./tier-contract";

// The contract's values live 100 s and are 25 MiB at most: an L0 sized to hold them.
describeTierContract("L0 tier", () =>
  tierSubject(
    createL0Tier({ maxAgeSeconds: 1000, maxBytes: 2 * MAX_VALUE_BYTES, maxValueBytes: MAX_VALUE_BYTES, memory: createL0Memory() }),
    "gone",
  ),
);

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : new TextDecoder().decode(bytes));

describe("L0 tier", () => {
  const make = (overrides: Partial<Parameters<typeof createL0Tier>[0]> = {}) => {
    const memory = createL0Memory();
    return { memory, tier: createL0Tier({ maxAgeSeconds: 30, maxBytes: 100, maxValueBytes: 40, maxEntries: 3, memory, ...overrides }) };
  };

  it("forgets an entry after maxAgeSeconds by the injected clock, even while the value is fresh", async () => {
    const { tier } = make();
    await tier.put("k", await valueOf("hot", { expiresAt: NOW + 3600 }), NOW);
    expect(text((await tier.get("k", NOW + 29))?.bytes)).toBe("hot");
    expect(await tier.get("k", NOW + 30)).toBeUndefined();
    // …and a clock before the copy was taken is not trusted either.
    await tier.put("k", await valueOf("hot", { expiresAt: NOW + 3600 }), NOW);
    expect(await tier.get("k", NOW - 1)).toBeUndefined();
  });

  it("keys entries under the family generation: another generation is a miss", async () => {
    const { tier } = make();
    await tier.putAt("k", await valueOf("old generation"), NOW, "g1");
    expect(await tier.getAt("k", "g2", NOW)).toBeUndefined();
    // The miss also dropped it: a purge is never undone by switching back.
    expect(await tier.getAt("k", "g1", NOW)).toBeUndefined();
  });

  it("keeps only small values, and a declined write removes the older copy", async () => {
    const { tier } = make();
    await tier.put("k", await valueOf("small"), NOW);
    expect(await tier.put("k", await valueOf("x".repeat(41)), NOW)).toEqual({ ok: true });
    expect(await tier.get("k", NOW)).toBeUndefined();
  });

  it("is bounded by entries and bytes, least recently used first", async () => {
    const { tier, memory } = make();
    for (const k of ["a", "b", "c"]) await tier.put(k, await valueOf(k.repeat(30)), NOW);
    await tier.get("a", NOW); // a is now the most recent
    await tier.put("d", await valueOf("d".repeat(30)), NOW); // bytes: 120 > 100 → b goes, then entries fit
    expect(await tier.get("b", NOW)).toBeUndefined();
    expect([...memory.entries.keys()].sort()).toEqual(["a", "c", "d"]);
    expect(memory.bytes).toBe(90);
    await tier.delete("a");
    expect(memory.bytes).toBe(60);
  });

  it("hands out copies: a caller changing its bytes changes nothing for the next reader", async () => {
    const { tier } = make();
    await tier.put("k", await valueOf("abc"), NOW);
    const first = await tier.get("k", NOW);
    first!.bytes[0] = 0x7a;
    expect(text((await tier.get("k", NOW))?.bytes)).toBe("abc");
  });

  it("holds nothing with maxBytes 0", async () => {
    const { tier, memory } = make({ maxBytes: 0 });
    await tier.put("k", await valueOf(""), NOW);
    await tier.put("j", await valueOf("x"), NOW);
    expect(memory.entries.size).toBeLessThanOrEqual(1);
    expect(await tier.get("j", NOW)).toBeUndefined();
  });
});
