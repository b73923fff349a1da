/**
 * The conformance checker as CI runs it (`npx oseh-edge conformance`, a real process): against the dev
 * origin it must pass; against a deliberately broken origin it must fail and name each defect.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { decodeJwt, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CONFORMANCE_VALUES_TOKEN_SECONDS } from "../../conformance/token-lifetime.ts";
import { startHttpRecorder } from "../harness/http-recorder";
import { TEST_SECRETS } from "../harness/workers";
import { BROKEN_DELEGATED_KEY, startBrokenOrigin, type BrokenOrigin } from "./broken-origin";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The bin itself (`npx oseh-edge`), run by the same Node as the tests. */
const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const SECRET = TEST_SECRETS.EDGE_ORIGIN_JWT_SECRET;
const USER = "oseh_u_devUser00000000000001";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function conformance(args: readonly string[], env: Record<string, string> = { EDGE_ORIGIN_JWT_SECRET: SECRET }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, "conformance", ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function idToken(sub: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub, iss: "oseh", aud: "oseh-id", iat: now - 1, exp: now + 3600, jti: `conformance-${sub}` })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(TEST_SECRETS.OSEH_ID_TOKEN_SECRET));
}

/** The FAIL lines' check names. */
function failures(stdout: string): string[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("FAIL "))
    .map((line) => line.slice("FAIL ".length).split(" — ", 1)[0] ?? "");
}

let broken: BrokenOrigin;
beforeAll(async () => {
  broken = await startBrokenOrigin(SECRET);
});
afterAll(async () => {
  await broken.close();
});

describe("against the dev origin", () => {
  it("passes: every family kind, absent and not-served keys, each start route delegates only to its bound token", async () => {
    const auth = `authorization: bearer ${await idToken(USER)}`;
    const run = await conformance([
      "--origin", inject("originUrl"),
      "--key", "journeys:external:oseh_j_devFull0000000000000001",
      "--key", "interactive_prompts:external:oseh_ip_devWord00000000000001",
      "--key", "image_files:playlist:oseh_if_conformance1",
      "--key", "transcripts:oseh_t_devTranscript00000000001",
      "--key", "auth:is_admin:oseh_u_conformance",
      "--key", "s3_files:oseh_s3f_conformance",
      "--key", "updater-lock-key",
      "--delegate", "POST /api/1/users/me/start_ai_journey",
      "--delegate", 'POST /api/1/users/me/start_journey_from_history {"journey_uid":"oseh_j_devPlain000000000000001"}',
      "--header", auth,
    ]);
    expect(run.stderr).toBe("");
    expect(failures(run.stdout)).toEqual([]);
    expect(run.stdout).toMatch(/\n(\d+) checks: \1 passed, 0 failed\n$/);
    expect(run.stdout).toContain("ok   value s3_files:oseh_s3f_conformance — 200, 41234 bytes, bytes");
    expect(run.stdout).toContain("ok   value updater-lock-key — not served (501)");
    expect(run.stdout).toContain("ok   delegate POST /api/1/users/me/start_ai_journey: the document validates and renders");
    expect(run.code).toBe(0);
  });

  it("points at all ten start routes of docs/integrate.md phase 3: each delegates only to its bound token, and renders", async () => {
    const now = Math.floor(Date.now() / 1000);
    const journeyJwt = await new SignJWT({ sub: "oseh_j_devPlain000000000000001", iss: "oseh", aud: "oseh-journey", iat: now - 1, exp: now + 1800 })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(new TextEncoder().encode(TEST_SECRETS.OSEH_JOURNEY_JWT_SECRET));
    const routes = [
      "POST /api/1/users/me/start_ai_journey",
      "POST /api/1/users/me/start_introductory_journey",
      'POST /api/1/users/me/start_journey_from_history {"journey_uid":"oseh_j_devPlain000000000000001"}',
      'POST /api/1/journeys/public_links/start {"code":"devcode1","source":"browser"}',
      `POST /api/1/journeys/start_interactive_prompt {"journey_uid":"oseh_j_devPlain000000000000001","journey_jwt":"${journeyJwt}"}`,
      'POST /api/1/interactive_prompts/start_public {"identifier":"notification-time"}',
      'POST /api/1/courses/start_journey {"journey_uid":"oseh_j_devFull0000000000000001","course_uid":"oseh_c_devCourse0000000000001"}',
      'POST /api/1/courses/start_next {"course_uid":"oseh_c_devCourse0000000000001"}',
      'POST /api/1/journeys/follow_share_link {"code":"devshare1"}',
      'POST /api/1/emotions/start_related_journey {"emotion":"calm","replaced_emotion_user_uid":null}',
    ];
    const run = await conformance(["--origin", inject("originUrl"), ...routes.flatMap((route) => ["--delegate", route]), "--header", `authorization: bearer ${await idToken(USER)}`]);
    expect(run.stderr).toBe("");
    expect(failures(run.stdout)).toEqual([]);
    for (const route of routes) {
      const label = route.split(" ").slice(0, 2).join(" ");
      expect(run.stdout).toContain(`ok   delegate ${label}: the document validates and renders`);
    }
    expect(run.code).toBe(0);
  });

  it("--json: one document with every check", async () => {
    const run = await conformance(["--origin", inject("originUrl"), "--json"]);
    const report = JSON.parse(run.stdout) as { passed: number; failed: number; checks: { name: string; ok: boolean }[] };
    expect(report.failed).toBe(0);
    expect(report.checks.map((c) => c.name)).toEqual([
      "values: refuses a request without a token",
      "values: refuses an expired values token",
      "values: refuses a proxy-audience token (even one bound to this path)",
      "values: refuses a token signed with another secret",
      "values: accepts a valid values token",
    ]);
    expect(run.code).toBe(0);
  });
});

describe("against the broken origin fixture", () => {
  it("fails, naming each defect, and passes what the fixture does right", async () => {
    const run = await conformance([
      "--origin", broken.url,
      "--key", "image_files:playlist:oseh_if_conformance1",
      "--key", "journeys:external:oseh_j_conformance1",
      "--key", BROKEN_DELEGATED_KEY,
      "--delegate", "POST /api/1/users/me/start_ai_journey",
    ]);
    expect(run.code).toBe(1);
    const route = "delegate POST /api/1/users/me/start_ai_journey";
    expect(failures(run.stdout)).toEqual([
      "values: refuses a proxy-audience token (even one bound to this path)",
      "value image_files:playlist:oseh_if_conformance1",
      "value journeys:external:oseh_j_conformance1",
      `${route}: not without a token`,
      `${route}: not with a values token`,
      `${route}: not with a proxy token for another path`,
      `${route}: not with a proxy token for another method`,
      `${route}: not with an expired proxy token`,
    ]);
    expect(run.stdout).toMatch(/FAIL value image_files:playlist:oseh_if_conformance1 — \d+ bytes fail the gzip-json codec/);
    expect(run.stdout).toMatch(/FAIL value journeys:external:oseh_j_conformance1 — the template does not render: bad_marker/);
    expect(run.stdout).toContain("FAIL values: refuses a proxy-audience token (even one bound to this path) — answered 200");
    expect(run.stdout).toContain(`FAIL ${route}: not without a token — delegated`);
    // What the fixture does right is not reported as wrong.
    expect(run.stdout).toContain("ok   values: refuses a request without a token — 401");
    expect(run.stdout).toContain(`ok   ${route}: the document validates and renders`);
    expect(run.stdout).toMatch(/\n15 checks: 7 passed, 8 failed\n$/);
  });
});

describe("usage", () => {
  it.each([
    [["--origin", "ftp://x"], {}, /--origin must be an absolute http\(s\) URL/],
    [["--key", "x"], {}, /--origin must be an absolute http\(s\) URL, got ""/],
    [["--origin", "http://127.0.0.1:1", "--delegate", "start_ai_journey"], {}, /--delegate "start_ai_journey": expected "METHOD \/path \[BODY\]"/],
    [["--origin", "http://127.0.0.1:1", "--header", "no colon"], {}, /--header "no colon": expected "Name: value"/],
    [["--origin", "http://127.0.0.1:1", "--nope"], {}, /Unknown option '--nope'/],
    [["--origin", "http://127.0.0.1:1"], { EDGE_ORIGIN_JWT_SECRET: "" }, /EDGE_ORIGIN_JWT_SECRET is not set/],
  ] as const)("%j exits 2 with a clear message", async (args, env, message) => {
    const run = await conformance(args, { EDGE_ORIGIN_JWT_SECRET: SECRET, ...env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain("usage: oseh-edge conformance --origin URL");
    expect(run.stdout).toBe("");
  });

  it("refuses plain http to a host that is not loopback unless told the values tokens cross in clear", async () => {
    // 0.0.0.0 reaches this machine's dev origin, but it is not a loopback address: it stands for a remote host.
    const remote = `http://0.0.0.0:${new URL(inject("originUrl")).port}`;
    const refused = await conformance(["--origin", remote]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.split("\n")[0]).toBe(
      `oseh-edge conformance: --origin ${remote} is plain HTTP to a host that is not loopback: values tokens (each reads any family's value, secret families included) would cross the network in clear; use https, or pass --insecure-http-sends-tokens-in-clear (or set INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR=1) to send it anyway`,
    );
    expect(refused.stdout).toBe("");
    const overridden = await conformance(["--origin", remote, "--insecure-http-sends-tokens-in-clear"]);
    expect(overridden.stderr).toBe("");
    expect(overridden.stdout).toMatch(/\n5 checks: 5 passed, 0 failed\n$/);
    expect(overridden.code).toBe(0);
  });

  it("--help says what its values token can read, and how long each lives", async () => {
    const run = await conformance(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Such a token reads EVERY family's value from the origin, secret\nfamilies included");
    expect(run.stdout).toContain(`request, living ${CONFORMANCE_VALUES_TOKEN_SECONDS} s.`);
  });

  it("an unreachable origin is a failed check per request, not a crash", async () => {
    const run = await conformance(["--origin", "http://127.0.0.1:1"]);
    expect(run.code).toBe(1);
    expect(failures(run.stdout)).toHaveLength(5);
    expect(run.stdout).toContain("FAIL values: refuses a request without a token — request failed:");
    expect(run.stderr).toBe("");
  });
});

describe("the values tokens it sends", () => {
  it(`each minted for its request, living ${CONFORMANCE_VALUES_TOKEN_SECONDS} s (not the edge's 300 s)`, async () => {
    // The checker as CI runs it, through a recorder that notes every token it sends.
    const recorder = await startHttpRecorder(inject("originUrl"));
    const started = Math.floor(Date.now() / 1000);
    let run: Run;
    let ended: number;
    try {
      run = await conformance(["--origin", recorder.url, "--key", "auth:is_admin:oseh_u_conformance", "--key", "transcripts:oseh_t_devTranscript00000000001"]);
      ended = Math.ceil(Date.now() / 1000);
    } finally {
      await recorder.close();
    }
    expect(run.code, run.stdout).toBe(0);
    const values = recorder.requests
      .map((request) => request.headers["x-oseh-edge"])
      .filter((token): token is string => typeof token === "string")
      .map((token) => decodeJwt(token))
      .filter((claims) => claims.aud === "oseh-edge-values");
    // All but the deliberately expired one (the token checks): the valid one, the one signed with
    // another secret, one per key.
    const live = values.filter((claims) => Number(claims.exp) > started);
    expect(live).toHaveLength(4);
    for (const claims of live) {
      expect(Number(claims.exp) - Number(claims.iat)).toBe(CONFORMANCE_VALUES_TOKEN_SECONDS);
      // Minted during the run (iat is back-dated a second), so each lives only its request's moment.
      expect(Number(claims.iat)).toBeGreaterThanOrEqual(started - 1);
      expect(Number(claims.iat)).toBeLessThanOrEqual(ended);
    }
  });
});
