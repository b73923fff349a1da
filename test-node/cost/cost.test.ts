/**
 * `npm run cost` (scripts/cost.mjs) as a program, and the pure pricing it runs
 * (scripts/cost/model.ts): a mix's usage and dollars follow from the measured operations and the
 * list prices by hand arithmetic; every bad mix is refused with its problems, exit 1, nothing on
 * stdout.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { mixProblems, priceMix, type Mix, type OperationsFile, type Prices } from "../../scripts/cost/model.ts";

const SCRIPT = fileURLToPath(new URL("../../scripts/cost.mjs", import.meta.url));
const EXAMPLE = fileURLToPath(new URL("../../scripts/cost/example-mix.json", import.meta.url));
const read = <T>(name: string): T => JSON.parse(readFileSync(fileURLToPath(new URL(`../../scripts/cost/${name}`, import.meta.url)), "utf8")) as T;
const operations = read<OperationsFile>("operations.json");
const prices = read<Prices>("prices.json");

const dir = mkdtempSync(join(tmpdir(), "oseh-edge-cost-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: "utf8" });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

function mixFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

const passthroughOnly = (requests: number): Mix => ({
  routes: { passthrough: { requests, kinds: { passthrough: 1 } } },
  cpuMsPerRequest: { default: 2 },
  shieldActiveMsPerRequest: 50,
});

describe("pricing (pure)", () => {
  it("a million passthroughs: one Worker request, 2 CPU ms and one origin request each, nothing stored", () => {
    const cost = priceMix(passthroughOnly(1e6), operations, prices);
    expect(cost.usage).toMatchObject({ workerRequests: 1e6, workerCpuMs: 2e6, originRequests: 1e6, kvReads: 0, kvWrites: 0, durableObjectRequests: 0, r2ClassB: 0 });
    // $0.30 per million requests + 2 M CPU ms at $0.02 per million.
    expect(cost.listPriceTotal).toBeCloseTo(0.3 + 0.04, 10);
    expect(cost.perMillionByRoute.passthrough).toBeCloseTo(0.34, 10);
    // All inside the included usage: the plan's base fee alone.
    expect(cost.paidPlanTotal).toBe(prices.workers.basePerMonth);
  });

  it("a miss: one shield request and its active time, two KV reads and one write, by the measured counts", () => {
    const mix: Mix = { routes: { t: { requests: 1e6, kinds: { missFill: 1 } } }, cpuMsPerRequest: { default: 0 }, shieldActiveMsPerRequest: 50 };
    const cost = priceMix(mix, operations, prices);
    expect(cost.usage).toMatchObject({ durableObjectRequests: 1e6, kvReads: 2e6, kvWrites: 1e6, durableObjectGbSeconds: 1e6 * 0.05 * 0.128 });
    const expected = 0.3 + 0.15 + 2 * 0.5 + 5 + (1e6 * 0.05 * 0.128 * 12.5) / 1e6;
    expect(cost.listPriceTotal).toBeCloseTo(expected, 10);
  });

  it("shares split a route's requests between kinds", () => {
    const mix: Mix = { routes: { t: { requests: 1e6, kinds: { l0Hit: 0.75, l2Hit: 0.25 } } }, cpuMsPerRequest: { default: 1, l2Hit: 3 }, shieldActiveMsPerRequest: 0 };
    const cost = priceMix(mix, operations, prices);
    // An L2 hit reads KV twice: the value, and the back-fill's check after it (docs/cost.md).
    expect(cost.usage).toMatchObject({ workerRequests: 1e6, kvReads: 0.25e6 * 2, workerCpuMs: 0.75e6 + 0.75e6, cacheOperations: 0.5e6 });
  });
});

describe("npm run cost", () => {
  it("prices the example mix and prints its lines and the per-route figures", () => {
    const out = run("--mix", EXAMPLE);
    expect(out.code).toBe(0);
    expect(out.stderr).toBe("");
    expect(out.stdout).toContain("total at list price $");
    const json = JSON.parse(out.stdout.split("\n").find((l) => l.startsWith("COST_JSON "))?.slice("COST_JSON ".length) ?? "null") as ReturnType<typeof priceMix>;
    const mix = JSON.parse(readFileSync(EXAMPLE, "utf8")) as Mix;
    expect(mixProblems(mix, operations)).toEqual([]);
    expect(json.listPriceTotal).toBeCloseTo(priceMix(mix, operations, prices).listPriceTotal, 10);
  });

  it("--table prints the two tables docs/cost.md holds", () => {
    const out = run("--table");
    expect(out.code).toBe(0);
    const doc = readFileSync(fileURLToPath(new URL("../../docs/cost.md", import.meta.url)), "utf8");
    for (const table of out.stdout.trim().split("\n\n")) expect(doc).toContain(table);
  });

  it.each([
    ["no arguments", []],
    ["--mix without a file", ["--mix"]],
    ["an unknown option", ["--price", EXAMPLE]],
  ])("%s: the usage, exit 2", (_name, args) => {
    const out = run(...args);
    expect([out.code, out.stdout]).toEqual([2, ""]);
    expect(out.stderr).toContain("usage: npm run cost -- --mix <file.json>");
  });

  it.each([
    ["a missing file", () => join(dir, "absent.json"), "cannot read the mix"],
    ["not JSON", () => mixFile("bad.json", "{routes:"), "cannot read the mix"],
    ["no routes", () => mixFile("none.json", { cpuMsPerRequest: { default: 1 }, shieldActiveMsPerRequest: 1 }), "the mix needs a `routes` object"],
    ["an unknown kind", () => mixFile("kind.json", { ...passthroughOnly(1), routes: { r: { requests: 1, kinds: { l9Hit: 1 } } } }), "r: unknown kind l9Hit"],
    ["shares not summing to 1", () => mixFile("sum.json", { ...passthroughOnly(1), routes: { r: { requests: 1, kinds: { l0Hit: 0.5, l1Hit: 0.4 } } } }), "r: shares sum to 0.9"],
    ["a negative share", () => mixFile("neg.json", { ...passthroughOnly(1), routes: { r: { requests: 1, kinds: { l0Hit: 1.5, l1Hit: -0.5 } } } }), "r: share of l1Hit must be a number ≥ 0"],
    ["negative requests", () => mixFile("req.json", { ...passthroughOnly(1), routes: { r: { requests: -5, kinds: { l0Hit: 1 } } } }), "r: requests must be a number ≥ 0"],
    ["a route without kinds", () => mixFile("empty.json", { ...passthroughOnly(1), routes: { r: { requests: 5, kinds: {} } } }), "r: no kinds"],
    ["no CPU figure", () => mixFile("cpu.json", { ...passthroughOnly(1), cpuMsPerRequest: {} }), "cpuMsPerRequest.default must be a number ≥ 0"],
    ["no shield figure", () => mixFile("shield.json", { routes: passthroughOnly(1).routes, cpuMsPerRequest: { default: 1 } }), "shieldActiveMsPerRequest must be a number ≥ 0"],
  ])("%s: refused with its problem, exit 1, nothing priced", (_name, path, problem) => {
    const out = run("--mix", path());
    expect([out.code, out.stdout]).toEqual([1, ""]);
    expect(out.stderr).toContain(problem);
  });
});
