/**
 * The one check the relay, the CLI and the conformance checker make before sending a credential
 * (shared/credential-url.ts): plain http only to this machine, or with the override.
 */
import { describe, expect, it } from "vitest";
import { credentialUrlProblem, insecureHttpFromEnv, isLoopbackHost } from "../../shared/credential-url.ts";

const options = { name: "EDGE_URL", sends: "the admin token", allowInsecureHttp: false, override: "set X=1" };

describe("credentialUrlProblem", () => {
  it.each([
    "http://127.0.0.1:8787",
    "http://127.255.10.3/",
    "http://127.1/", // the URL parser reads it as 127.0.0.1
    "http://localhost:8787",
    "http://LOCALHOST/",
    "http://[::1]:8787",
    "http://[0:0:0:0:0:0:0:1]/",
    "https://edge.example.com",
    "https://10.0.0.7",
  ])("%s may carry a credential", (url) => {
    expect(credentialUrlProblem(new URL(url), options)).toBeNull();
  });

  it.each([
    "http://edge.example.com",
    "http://10.0.0.7:8787",
    "http://0.0.0.0:8787", // this machine on most systems, but not a loopback address
    "http://[::ffff:127.0.0.1]/", // an IPv4-mapped address, not ::1
    "http://localhost.example.com/",
    "http://127.0.0.1.nip.io/",
    "http://[fe80::1]/",
  ])("%s is refused, naming the override", (url) => {
    const parsed = new URL(url);
    expect(credentialUrlProblem(parsed, options)).toBe(
      `EDGE_URL ${parsed.origin} is plain HTTP to a host that is not loopback: the admin token would cross the network in clear; use https, or set X=1 to send it anyway`,
    );
    expect(credentialUrlProblem(parsed, { ...options, allowInsecureHttp: true })).toBeNull();
  });

  it("isLoopbackHost takes only localhost, 127.0.0.0/8 and ::1", () => {
    expect(["localhost", "127.0.0.1", "127.200.0.9", "[::1]", "::1"].filter(isLoopbackHost)).toHaveLength(5);
    expect(["0.0.0.0", "128.0.0.1", "127.0.0.1.example", "localhost.", "sub.localhost", "[::2]"].filter(isLoopbackHost)).toEqual([]);
  });

  it("the override from the environment is exactly 1", () => {
    expect(insecureHttpFromEnv({})).toEqual({ ok: true, allowed: false });
    expect(insecureHttpFromEnv({ INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR: "" })).toEqual({ ok: true, allowed: false });
    expect(insecureHttpFromEnv({ INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR: "1" })).toEqual({ ok: true, allowed: true });
    expect(insecureHttpFromEnv({ INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR: "yes" })).toEqual({ ok: false, problem: "INSECURE_HTTP_SENDS_TOKENS_IN_CLEAR must be 1 or unset" });
  });
});
