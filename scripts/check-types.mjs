#!/usr/bin/env node
// `npm run check:types` (CI): is worker-configuration.d.ts what `npm run cf-typegen` generates from
// wrangler.toml and .dev.vars.example today? (`wrangler types --check` compares only a hash of
// the config, so a hand edit or a stale file would pass it.) Regenerates in place, compares, and
// puts the committed file back, so the check itself never changes the tree.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const file = join(root, "worker-configuration.d.ts");
const committed = existsSync(file) ? readFileSync(file, "utf8") : "";
const run = spawnSync("npm", ["run", "-s", "cf-typegen"], { cwd: root, encoding: "utf8" });
if (run.status !== 0) {
  process.stderr.write(run.stdout + run.stderr);
  console.error("check:types: `npm run cf-typegen` failed");
  process.exit(1);
}
const generated = readFileSync(file, "utf8");
writeFileSync(file, committed);
if (generated !== committed) {
  console.error(
    "check:types: worker-configuration.d.ts is out of date with wrangler.toml (a binding or var was added, " +
      "removed or renamed).\nRegenerate it with `npm run cf-typegen` and commit the result.",
  );
  process.exit(1);
}
console.log("check:types: worker-configuration.d.ts matches wrangler.toml");
