#!/usr/bin/env node
// `npm run deploy [-- <wrangler deploy options>]`: refuses the deploys that would put a broken
// edge in front of users, then runs `wrangler deploy` with the same options. Refused:
// - the placeholder KV id (all zeros) for CACHE in the environment being deployed;
// - an ORIGIN_URL the Worker itself would refuse outside the dev environment (src/config.ts:
//   loopback, plain http, the `.invalid` placeholder), counting any `--var ORIGIN_URL:…`;
// - the dev environment (`--env dev`), which is local only.
// docs/deploy.md walks through a first deploy.
import { spawnSync } from "node:child_process";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_readConfig } from "wrangler";
import { ConfigError, SECRET_NAMES, parseConfig } from "../src/config.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);

/**
 * Every value given to an option, as wrangler's parser reads them: `--name value`, `--name=value`,
 * and for an array option (`--var`) every word after the flag up to the next option
 * (`--var A:1 ORIGIN_URL:…` sets both).
 */
function optionValues(names, { array = false } = {}) {
  const values = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    for (const name of names) {
      if (arg.startsWith(`${name}=`)) values.push(arg.slice(name.length + 1));
      else if (arg === name) {
        for (let j = i + 1; j < args.length && !args[j].startsWith("-"); j++) {
          values.push(args[j]);
          if (!array) break;
        }
      }
    }
  }
  return values;
}

function refuse(message) {
  console.error(`deploy refused: ${message}\nSee docs/deploy.md.`);
  process.exit(1);
}

/** Every problem found, so one run names them all. */
const problems = [];

const envName = optionValues(["--env", "-e"]).at(-1);
const label = envName === undefined ? "production (top level)" : `[env.${envName}]`;
if (envName === "dev") refuse("the dev environment is local only (its origin is the dev origin on loopback)");

// The file wrangler will deploy: `--config`/`-c` when given, else the repo's.
const configPath = optionValues(["--config", "-c"]).at(-1) ?? join(root, "wrangler.toml");
const config = unstable_readConfig({ config: configPath, ...(envName ? { env: envName } : {}) }, {});

const cache = (config.kv_namespaces ?? []).find((ns) => ns.binding === "CACHE");
if (cache === undefined || !cache.id || /^0+$/.test(cache.id)) {
  problems.push(
    `${relative(root, configPath) || configPath} ${label} binds CACHE to the placeholder KV id ${JSON.stringify(cache?.id ?? "")}.\n` +
      "Create the namespace with `npx wrangler kv namespace create CACHE` and put its id in the CACHE binding.",
  );
}

const vars = { ...config.vars };
for (const pair of optionValues(["--var"], { array: true })) {
  const colon = pair.indexOf(":");
  if (colon > 0) vars[pair.slice(0, colon)] = pair.slice(colon + 1);
}
// The Worker's own check, with stand-ins for what only exists at run time (secrets, the binding).
const standIns = Object.fromEntries(SECRET_NAMES.map((name) => [name, "set-at-runtime"]));
try {
  parseConfig({ ...standIns, ...vars, CACHE: {} });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  problems.push(
    `${label}: ${error.problems.join("; ")}.\n` +
      "Set ORIGIN_URL to the backend's https base URL in wrangler.toml (or pass --var ORIGIN_URL:https://…).",
  );
}
if (problems.length > 0) refuse(problems.join("\n"));

const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
const run = spawnSync(process.execPath, [wrangler, "deploy", ...args], { cwd: root, stdio: "inherit" });
process.exit(run.status ?? 1);
