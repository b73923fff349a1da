import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ConfigError, SECRET_NAMES, parseConfig } from "../../src/config";

describe("parseConfig", () => {
  it("parses the test environment", () => {
    const config = parseConfig(env);
    expect(config.originUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(config.l1MaxAgeSeconds).toBe(30);
    expect(config.secrets.idToken).toBe("test-id-secret");
  });

  it.each(SECRET_NAMES)("names the missing secret %s", (name) => {
    const partial: Record<string, unknown> = { ...env, [name]: undefined };
    expect(() => parseConfig(partial)).toThrowError(ConfigError);
    expect(() => parseConfig(partial)).toThrowError(new RegExp(name));
  });

  it("names every missing secret at once and never prints a value", () => {
    const partial: Record<string, unknown> = { ...env, OSEH_ID_TOKEN_SECRET: "", EDGE_ADMIN_JWT_SECRET: undefined };
    try {
      parseConfig(partial);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain("OSEH_ID_TOKEN_SECRET");
      expect(message).toContain("EDGE_ADMIN_JWT_SECRET");
      expect(message).not.toContain("test-image-secret");
    }
  });

  it.each([
    ["ORIGIN_URL", "ftp://x"],
    ["ORIGIN_URL", "not a url"],
    ["ORIGIN_TIMEOUT_MS", "-1"],
    ["ORIGIN_TIMEOUT_MS", "1.5"],
    ["L1_MAX_AGE_SECONDS", "soon"],
    ["STALE_IF_ERROR_SECONDS", "x"],
    ["COLLAB_MAX_SECONDS", "10"],
  ])("refuses %s=%s with its name", (name, value) => {
    expect(() => parseConfig({ ...env, [name]: value })).toThrowError(new RegExp(name));
  });

  it("runs the tests in the dev environment", () => {
    expect(parseConfig(env).environment).toBe("dev");
  });

  it.each([
    "http://127.0.0.1:8788",
    "http://api.example.com",
    "https://localhost",
    "https://127.0.0.2:8443",
    "https://[::1]/",
    "https://0.0.0.0",
    "https://dev.localhost",
    "https://origin.invalid",
  ])("refuses ORIGIN_URL=%s outside the dev environment", (origin) => {
    for (const envName of [undefined, "production"]) {
      expect(() => parseConfig({ ...env, EDGE_ENV: envName, ORIGIN_URL: origin })).toThrowError(/ORIGIN_URL must be an https URL/);
    }
  });

  it("accepts an https origin in production and refuses an unknown EDGE_ENV", () => {
    expect(parseConfig({ ...env, EDGE_ENV: "production", ORIGIN_URL: "https://api.example.com" }).environment).toBe("production");
    expect(() => parseConfig({ ...env, EDGE_ENV: "staging" })).toThrowError(/EDGE_ENV/);
  });

  it("refuses a missing KV binding", () => {
    expect(() => parseConfig({ ...env, CACHE: undefined })).toThrowError(/CACHE/);
  });

  it("SOURCE_TIME_WINDOW_SECONDS: 3600 by default (and as the tests pin it), at least 60", () => {
    expect(parseConfig(env).sourceTimeWindowSeconds).toBe(3600);
    expect(parseConfig({ ...env, SOURCE_TIME_WINDOW_SECONDS: undefined }).sourceTimeWindowSeconds).toBe(3600);
    expect(parseConfig({ ...env, SOURCE_TIME_WINDOW_SECONDS: "60" }).sourceTimeWindowSeconds).toBe(60);
    for (const bad of ["59", "0", "-1", "1h", "3600.5"]) {
      expect(() => parseConfig({ ...env, SOURCE_TIME_WINDOW_SECONDS: bad })).toThrowError(/SOURCE_TIME_WINDOW_SECONDS must be an integer >= 60/);
    }
  });

  it("strips a trailing slash from ORIGIN_URL and honours L1_CACHE=off", () => {
    const config = parseConfig({ ...env, ORIGIN_URL: "https://api.example.com/", L1_CACHE: "off" });
    expect(config.originUrl).toBe("https://api.example.com");
    expect(config.l1Enabled).toBe(false);
  });
});
