/**
 * `npm test` prepares what the tests need from the machine before any test runs
 * (scripts/test-prepare.ts): it installs missing Debian packages where it can (root, `apt-get`),
 * and stops with one message naming the command where it cannot. Checked on a PATH of stand-ins
 * (a temp dir holding only the commands a case needs), with a stand-in `apt-get` that records its
 * arguments and makes the packages' commands appear — never by removing packages from the machine.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { TEST_TOOLS, prepareTestTools } from "../../scripts/test-prepare.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TEST_SCRIPT = join(ROOT, "scripts/test.mjs");
const COMMANDS = TEST_TOOLS.map((tool) => tool.command);

interface MaskedPath {
  dir: string;
  /** What the stand-in `apt-get` was called with, in order. */
  aptCalls(): Array<{ args: string[]; debianFrontend: string | null }>;
  /** Whether the stand-in `npx` (through which scripts/test.mjs starts vitest) ran. */
  npxRan(): boolean;
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A Node script made executable (run by this very Node, whatever the PATH holds). */
function writeScript(path: string, body: string): void {
  writeFileSync(path, `#!${process.execPath}\n${body}\n`);
  chmodSync(path, 0o755);
}

/**
 * A directory to use as the whole PATH: stand-ins for `present`, and with `apt` a stand-in
 * `apt-get` (`"fails"`: its install exits 100 as apt does when a package cannot be found).
 */
function maskedPath(present: readonly string[], apt: "none" | "works" | "fails"): MaskedPath {
  const dir = mkdtempSync(join(tmpdir(), "test-prepare-"));
  dirs.push(dir);
  const aptLog = join(dir, "..", `${dir.split("/").at(-1)}-apt.jsonl`);
  const npxLog = `${aptLog}.npx`;
  dirs.push(aptLog, npxLog);
  for (const command of present) writeScript(join(dir, command), "process.exit(0);");
  writeScript(join(dir, "npx"), `require("node:fs").writeFileSync(${JSON.stringify(npxLog)}, "ran"); process.exit(0);`);
  if (apt !== "none") {
    writeScript(
      join(dir, "apt-get"),
      `const fs = require("node:fs");
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(aptLog)}, JSON.stringify({ args, debianFrontend: process.env.DEBIAN_FRONTEND ?? null }) + "\\n");
if (args[0] === "install") {
  ${apt === "fails" ? 'console.error("E: Unable to locate package chromium"); process.exit(100);' : ""}
  for (const pkg of args.filter((a) => !a.startsWith("-")).slice(1)) {
    fs.writeFileSync(${JSON.stringify(dir)} + "/" + pkg, "#!/bin/sh\\n");
    fs.chmodSync(${JSON.stringify(dir)} + "/" + pkg, 0o755);
  }
}`,
    );
  }
  return {
    dir,
    aptCalls: () => (existsSync(aptLog) ? readFileSync(aptLog, "utf8").trim().split("\n").map((line) => JSON.parse(line)) : []),
    npxRan: () => existsSync(npxLog),
  };
}

/** `node scripts/test.mjs …` with the masked PATH as its only environment. */
function runTestScript(path: MaskedPath, ...args: string[]) {
  return spawnSync(process.execPath, [TEST_SCRIPT, ...args], { cwd: ROOT, env: { PATH: path.dir }, encoding: "utf8" });
}

function prepare(path: MaskedPath, isRoot: boolean, env: Record<string, string> = {}) {
  const said: string[] = [];
  const result = prepareTestTools({ env: { PATH: path.dir, ...env }, isRoot, say: (line) => said.push(line) });
  return { result, said };
}

describe("npm test prepares the machine", () => {
  it("all present: installs nothing and says nothing", () => {
    const path = maskedPath(COMMANDS, "works");
    const run = runTestScript(path, "--prepare-only");
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe("");
    expect(path.aptCalls()).toEqual([]);
  });

  it("missing and no apt-get: one message with the exact command, no test run, and the closing line claims no pass", () => {
    const path = maskedPath([], "none");
    const run = runTestScript(path);
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split("\n")).toEqual([
      `npm test: redis-server, chromium and ffmpeg are not installed, and this machine has no apt-get to install them. Install them, then run npm test again; on Debian or Ubuntu: sudo apt-get update && sudo apt-get install -y --no-install-recommends redis-server chromium ffmpeg`,
    ]);
    expect(run.stdout).toBe("0 passed, 1 failed\n");
    expect(path.npxRan()).toBe(false); // vitest never started
  });

  // The install needs root; as another user the same run gets the message of the next case.
  it.runIf(process.getuid?.() === 0)("missing and apt-get works (as root): updates once, installs them, one line each", () => {
    const path = maskedPath(["chromium"], "works");
    const run = runTestScript(path, "--prepare-only");
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe("");
    expect(run.stdout.trim().split("\n")).toEqual([
      "npm test: installing the Debian package redis-server (redis-server is not on the PATH; the node tests start a real one)",
      "npm test: installing the Debian package ffmpeg (ffmpeg is not on the PATH; the player tests make their rendition with it)",
    ]);
    expect(path.aptCalls()).toEqual([
      { args: ["update"], debianFrontend: "noninteractive" },
      { args: ["install", "-y", "--no-install-recommends", "redis-server", "ffmpeg"], debianFrontend: "noninteractive" },
    ]);
    // A second run finds them all: nothing more to do or say.
    const again = runTestScript(path, "--prepare-only");
    expect([again.status, again.stdout, path.aptCalls().length]).toEqual([0, "", 2]);
  });

  it("missing and apt-get works: installs every missing package", () => {
    const path = maskedPath([], "works");
    const { result, said } = prepare(path, true);
    expect(result).toEqual({ ok: true, installed: ["redis-server", "chromium", "ffmpeg"] });
    expect(said).toHaveLength(3);
    expect(said[1]).toBe("npm test: installing the Debian package chromium (chromium is not on the PATH; the status page and player tests drive it headless)");
    expect(path.aptCalls().map((call) => call.args)).toEqual([["update"], ["install", "-y", "--no-install-recommends", "redis-server", "chromium", "ffmpeg"]]);
  });

  it("missing and not root: one message with the sudo command; apt-get never runs", () => {
    const path = maskedPath(["redis-server", "ffmpeg"], "works");
    const { result, said } = prepare(path, false);
    expect(result).toEqual({
      ok: false,
      message: "npm test: chromium is not installed, and installing needs root. Run this, then npm test again: sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium",
    });
    expect(said).toEqual([]);
    expect(path.aptCalls()).toEqual([]);
  });

  it("apt-get fails: stops with why and the command to run", () => {
    const path = maskedPath(["redis-server", "ffmpeg"], "fails");
    const { result } = prepare(path, true);
    expect(result).toEqual({
      ok: false,
      message: "npm test: apt-get install failed (E: Unable to locate package chromium). Run this, then npm test again: apt-get update && apt-get install -y --no-install-recommends chromium",
    });
  });

  it("an override naming a missing file is reported, not installed over", () => {
    const path = maskedPath(COMMANDS, "works");
    const { result } = prepare(path, true, { CHROMIUM_PATH: join(path.dir, "no-such-chromium") });
    expect(result).toEqual({ ok: false, message: `npm test: CHROMIUM_PATH=${join(path.dir, "no-such-chromium")} is not an executable file. Fix or unset it, then run npm test again.` });
    expect(path.aptCalls()).toEqual([]);
  });
});
