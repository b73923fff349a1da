/**
 * `npm run deploy` refuses what would put a broken edge in front of users, before wrangler is
 * asked to upload anything (the repo's wrangler.toml ships the placeholders).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const DEPLOY = fileURLToPath(new URL("../../scripts/deploy.mjs", import.meta.url));

function deploy(...args: string[]) {
  return spawnSync(process.execPath, [DEPLOY, "--dry-run", ...args], { encoding: "utf8", env: { PATH: process.env.PATH } });
}

describe("npm run deploy", () => {
  it("names every placeholder: the KV id and ORIGIN_URL", () => {
    const run = deploy();
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^deploy refused: wrangler.toml production \(top level\) binds CACHE to the placeholder KV id "0{32}"/);
    expect(run.stderr).toContain("npx wrangler kv namespace create CACHE");
    expect(run.stderr).toMatch(/ORIGIN_URL must be an https URL .* got "https:\/\/origin\.invalid"/);
    expect(run.stdout).toBe(""); // wrangler never ran
  });

  it("refuses a loopback --var ORIGIN_URL (the Worker's own check, src/config.ts)", () => {
    const run = deploy("--var", "ORIGIN_URL:http://127.0.0.1:8788");
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('got "http://127.0.0.1:8788"');
  });

  it("a good ORIGIN_URL leaves only the KV id to fix", () => {
    const run = deploy("--var", "ORIGIN_URL:https://origin-api.example.com");
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/placeholder KV id/);
    expect(run.stderr).not.toMatch(/ORIGIN_URL must/);
  });

  it("refuses a malformed rollout switch (EDGE_MODE) before uploading", () => {
    const run = deploy("--var", "ORIGIN_URL:https://origin-api.example.com", "--var", "EDGE_MODE:off");
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('EDGE_MODE must be one of "edge", "passthrough", got "off"');
  });

  it("reads every value of one --var flag, as wrangler does", () => {
    const run = deploy("--var", "EDGE_MODE:edge", "ORIGIN_URL:http://127.0.0.1:8788");
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('got "http://127.0.0.1:8788"');
  });

  it("checks the file --config names, not the repo's", () => {
    const dir = mkdtempSync(join(tmpdir(), "deploy-guard-"));
    const file = join(dir, "other.toml");
    writeFileSync(file, ['name = "other"', 'main = "index.ts"', 'compatibility_date = "2025-01-01"', "[vars]", 'ORIGIN_URL = "http://10.1.2.3"', "[[kv_namespaces]]", 'binding = "CACHE"', 'id = "abc123"'].join("\n"));
    try {
      const run = deploy("--config", file);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('got "http://10.1.2.3"');
      expect(run.stderr).not.toMatch(/placeholder KV id/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses the dev environment", () => {
    const run = deploy("--env", "dev");
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/the dev environment is local only/);
  });
});
