#!/usr/bin/env node
// `npm run cost -- --mix <file>`: prices a traffic mix (docs/cost.md): requests per route and the
// share of each measured kind of request, times the operations each kind makes
// (scripts/cost/operations.json, the counts test/cost/operations.test.ts asserts) at Cloudflare's
// list prices (scripts/cost/prices.json, docs/platform.md §5). Prints the usage and dollars per
// billed line — at list price, and on the Workers Paid plan after its included usage — and
// dollars per million requests of each route.
// `npm run cost -- --table` prints docs/cost.md's two operation tables instead.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { mixProblems, priceMix, renderAnswerPathTable, renderOperationsTable } from "./cost/model.ts";

const here = (name) => fileURLToPath(new URL(`./cost/${name}`, import.meta.url));
const operations = JSON.parse(readFileSync(here("operations.json"), "utf8"));
const prices = JSON.parse(readFileSync(here("prices.json"), "utf8"));

const USAGE = "usage: npm run cost -- --mix <file.json>   (example: scripts/cost/example-mix.json)\n       npm run cost -- --table";
const args = process.argv.slice(2);

if (args[0] === "--table" && args.length === 1) {
  console.log(renderOperationsTable(operations));
  console.log("");
  console.log(renderAnswerPathTable(operations));
  process.exit(0);
}
if (args[0] !== "--mix" || args.length !== 2) {
  console.error(USAGE);
  process.exit(2);
}

let mix;
try {
  mix = JSON.parse(readFileSync(args[1], "utf8"));
} catch (error) {
  console.error(`cost: cannot read the mix ${args[1]}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
const problems = mixProblems(mix, operations);
if (problems.length > 0) {
  console.error(`cost: the mix ${args[1]} is not valid:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}

const cost = priceMix(mix, operations, prices);
const count = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0));
const dollars = (n) => `$${n.toFixed(2)}`;
const LABELS = {
  workerRequests: "Worker requests",
  workerCpuMs: "Worker CPU ms",
  kvReads: "KV reads",
  kvWrites: "KV writes",
  kvDeletes: "KV deletes",
  kvLists: "KV lists",
  durableObjectRequests: "Durable Object requests",
  durableObjectGbSeconds: "Durable Object GB-s (estimated)",
  r2ClassA: "R2 class A",
  r2ClassB: "R2 class B",
};

console.log(`oseh-edge cost of a traffic mix (${args[1]}; list prices read ${prices.read}, scripts/cost/prices.json)`);
if (mix.description) console.log(`  ${mix.description}`);
const requests = Object.values(mix.routes).reduce((n, r) => n + r.requests, 0);
console.log(`  ${count(requests)} requests over ${Object.keys(mix.routes).length} routes`);
console.log(`  ${"line".padEnd(34)} ${"usage".padStart(11)} ${"list price".padStart(11)} ${"beyond included".padStart(16)}`);
for (const [key, line] of Object.entries(cost.lines)) {
  console.log(`  ${(LABELS[key] ?? key).padEnd(34)} ${count(line.usage).padStart(11)} ${dollars(line.listPrice).padStart(11)} ${dollars(line.beyondIncluded).padStart(16)}`);
}
console.log(`  ${"not billed: Cache API operations".padEnd(34)} ${count(cost.usage.cacheOperations).padStart(11)}`);
console.log(`  ${"not billed here: origin requests".padEnd(34)} ${count(cost.usage.originRequests).padStart(11)}   (the backend's own cost)`);
console.log(`  total at list price ${dollars(cost.listPriceTotal)}; on Workers Paid ${dollars(cost.paidPlanTotal)} (the $${prices.workers.basePerMonth} base + usage beyond the included amounts)`);
console.log("  per million requests of each route, at list price:");
for (const [route, perMillion] of Object.entries(cost.perMillionByRoute)) console.log(`    ${route.padEnd(50)} ${dollars(perMillion)}`);
console.log(`COST_JSON ${JSON.stringify(cost)}`);
