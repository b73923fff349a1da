/**
 * The conformance checks as pure functions (conformance/checks.ts, conformance/run.ts parsers):
 * each verdict on a hand-made answer, without an origin.
 */
import { describe, expect, it } from "vitest";
import { checkAccepted, checkNotDelegated, checkRefused, checkValue, delegationOf, expiryProblem, latestExpiry, type Observed } from "../../conformance/checks";
import { parseDelegateArg, parseHeaderArg } from "../../conformance/run";
import { getFamily } from "../../src/keys";
import { nextLaMidnight } from "../../src/keys/la-time";

const NOW = 1_764_000_000;
const text = (s: string) => new TextEncoder().encode(s);
const answer = (status: number, headers: Record<string, string> = {}, body: Uint8Array | string = ""): Observed => ({
  status,
  headers,
  body: typeof body === "string" ? text(body) : body,
});

async function gzip(s: string): Promise<Uint8Array> {
  return new Uint8Array(await new Response(new Blob([s]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
}

function family(name: string) {
  const found = getFamily(name);
  if (found === undefined) throw new Error(name);
  return found;
}

describe("token refusals", () => {
  it("the expected status passes; the other refusal passes with a note; anything else fails", () => {
    expect(checkRefused("x", answer(401), 401)).toEqual({ name: "x", ok: true, detail: "401" });
    expect(checkRefused("x", answer(401), 403).ok).toBe(true);
    expect(checkRefused("x", answer(200, { "content-type": "text/plain" }), 403)).toEqual({ name: "x", ok: false, detail: "answered 200 text/plain; must refuse with 403" });
    expect(checkRefused("x", answer(404), 401).ok).toBe(false);
  });

  it("a valid token refused is a failure that points at the secret and the clock", () => {
    expect(checkAccepted("a", answer(404)).ok).toBe(true);
    expect(checkAccepted("a", answer(403)).detail).toMatch(/EDGE_ORIGIN_JWT_SECRET/);
  });
});

describe("X-Edge-Expires-At", () => {
  it("the latest a family's rule allows: fixed, the longest random draw, the next LA midnight; none for absolute/collab", () => {
    expect(latestExpiry(family("image_files:playlist:{uid}"), NOW)).toBe(NOW + 60);
    expect(latestExpiry(family("interactive_prompts:external:{uid}"), NOW)).toBe(NOW + 2 * 86_400 - 1);
    expect(latestExpiry(family("journey_subcategory_view_stats:{unix_date}"), NOW)).toBe(nextLaMidnight(NOW));
    expect(latestExpiry(family("interactive_prompts:special:{public_identifier}:info"), NOW)).toBeUndefined();
  });

  it.each([
    [undefined, null],
    [`${NOW + 60}`, null],
    [`${NOW + 65}`, null], // within the clock-skew allowance
    [`${NOW + 66}`, /later than image_files:playlist:\{uid\}'s rule allows \(fixed: at most/],
    [`${NOW}`, /not in the future/],
    ["soon", /not decimal unix seconds/],
    [`${NOW + 30}.5`, null], // the edge rounds a fraction down (src/keys/expiry.ts)
    ["1e9", /not decimal unix seconds/],
  ])("%s → %s", (header, expected) => {
    const problem = expiryProblem(family("image_files:playlist:{uid}"), header, NOW);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toMatch(expected);
  });

  it("an absolute family takes any future time", () => {
    expect(expiryProblem(family("interactive_prompts:special:{public_identifier}:info"), `${NOW + 30 * 86_400}`, NOW)).toBeNull();
  });
});

describe("values", () => {
  it("a gzip family: gzip JSON passes, plain JSON fails naming the codec", async () => {
    const key = "image_files:playlist:oseh_if_a";
    expect((await checkValue(key, answer(200, {}, await gzip('{"items":{}}')), NOW)).ok).toBe(true);
    const plain = await checkValue(key, answer(200, {}, '{"items":{}}'), NOW);
    expect(plain).toMatchObject({ ok: false, name: `value ${key}` });
    expect(plain.detail).toMatch(/fail the gzip-json codec/);
  });

  it("a gzip body that is not JSON inside fails too (inflated, then parsed)", async () => {
    expect((await checkValue("image_files:playlist:oseh_if_a", answer(200, {}, await gzip("not json")), NOW)).ok).toBe(false);
  });

  it("absent, not served (bare 404, 501), and any other status", async () => {
    const key = "auth:is_admin:oseh_u_a";
    expect((await checkValue(key, answer(404, { "x-edge-value": "absent" }), NOW)).detail).toMatch(/^404 absent/);
    expect((await checkValue(key, answer(404), NOW)).detail).toMatch(/^not served/);
    expect((await checkValue(key, answer(501), NOW)).detail).toMatch(/^not served \(501\)/);
    expect((await checkValue(key, answer(500), NOW)).ok).toBe(false);
    expect((await checkValue(key, answer(302, { location: "/x" }), NOW)).ok).toBe(false);
  });

  it("a key no family has fails before anything else", async () => {
    expect((await checkValue("nope:x", answer(200, {}, "1"), NOW)).detail).toMatch(/not a key of any family/);
  });

  it("a bad expiry on a good value fails", async () => {
    const result = await checkValue("auth:is_admin:oseh_u_a", answer(200, { "x-edge-expires-at": "12" }, "1"), NOW);
    expect(result).toMatchObject({ ok: false });
    expect(result.detail).toMatch(/not in the future/);
  });
});

describe("delegation", () => {
  const DOC = { "content-type": "application/vnd.oseh.edge-render+json; charset=utf-8", "x-oseh-edge-delegation": "j1" };
  const good = JSON.stringify({ key: "journeys:external:oseh_j_a", jwt: "a.b.c" });

  it("a document to a bound token: parsed; a non-2xx status, a bad document or no document: the reason", () => {
    expect(delegationOf(answer(200, DOC, good), "j1")).toMatchObject({ ok: true, delegation: { kind: "journey", key: "journeys:external:oseh_j_a" } });
    expect(delegationOf(answer(200, { "content-type": "application/json" }, "{}"), "j1")).toMatchObject({ ok: false, problem: expect.stringMatching(/^no delegation/) });
    expect(delegationOf(answer(500, DOC, good), "j1")).toMatchObject({ ok: false, problem: expect.stringMatching(/status 500/) });
    expect(delegationOf(answer(200, DOC, '{"key":"auth:is_admin:oseh_u_a","jwt":"a.b.c"}'), "j1")).toMatchObject({ ok: false, problem: expect.stringMatching(/wrong_family/) });
    expect(delegationOf(answer(200, DOC, "x".repeat(64 * 1024 + 1)), "j1")).toMatchObject({ ok: false, problem: expect.stringMatching(/over 65536/) });
    // Not acknowledged with the token's jti: the edge would not render it.
    expect(delegationOf(answer(200, DOC, good), "j2")).toMatchObject({ ok: false, problem: expect.stringMatching(/^X-Oseh-Edge-Delegation is "j1", not the proxy token's jti/) });
    expect(delegationOf(answer(200, { "content-type": DOC["content-type"] }, good), "j1")).toMatchObject({ ok: false, problem: expect.stringMatching(/is missing/) });
  });

  it("a request that must not be delegated: any answer but a document passes", () => {
    expect(checkNotDelegated("n", answer(200, { "content-type": "application/json" }, "{}")).ok).toBe(true);
    expect(checkNotDelegated("n", answer(401)).ok).toBe(true);
    expect(checkNotDelegated("n", answer(200, { "content-type": "Application/Vnd.Oseh.Edge-Render+JSON" }, good)).ok).toBe(false);
  });
});

describe("arguments", () => {
  it.each([
    ["POST /api/1/users/me/start_ai_journey", { method: "POST", path: "/api/1/users/me/start_ai_journey" }],
    ['post /api/1/x?y=1 {"a": 1}', { method: "POST", path: "/api/1/x?y=1", body: '{"a": 1}' }],
    ["GET /api/1/x   ", { method: "GET", path: "/api/1/x" }],
  ])("--delegate %j", (arg, expected) => {
    expect(parseDelegateArg(arg)).toEqual(expected);
  });

  it.each(["", "POST", "/api/1/x", "POST api/1/x", "PO ST /x"])("--delegate %j is refused", (arg) => {
    expect(parseDelegateArg(arg)).toMatch(/expected "METHOD \/path \[BODY\]"/);
  });

  it("--header: name and value; a missing or bad name is refused", () => {
    expect(parseHeaderArg("Authorization: bearer a:b")).toEqual(["Authorization", "bearer a:b"]);
    expect(parseHeaderArg("visitor:oseh_v_1")).toEqual(["visitor", "oseh_v_1"]);
    expect(parseHeaderArg(": x")).toMatch(/expected "Name: value"/);
    expect(parseHeaderArg("bad name: x")).toMatch(/expected "Name: value"/);
  });
});
