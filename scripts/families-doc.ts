/**
 * Renders the family table of docs/families.md from the registry, so the document cannot drift:
 * `scripts/gen-families-doc.mjs` writes it, `test/keys/families-doc.test.ts` checks it.
 */
import { DEFAULT_TEXT_MAX_LENGTH, DEFAULT_TEXT_PATTERN, uidPrefixesOf } from "../src/keys/params";
import type { Expiry, FamilyEntry, ParamSpec } from "../src/keys/types";

export const GENERATED_BEGIN = "<!-- BEGIN GENERATED: families table; regenerate with `npx node scripts/gen-families-doc.mjs` -->";
export const GENERATED_END = "<!-- END GENERATED: families table -->";

function escapeCell(text: string): string {
  // GFM tables split on `|` even inside code spans, unless it is escaped.
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function code(text: string): string {
  return `\`${text}\``;
}

export function describeExpiry(expiry: Expiry): string {
  switch (expiry.kind) {
    case "fixed":
      return `${expiry.seconds} s`;
    case "random":
      return `random ${expiry.minSeconds}–${expiry.maxSeconds} s`;
    case "la-midnight":
      return "next LA midnight";
    case "absolute":
      return `writer's time, else ${expiry.fallbackSeconds} s`;
    case "none":
      return "none (capped by COLLAB_MAX_SECONDS)";
    default:
      return expiry satisfies never;
  }
}

export function describeParam(spec: ParamSpec): string {
  const name = spec.optional === true ? `${spec.name}?` : spec.name;
  switch (spec.kind) {
    case "uid": {
      const prefixes = uidPrefixesOf(spec);
      return `${name}: uid ${prefixes.length > 0 ? prefixes.map((p) => code(`oseh_${p}_…`)).join("/") : code("oseh_…")}`;
    }
    case "unix-date":
      return `${name}: unix date${spec.allowNone === true ? ` or ${code("None")}` : ""}`;
    case "int": {
      const bounds = [
        spec.min !== undefined ? `≥ ${spec.min}` : "≥ 0",
        spec.max !== undefined ? `≤ ${spec.max}` : undefined,
        spec.multipleOf !== undefined ? `multiple of ${spec.multipleOf}` : undefined,
      ].filter((part) => part !== undefined);
      return `${name}: int ${bounds.join(", ")}`;
    }
    case "enum":
    case "bool-py":
      return `${name}: ${(spec.values ?? []).map(code).join(" ")}`;
    case "text":
      return `${name}: text ${code((spec.pattern ?? DEFAULT_TEXT_PATTERN).source)} ≤ ${spec.maxLength ?? DEFAULT_TEXT_MAX_LENGTH}${spec.allowEmpty === true ? " or empty" : ""}`;
    case "iso-date":
      return `${name}: ${code("YYYY-MM-DD")}`;
    case "filters":
      return `${name}: ${code("w=…,h=…,pr=…,bmin=…,bmax=…")}`;
    default:
      return spec.kind satisfies never;
  }
}

/** The generated section of docs/families.md, markers included, ending with a newline. */
export function renderFamiliesMarkdown(families: readonly FamilyEntry[]): string {
  const lines = [
    GENERATED_BEGIN,
    "",
    `${families.length} families.`,
    "",
    "| # | pattern | params | codec | expiry | sensitivity | route | channel | note |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  families.forEach((family, index) => {
    const patterns = [family.name, ...(family.variants ?? []).map((v) => v.pattern)].map(code).join("<br>");
    const cells = [
      String(index + 1),
      patterns,
      family.params.map(describeParam).join("<br>") || "—",
      code(family.codec.name),
      describeExpiry(family.expiry),
      family.sensitivity,
      family.route === null ? "—" : code(family.route),
      family.channel === null ? "—" : code(family.channel),
      family.note,
    ];
    lines.push(`| ${cells.map(escapeCell).join(" | ")} |`);
  });
  lines.push("", GENERATED_END, "");
  return lines.join("\n");
}

/** The generated section of a document (markers included), or undefined when the markers are missing. */
export function extractGeneratedSection(markdown: string): string | undefined {
  const begin = markdown.indexOf(GENERATED_BEGIN);
  const end = markdown.indexOf(GENERATED_END);
  if (begin === -1 || end === -1 || end < begin) return undefined;
  const after = end + GENERATED_END.length;
  return `${markdown.slice(begin, after)}${markdown[after] === "\n" ? "\n" : ""}`;
}
