/**
 * Every registered family (src/keys FAMILIES, 63 entries) has a dev-origin fixture whose sample
 * key parses as that family and whose value passes the family's codec — or, for the families the
 * dev origin deliberately does not serve, a 501 that makes the edge pass through.
 */
import { describe, expect, it } from "vitest";
import { FAMILY_FIXTURES, findFixtureByPattern, matchKey, patternSkeleton } from "../../dev/origin/fixtures/families";
import { FAMILIES, parseKey, validateValueDeep } from "../../src/keys";
import { getValue } from "./helpers";

/** Families the dev origin answers 501 for (docs/origin.md). */
const NOT_SERVED = new Set(["updater-lock-key"]);

describe("dev origin fixtures cover the registry", () => {
  it("has exactly one fixture per registered family, and no others", () => {
    expect(FAMILIES.length).toBe(63);
    const registry = new Set(FAMILIES.map((f) => patternSkeleton(f.name)));
    const fixtures = FAMILY_FIXTURES.map((f) => patternSkeleton(f.pattern));
    expect(new Set(fixtures).size).toBe(fixtures.length);
    expect([...registry].filter((s) => !fixtures.includes(s))).toEqual([]);
    expect(fixtures.filter((s) => !registry.has(s))).toEqual([]);
  });

  it.each(FAMILIES.map((f) => [f.name, f] as const))("%s: sample key parses, value passes its codec", async (_name, family) => {
    const fixture = findFixtureByPattern(family.name);
    expect(fixture, `no fixture for ${family.name}`).toBeDefined();
    if (fixture === undefined) return;
    const parsed = parseKey(fixture.sampleKey);
    expect(parsed.ok ? parsed.value.family.name : parsed).toBe(family.name);
    expect(matchKey(fixture.sampleKey)?.fixture).toBe(fixture);

    const response = await getValue(fixture.sampleKey);
    if (NOT_SERVED.has(family.name)) {
      expect(response.status).toBe(501);
      expect(response.headers.get("X-Edge-Value")).toBe("unsupported");
      return;
    }
    expect(response.status).toBe(200);
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(await validateValueDeep(family.codec, bytes)).toEqual({ ok: true });
    // Absolute expiries come with the writer's time; no other family sends one.
    expect(response.headers.has("X-Edge-Expires-At")).toBe(family.expiry.kind === "absolute");
    // Deterministic: the same key gives the same bytes.
    const again = new Uint8Array(await (await getValue(fixture.sampleKey)).arrayBuffer());
    expect(again).toEqual(bytes);
  });
});
