import { describe, expect, it } from "vitest";
import { createL0Memory, createL0Tier } from "../../src/storage/l0-tier";
import { MAX_VALUE_BYTES } from "../../src/storage/limits";
import { NOW, valueOf } from "./helpers";
import { describeTierContract, generationalSubject } from "./tier-contract";

/** The generation these tests store under (the tiered store passes the family's). */
const G = "0";

// The contract's values live 100 s and are 25 MiB at most: an L0 sized to hold them.
describeTierContract("L0 tier", () =>
  generationalSubject(
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
    await tier.putAt("k", await valueOf("hot", { expiresAt: NOW + 3600 }), NOW, G);
    expect(text((await tier.getAt("k", G, NOW + 29))?.bytes)).toBe("hot");
    expect(await tier.getAt("k", G, NOW + 30)).toBeUndefined();
    // …and a clock before the copy was taken is not trusted either.
    await tier.putAt("k", await valueOf("hot", { expiresAt: NOW + 3600 }), NOW, G);
    expect(await tier.getAt("k", G, NOW - 1)).toBeUndefined();
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
    await tier.putAt("k", await valueOf("small"), NOW, G);
    expect(await tier.putAt("k", await valueOf("x".repeat(41)), NOW, G)).toEqual({ ok: true });
    expect(await tier.getAt("k", G, NOW)).toBeUndefined();
  });

  it("is bounded by entries and bytes, least recently used first", async () => {
    const { tier, memory } = make();
    for (const k of ["a", "b", "c"]) await tier.putAt(k, await valueOf(k.repeat(30)), NOW, G);
    await tier.getAt("a", G, NOW); // a is now the most recent
    await tier.putAt("d", await valueOf("d".repeat(30)), NOW, G); // bytes: 120 > 100 → b goes, then entries fit
    expect(await tier.getAt("b", G, NOW)).toBeUndefined();
    expect([...memory.entries.keys()].sort()).toEqual(["a", "c", "d"]);
    expect(memory.bytes).toBe(90);
    await tier.deleteAt("a", G);
    expect(memory.bytes).toBe(60);
  });

  it("hands out copies: a caller changing its bytes changes nothing for the next reader", async () => {
    const { tier } = make();
    await tier.putAt("k", await valueOf("abc"), NOW, G);
    const first = await tier.getAt("k", G, NOW);
    first!.bytes[0] = 0x7a;
    expect(text((await tier.getAt("k", G, NOW))?.bytes)).toBe("abc");
  });

  it("holds nothing with maxBytes 0", async () => {
    const { tier, memory } = make({ maxBytes: 0 });
    await tier.putAt("k", await valueOf(""), NOW, G);
    await tier.putAt("j", await valueOf("x"), NOW, G);
    expect(memory.entries.size).toBeLessThanOrEqual(1);
    expect(await tier.getAt("j", G, NOW)).toBeUndefined();
  });
});
