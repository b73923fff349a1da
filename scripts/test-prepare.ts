/**
 * What `npm test` needs from the machine besides Node and npm, checked (and where possible
 * installed) before any test runs (scripts/test.mjs; `node scripts/test.mjs --prepare-only` runs
 * only this step):
 * - `redis-server`: test-node/global-setup.ts starts a real one (test-node/harness/redis.ts);
 * - `chromium`: the browser tests drive Debian's (test-node/harness/browser.ts);
 * - `ffmpeg`: the player tests make their rendition with it (test-node/player/rendition.ts).
 *
 * Where one is missing and the machine can install Debian packages (root, `apt-get` on the
 * PATH), they are installed (`apt-get update` once, then one `apt-get install`), one line said
 * per package. Where it cannot, the run stops with one message naming the exact command.
 * Pure apart from the filesystem look-ups and the `apt-get` it runs, and everything it reads
 * (PATH, root or not) comes in as options, so test-node/ops/test-prepare.test.ts drives it with a
 * PATH of stand-ins.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

export interface TestTool {
  /** The command the tests run. */
  command: string;
  /** An environment variable naming another executable, as the test harness honours it. */
  override: string;
  /** The Debian package that provides `command`. */
  debianPackage: string;
  /** Who needs it, for the line said when it is installed. */
  usedBy: string;
}

export const TEST_TOOLS: readonly TestTool[] = [
  { command: "redis-server", override: "REDIS_SERVER_BIN", debianPackage: "redis-server", usedBy: "the node tests start a real one" },
  { command: "chromium", override: "CHROMIUM_PATH", debianPackage: "chromium", usedBy: "the status page and player tests drive it headless" },
  { command: "ffmpeg", override: "FFMPEG_BIN", debianPackage: "ffmpeg", usedBy: "the player tests make their rendition with it" },
];

export interface PrepareOptions {
  /** The environment the tests will run with: its PATH and the tools' overrides are read. */
  env: Readonly<Record<string, string | undefined>>;
  /** Whether this process may install packages (`process.getuid() === 0`). */
  isRoot: boolean;
  /** One line to the user. */
  say: (line: string) => void;
  tools?: readonly TestTool[];
}

export type PrepareResult = { ok: true; installed: string[] } | { ok: false; message: string };

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The executable `command` names: itself when it is a path, else the first match on `path`. */
export function findExecutable(command: string, path: string | undefined): string | undefined {
  if (command.includes("/")) return isExecutableFile(command) ? command : undefined;
  for (const dir of (path ?? "").split(delimiter)) {
    if (dir === "" || !isAbsolute(dir)) continue;
    const candidate = join(dir, command);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** What a tool resolves to: its override when set (never installed over), else its command. */
function resolveTool(tool: TestTool, env: PrepareOptions["env"]): { found: boolean; overridden: boolean; name: string } {
  const override = env[tool.override];
  if (override !== undefined && override !== "") return { found: findExecutable(override, env["PATH"]) !== undefined, overridden: true, name: override };
  return { found: findExecutable(tool.command, env["PATH"]) !== undefined, overridden: false, name: tool.command };
}

function installCommand(packages: readonly string[], sudo: boolean): string {
  const s = sudo ? "sudo " : "";
  return `${s}apt-get update && ${s}apt-get install -y --no-install-recommends ${packages.join(" ")}`;
}

/** `a is`, `a and b are`, `a, b and c are`. */
function listedAre(names: readonly string[]): string {
  return names.length <= 1 ? `${names.join("")} is` : `${names.slice(0, -1).join(", ")} and ${names.at(-1)} are`;
}

/** spawnSync kills a child whose output outgrows its buffer (ENOBUFS): never an install half-way. */
const APT_STDERR_MAX_BYTES = 64 * 1024 * 1024;

/** The last non-empty line apt-get printed, to say why it failed. */
function lastLine(output: string): string {
  return output.split("\n").map((line) => line.trim()).filter((line) => line !== "").at(-1) ?? "no output";
}

export function prepareTestTools(options: PrepareOptions): PrepareResult {
  const tools = options.tools ?? TEST_TOOLS;
  const missing: TestTool[] = [];
  const badOverrides: string[] = [];
  for (const tool of tools) {
    const resolved = resolveTool(tool, options.env);
    if (resolved.found) continue;
    if (resolved.overridden) badOverrides.push(`${tool.override}=${resolved.name} is not an executable file`);
    else missing.push(tool);
  }
  if (badOverrides.length > 0) {
    // Installing the Debian package would not change what the variable names.
    return { ok: false, message: `npm test: ${badOverrides.join("; ")}. Fix or unset it, then run npm test again.` };
  }
  if (missing.length === 0) return { ok: true, installed: [] };

  const names = missing.map((tool) => tool.command);
  const packages = missing.map((tool) => tool.debianPackage);
  const them = names.length === 1 ? "it" : "them";
  const aptGet = findExecutable("apt-get", options.env["PATH"]);
  if (aptGet === undefined) {
    return {
      ok: false,
      message:
        `npm test: ${listedAre(names)} not installed, and this machine has no apt-get to install ${them}. ` +
        `Install ${them}, then run npm test again; on Debian or Ubuntu: ${installCommand(packages, true)}`,
    };
  }
  if (!options.isRoot) {
    return {
      ok: false,
      message: `npm test: ${listedAre(names)} not installed, and installing needs root. Run this, then npm test again: ${installCommand(packages, true)}`,
    };
  }

  for (const tool of missing) options.say(`npm test: installing the Debian package ${tool.debianPackage} (${tool.command} is not on the PATH; ${tool.usedBy})`);
  // Non-interactive: a package's configuration questions would otherwise wait on a terminal.
  const env = { ...options.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["install", "-y", "--no-install-recommends", ...packages]]) {
    // Its progress is not shown (the line above says what happens); its errors (stderr) are kept.
    const run = spawnSync(aptGet, args, { env, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"], maxBuffer: APT_STDERR_MAX_BYTES });
    if (run.error !== undefined || run.status !== 0) {
      const why = run.error?.message ?? lastLine(run.stderr);
      return { ok: false, message: `npm test: apt-get ${args[0]} failed (${why}). Run this, then npm test again: ${installCommand(packages, false)}` };
    }
  }
  const still = missing.filter((tool) => !resolveTool(tool, options.env).found).map((tool) => tool.command);
  if (still.length > 0) {
    return { ok: false, message: `npm test: apt-get installed ${packages.join(" ")}, but ${listedAre(still)} still not on the PATH (${options.env["PATH"] ?? ""}).` };
  }
  return { ok: true, installed: packages };
}
