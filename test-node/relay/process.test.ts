/**
 * `npm run relay` as an operator runs it: settings from the environment, a clear error naming
 * each missing or malformed one, `GET /healthz` while it runs, a clean exit on SIGTERM.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, inject, it } from "vitest";
import { parseRelayConfig } from "../../relay/config";
import { freePort, startRedis } from "../harness/redis";
import { startEdge } from "../harness/workers";
import { waitFor } from "./helpers";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSX = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));

/** The relay's own process with exactly these settings (plus PATH), output captured. */
function runRelay(env: Record<string, string>) {
  const child = spawn(TSX, ["relay/main.ts"], { cwd: ROOT, env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (chunk: Buffer) => (out.stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, out, exited };
}

describe("configuration", () => {
  it("names every missing setting and exits 2", async () => {
    const run = runRelay({});
    expect(await run.exited).toBe(2);
    expect(run.out.stderr).toContain("REDIS_URL is not set");
    expect(run.out.stderr).toContain("EDGE_URL is not set");
    expect(run.out.stderr).toContain("EDGE_ADMIN_JWT_SECRET is not set");
  });

  it("names every malformed setting, never a secret's value", () => {
    const result = parseRelayConfig({
      REDIS_URL: "http://127.0.0.1:6379",
      EDGE_URL: "not a url",
      EDGE_ADMIN_JWT_SECRET: " s3cret ",
      RELAY_HEALTH_PORT: "70000",
      RELAY_QUEUE_MAX: "0",
      RELAY_EDGE_TIMEOUT_MS: "soon",
    });
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    expect(errors).toEqual([
      "REDIS_URL must be a redis: or rediss: URL, not http:",
      "EDGE_URL is not a URL",
      "EDGE_ADMIN_JWT_SECRET has leading or trailing whitespace",
      "RELAY_HEALTH_PORT must be an integer from 0 to 65535",
      "RELAY_QUEUE_MAX must be an integer from 1 to 10000000",
      "RELAY_EDGE_TIMEOUT_MS must be an integer from 100 to 600000",
    ]);
    expect(errors.join("\n")).not.toContain("s3cret");
  });

  it("refuses an http EDGE_URL whose host is not loopback, naming the override; loopback or the override passes", async () => {
    const base = { REDIS_URL: "redis://127.0.0.1:6379/0", EDGE_ADMIN_JWT_SECRET: "x" };
    expect(parseRelayConfig({ ...base, EDGE_URL: "http://edge.example.com/" })).toEqual({
      ok: false,
      errors: [
        "EDGE_URL http://edge.example.com is plain HTTP to a host that is not loopback: the relay's admin tokens would cross the network in clear; use https, or set INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR=1 to send it anyway",
      ],
    });
    for (const edgeUrl of ["http://127.0.0.1:8787", "http://localhost:8787", "http://[::1]:8787", "http://127.3.2.1", "https://edge.example.com"]) {
      const result = parseRelayConfig({ ...base, EDGE_URL: edgeUrl });
      expect(result.ok, edgeUrl).toBe(true);
    }
    const overridden = parseRelayConfig({ ...base, EDGE_URL: "http://10.0.0.7:8787", INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR: "1" });
    expect(overridden.ok && overridden.config.edgeUrl).toBe("http://10.0.0.7:8787");
    expect(parseRelayConfig({ ...base, EDGE_URL: "http://10.0.0.7:8787", INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR: "true" })).toEqual({
      ok: false,
      errors: [
        "INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR must be 1 or unset",
        "EDGE_URL http://10.0.0.7:8787 is plain HTTP to a host that is not loopback: the relay's admin tokens would cross the network in clear; use https, or set INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR=1 to send it anyway",
      ],
    });

    // The process itself: one line, exit 2, before it connects to anything.
    const run = runRelay({ ...base, EDGE_URL: "http://edge.example.com" });
    expect(await run.exited).toBe(2);
    expect(run.out.stderr).toBe(
      "relay: EDGE_URL http://edge.example.com is plain HTTP to a host that is not loopback: the relay's admin tokens would cross the network in clear; use https, or set INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR=1 to send it anyway\n",
    );
  });

  it("takes defaults for the optional settings and trims the edge URL", () => {
    const result = parseRelayConfig({ REDIS_URL: "redis://127.0.0.1:6379/0", EDGE_URL: "https://edge.example.com/", EDGE_ADMIN_JWT_SECRET: "x" });
    expect(result).toEqual({
      ok: true,
      config: {
        redisUrl: "redis://127.0.0.1:6379/0",
        edgeUrl: "https://edge.example.com",
        edgeAdminSecret: "x",
        healthHost: "127.0.0.1",
        healthPort: 8807,
        maxQueue: 10_000,
        edgeTimeoutMs: 10_000,
      },
    });
  });
});

describe("the process", () => {
  it("subscribes, answers /healthz, logs JSON lines, and exits 0 on SIGTERM", async () => {
    const port = await freePort();
    // Its own Redis and edge: a second relay on the shared ones would apply the other tests'
    // messages too, and its start purges the collab families.
    const redis = await startRedis();
    const edge = await startEdge({ originUrl: inject("originUrl") });
    const run = runRelay({
      REDIS_URL: redis.url,
      EDGE_URL: edge.url,
      EDGE_ADMIN_JWT_SECRET: inject("edgeAdminSecret"),
      RELAY_HEALTH_PORT: String(port),
    });
    try {
      await waitFor("healthz", async () => {
        const response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        return response?.status === 200;
      });
      run.child.kill("SIGTERM");
      expect(await run.exited).toBe(0);
      // Info on stdout, warnings (the start purge) on stderr: every line is a JSON object.
      const lines = `${run.out.stdout}${run.out.stderr}`.trim().split("\n");
      const events = lines.map((line) => (JSON.parse(line) as { event: string }).event);
      expect(events).toEqual(expect.arrayContaining(["started", "subscribed", "collab_purge", "stopping"]));
    } finally {
      run.child.kill("SIGKILL");
      await edge.dispose();
      await redis.stop();
    }
  });
});
