import { expect, it } from "vitest";
import familiesMarkdown from "../../docs/families.md?raw";
import { FAMILIES } from "../../src/keys";
import { extractGeneratedSection, renderFamiliesMarkdown } from "../../scripts/families-doc";

const REGENERATE = "docs/families.md is stale: run `npx node scripts/gen-families-doc.mjs` and commit the result";

it("docs/families.md has the generated table of the registry", () => {
  const section = extractGeneratedSection(familiesMarkdown);
  expect(section, "docs/families.md lost its BEGIN/END GENERATED markers").toBeDefined();
  expect(section, REGENERATE).toBe(renderFamiliesMarkdown(FAMILIES));
});

it("the table has a row per family, each naming its pattern", () => {
  const section = renderFamiliesMarkdown(FAMILIES);
  const rows = section.split("\n").filter((line) => /^\| \d+ \|/.test(line));
  expect(rows).toHaveLength(FAMILIES.length);
  FAMILIES.forEach((family, i) => expect(rows[i]).toContain(`\`${family.name}\``));
});

it("documents the drift from the seed and the bytes codec", () => {
  expect(familiesMarkdown).toContain("## Drift from the seed");
  expect(familiesMarkdown).toContain("client_flows:{slug}:full");
  expect(familiesMarkdown).toMatch(/`bytes`.*addition to the design/);
});
