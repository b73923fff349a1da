/**
 * `oseh-edge` against a real edge (its own, served by Miniflare over loopback, in front of the
 * shared dev origin): every command, its --json form, its errors and exit codes, a paged purge
 * with its progress bar, interrupted and resumed from the printed cursor, and the bin itself.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, sep } from "node:path";
import { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runCli } from "../../cli/main.ts";
import type { CliIo } from "../../cli/command.ts";
import { SignJWT } from "jose";
import { findExecutable } from "../../scripts/test-prepare.ts";
import { startEdge, TEST_SECRETS, type ServedWorker } from "../harness/workers";

const SECRET = inject("edgeAdminSecret");
const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let edge: ServedWorker;

beforeAll(async () => {
  edge = await startEdge({ originUrl: inject("originUrl") });
});
afterAll(async () => {
  await edge?.dispose();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sink(chunks: Buffer[]): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
}

async function cli(argv: string[], options: { env?: Record<string, string | undefined>; stdin?: string | Uint8Array; aborted?: boolean } = {}): Promise<Run> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const controller = new AbortController();
  if (options.aborted === true) controller.abort();
  const io: CliIo = {
    env: options.env ?? { EDGE_URL: edge.url, EDGE_ADMIN_JWT_SECRET: SECRET },
    stdout: sink(out),
    stderr: sink(err),
    stdin: options.stdin === undefined ? Readable.from([]) : Readable.from([Buffer.from(options.stdin)]),
    signal: controller.signal,
    now: () => Date.now() / 1000,
  };
  const code = await runCli(argv, io);
  return { code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

async function putMany(keys: string[]): Promise<void> {
  const pending = [...keys];
  const worker = async () => {
    for (let key = pending.pop(); key !== undefined; key = pending.pop()) {
      const run = await cli(["put", key, "-"], { stdin: "1" });
      expect(run.code, run.stderr).toBe(0);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

describe("oseh-edge", () => {
  it("families: a table, or all 63 as JSON", async () => {
    const human = await cli(["families"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^FAMILY\s+CODEC\s+EXPIRY\s+SENSITIVITY/);
    expect(human.stdout).toContain("transcripts:{uid}");
    const json = await cli(["families", "--json"]);
    expect(JSON.parse(json.stdout)).toHaveLength(63);
  });

  it("put (file and stdin, --expires-at), get, list --prefix, delete", async () => {
    const dir = mkdtempSync(join(tmpdir(), "oseh-edge-cli-"));
    const file = join(dir, "value");
    writeFileSync(file, "1");
    const a = `auth:is_admin:oseh_u_cli${unique()}`;
    const b = `auth:is_admin:oseh_u_cli${unique()}`;
    expect((await cli(["put", a, file])).stdout).toBe(`stored ${a} (1 bytes)\n`);
    const expiresAt = String(Math.floor(Date.now() / 1000) + 120);
    expect((await cli(["put", b, "--expires-at", expiresAt], { stdin: "0" })).code).toBe(0);

    const raw = await cli(["get", a]);
    expect(raw).toMatchObject({ code: 0, stdout: "1" });
    const meta = JSON.parse((await cli(["get", b, "--json"])).stdout);
    expect(meta).toMatchObject({ key: b, family: "auth:is_admin:{sub}", value: "0", size: 1 });
    expect(meta.expiresAt).toBeLessThanOrEqual(Number(expiresAt));
    const out = join(dir, "out");
    expect((await cli(["get", a, "--out", out])).code).toBe(0);
    expect(readFileSync(out, "utf8")).toBe("1");

    const prefix = a.slice(0, "auth:is_admin:oseh_u_cli".length + 3);
    const listed = JSON.parse((await cli(["list", "--prefix", prefix, "--json"])).stdout) as { keys: { name: string }[] };
    expect(listed.keys.map((k) => k.name)).toContain(a);
    expect((await cli(["list", "--prefix", a])).stdout).toMatch(new RegExp(`^${a.replace(/[{}]/g, "\\$&")}\\t\\d+\\n$`));

    expect((await cli(["delete", a])).stdout).toBe(`deleted ${a}\n`);
    const gone = await cli(["get", a]);
    expect(gone.code).toBe(5);
    expect(gone.stderr).toMatch(/edge answered 404: not_found/);
  });

  it("clear errors and exit codes", async () => {
    const bad = await cli(["put", `auth:is_admin:oseh_u_cli${unique()}`, "-"], { stdin: "2" });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/edge answered 422: invalid_value/);
    expect((await cli(["get", "no-such-family:x"])).stderr).toMatch(/edge answered 400: (unknown_family|bad_key)/);

    const noUrl = await cli(["families"], { env: { EDGE_ADMIN_JWT_SECRET: SECRET } });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/set EDGE_URL/);
    const noSecret = await cli(["families"], { env: { EDGE_URL: edge.url } });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/set EDGE_ADMIN_JWT_SECRET or pass --token/);
    const wrongSecret = await cli(["families"], { env: { EDGE_URL: edge.url, EDGE_ADMIN_JWT_SECRET: "not-the-secret" } });
    expect(wrongSecret.code).toBe(4);
    expect(wrongSecret.stderr).toMatch(/edge answered 403/);
    const unreachable = await cli(["families", "--url", "http://127.0.0.1:9"]);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/cannot reach the edge at http:\/\/127\.0\.0\.1:9/);

    const unknown = await cli(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    const badOption = await cli(["list", "--nope"]);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/usage: oseh-edge list/);
    expect((await cli(["purge", "--family", "x", "--prefix", "y"])).stderr).toMatch(/exactly one of --keys, --family, --prefix/);
    for (const run of [bad, noUrl, wrongSecret, unreachable, unknown]) expect(run.stderr).not.toMatch(/\n\s+at /); // no stack traces
  });

  it("refuses plain http to a host that is not loopback, unless told the token crosses the network in clear", async () => {
    // 0.0.0.0 reaches this machine's edge, but it is not a loopback address: it stands for a remote host.
    const remote = `http://0.0.0.0:${new URL(edge.url).port}`;
    const flag = await cli(["families", "--url", remote]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toBe(
      `oseh-edge families: --url ${remote} is plain HTTP to a host that is not loopback: the admin token would cross the network in clear; use https, or pass --insecure-http-sends-tokens-in-clear (or set INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR=1) to send it anyway\n`,
    );
    const env = await cli(["families"], { env: { EDGE_URL: remote, EDGE_ADMIN_JWT_SECRET: SECRET } });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/^oseh-edge families: EDGE_URL http:\/\/0\.0\.0\.0:\d+ is plain HTTP to a host that is not loopback: .*INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR=1/);
    const typo = await cli(["families"], { env: { EDGE_URL: remote, EDGE_ADMIN_JWT_SECRET: SECRET, INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR: "yes" } });
    expect(typo).toMatchObject({ code: 2, stderr: "oseh-edge families: INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR must be 1 or unset\n" });

    // The override, by flag or environment: the call goes out and is answered.
    const overridden = await cli(["families", "--json", "--url", remote, "--insecure-http-sends-tokens-in-clear"]);
    expect(overridden.code, overridden.stderr).toBe(0);
    expect(JSON.parse(overridden.stdout)).toHaveLength(63);
    const overriddenByEnv = await cli(["families", "--json"], { env: { EDGE_URL: remote, EDGE_ADMIN_JWT_SECRET: SECRET, INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR: "1" } });
    expect(overriddenByEnv.code, overriddenByEnv.stderr).toBe(0);

    // Loopback needs no override (127.0.0.1 is every other test here).
    const local = await cli(["families", "--json", "--url", `http://localhost:${new URL(edge.url).port}`]);
    expect(local.code, local.stderr).toBe(0);
  });

  it("a PUT with an admin's id token: 403 forbidden, and the message says a service token is needed", async () => {
    const now = Math.floor(Date.now() / 1000);
    const admin = await new SignJWT({ sub: "oseh_u_devAdmin0000000000001", iss: "oseh", aud: "oseh-id", iat: now - 1, exp: now + 600, jti: "cli-admin" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(new TextEncoder().encode(TEST_SECRETS.OSEH_ID_TOKEN_SECRET));
    const key = `auth:is_admin:oseh_u_cli${unique()}`;
    const put = await cli(["put", key, "-", "--token", admin], { stdin: "1" });
    expect(put.code).toBe(4);
    expect(put.stderr).toBe(
      "oseh-edge put: edge answered 403: forbidden: PUT /keys/{key} needs a service token; an admin's id token may read and remove only " +
        "(this needs a service token: drop --token to mint one from EDGE_ADMIN_JWT_SECRET, or pass one from `oseh-edge token admin`)\n",
    );
    expect((await cli(["get", key])).code).toBe(5); // nothing stored
    // The same token still reads and removes.
    expect((await cli(["families", "--json", "--token", admin])).code).toBe(0);
    expect((await cli(["delete", key, "--token", admin])).code).toBe(0);
  });

  it("token admin: a token the edge accepts (for --token and the status page)", async () => {
    const minted = await cli(["token", "admin", "--sub", "ops"], { env: { EDGE_ADMIN_JWT_SECRET: SECRET } });
    expect(minted.code).toBe(0);
    const token = minted.stdout.trim();
    expect(token.split(".")).toHaveLength(3);
    expect(JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString())).toMatchObject({ sub: "ops", iss: "oseh", aud: "oseh-edge-admin" });
    const withToken = await cli(["families", "--json", "--token", token], { env: { EDGE_URL: edge.url } });
    expect(withToken.code).toBe(0);
    expect((await cli(["token", "admin"], { env: {} })).code).toBe(2);
  });

  it("purge --keys, --family and --prefix; an interrupted paged purge resumes from its cursor", async () => {
    const prefix = `auth:is_admin:oseh_u_cliPurge${unique()}`;
    // More than one page (the edge purges 400 keys per call).
    const keys = Array.from({ length: 450 }, (_, i) => `${prefix}${i}`);
    await putMany(keys);

    const byKeys = await cli(["purge", "--keys", `${keys[0]},${keys[1]}`, "--json"]);
    expect(JSON.parse(byKeys.stdout)).toMatchObject({ purged: 2, cursor: null });

    // Ctrl-C during the first page: it finishes, then the purge stops and prints its cursor.
    const first = await cli(["purge", "--prefix", prefix], { aborted: true });
    expect(first.code).toBe(130);
    const resume = /resume with: oseh-edge purge --prefix '([^']+)' --cursor '([^']+)'/.exec(first.stderr);
    expect(resume, first.stderr).not.toBeNull();
    expect(first.stderr).toMatch(/interrupted after 400 keys/);

    const rest = await cli(["purge", "--prefix", resume![1]!, "--cursor", resume![2]!]);
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stdout).toMatch(/^purged 48 keys in 1 pages; no colo serves them after \d+ s\n$/);
    expect(rest.stderr).toMatch(/purge \|.*\| 48\/48 keys \| 1 pages/); // the progress bar with counts
    expect(JSON.parse((await cli(["list", "--prefix", prefix, "--json"])).stdout)).toEqual({ keys: [] });

    // This file's edge is its own, so a whole-family purge touches only this file's keys.
    await putMany([`${prefix}x`, `${prefix}y`]);
    const before = JSON.parse((await cli(["list", "--prefix", "auth:is_admin:", "--json"])).stdout) as { keys: unknown[] };
    const family = await cli(["purge", "--family", "auth:is_admin:{sub}", "--json"]);
    expect(family.code).toBe(0);
    expect(JSON.parse(family.stdout)).toMatchObject({ purged: before.keys.length, cursor: null, pages: 1 });
    expect(JSON.parse((await cli(["list", "--prefix", "auth:is_admin:", "--json"])).stdout)).toEqual({ keys: [] });
  });

  it("stats: which isolate, since when, and each family's hit ratio", async () => {
    const human = await cli(["stats"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^isolate [0-9a-f-]{36}, counting since \d{4}-\d\d-\d\dT/);
    const json = JSON.parse((await cli(["stats", "--json"])).stdout);
    expect(json).toMatchObject({ isolate: expect.stringMatching(/^[0-9a-f-]{36}$/), since: expect.any(Number), families: expect.any(Object) });
  });

  it("runs as a program: `node cli/main.ts` (the package's bin) with EDGE_URL from the environment", () => {
    const run = spawnSync(process.execPath, [MAIN, "families", "--json"], {
      env: { PATH: process.env.PATH, EDGE_URL: edge.url, EDGE_ADMIN_JWT_SECRET: SECRET },
      encoding: "utf8",
    });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toHaveLength(63);
    const help = spawnSync(process.execPath, [MAIN], { encoding: "utf8" });
    expect(help.status).toBe(2);
    expect(help.stdout).toContain("usage: oseh-edge <command>");
  });

  it("`npx oseh-edge` under the machine's own Node (older than the project's here) runs without engine warnings", () => {
    // The PATH without any node_modules/.bin: npm and its Node are the machine's, as in a new
    // shell. npx installs the project into a fresh cache (the first run's work) and checks its
    // `engines` against that Node; the CLI itself then runs on the project's Node 22.
    const machinePath = (process.env.PATH ?? "").split(delimiter).filter((dir) => !dir.split(sep).includes("node_modules")).join(delimiter);
    const npx = findExecutable("npx", machinePath);
    if (npx === undefined) throw new Error(`no npx on ${machinePath}`);
    const cache = mkdtempSync(join(tmpdir(), "npx-cache-"));
    try {
      const run = spawnSync(npx, ["oseh-edge", "--help"], {
        cwd: ROOT,
        env: { PATH: machinePath, HOME: process.env.HOME, npm_config_cache: cache, npm_config_update_notifier: "false" },
        encoding: "utf8",
      });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toContain("usage: oseh-edge <command>");
      expect(run.stderr).not.toMatch(/EBADENGINE|Unsupported engine/);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
