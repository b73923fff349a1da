#!/usr/bin/env node
/**
 * Rewrites the generated table in docs/families.md from the registry (src/keys/registry.ts).
 * Node cannot run the TypeScript directly, so esbuild bundles the registry in memory first.
 * test/keys/families-doc.test.ts fails when the file and the registry disagree.
 *
 *   npx node scripts/gen-families-doc.mjs          # rewrite
 *   npx node scripts/gen-families-doc.mjs --check  # exit 1 if stale
 */
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const docPath = `${root}docs/families.md`;

const bundle = await build({
  stdin: {
    contents: [
      'export { FAMILIES } from "./src/keys/registry.ts";',
      'export { renderFamiliesMarkdown, extractGeneratedSection, GENERATED_BEGIN, GENERATED_END } from "./scripts/families-doc.ts";',
    ].join("\n"),
    resolveDir: root,
    loader: "ts",
  },
  bundle: true,
  write: false,
  format: "esm",
  platform: "neutral",
  logLevel: "silent",
});
const source = bundle.outputFiles[0].text;
const keys = await import(`data:text/javascript;base64,${Buffer.from(source).toString("base64")}`);

const current = readFileSync(docPath, "utf8");
const section = keys.extractGeneratedSection(current);
if (section === undefined) {
  console.error(`${docPath}: missing the markers ${keys.GENERATED_BEGIN} … ${keys.GENERATED_END}`);
  process.exit(1);
}
const fresh = keys.renderFamiliesMarkdown(keys.FAMILIES);
if (section === fresh) {
  console.log(`${docPath}: up to date (${keys.FAMILIES.length} families)`);
  process.exit(0);
}
if (process.argv.includes("--check")) {
  console.error(`${docPath}: stale; run npx node scripts/gen-families-doc.mjs`);
  process.exit(1);
}
writeFileSync(docPath, current.replace(section, () => fresh));
console.log(`${docPath}: rewrote the table (${keys.FAMILIES.length} families)`);
