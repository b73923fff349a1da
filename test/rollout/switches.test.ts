/**
 * The rollout switches through the Worker's own fetch (src/rollout/switches.ts): EDGE_MODE and
 * EDGE_DISABLED_FAMILIES against real KV / Cache API and the dev origin over HTTP.
 */
import { env } from "cloudflare:workers";
import { describe, expect, inject, it, vi } from "vitest";
import { parseConfig } from "../../src/config";
import type { OriginClient } from "../../src/origin";
import { handleProxied } from "../../src/routes";
import type { PassthroughOptions } from "../../src/origin/client";
import { createHarness } from "../cache/helpers";
import { FAMILIES } from "../../src/keys";
import { parseFamilyPatterns, switchProblems } from "../../src/rollout/switches";
import { adminToken, idToken } from "../helpers/tokens";
import { decodeJwtPayload } from "../dev-origin/helpers";
import { devControlHeaders, seenRequests } from "../helpers/dev-origin";
import { callWorker, uniqueId } from "../helpers/worker";
import { fillCount, seed, wallNow } from "../routes/edge";
import { resourceToken } from "../routes/helpers";

const BASE = "https://edge.test";
const USER = "oseh_u_devUser00000000000001";

function envWith(vars: Record<string, string>): Record<string, unknown> {
  return { ...(env as unknown as Record<string, unknown>), ORIGIN_URL: inject("originUrl"), ...vars };
}

async function kvHas(key: string): Promise<boolean> {
  return (await env.CACHE.get(key, "arrayBuffer")) !== null;
}

async function startFromHistory(journeyUid: string, vars: Record<string, string>, now: number): Promise<Response> {
  const init = { method: "POST", headers: { authorization: `bearer ${await idToken(USER, now)}` }, body: JSON.stringify({ journey_uid: journeyUid }) };
  return callWorker(`${BASE}/api/1/users/me/start_journey_from_history`, init, { now, env: envWith(vars) });
}

describe("config", () => {
  it("EDGE_MODE defaults to edge and takes passthrough; anything else is named", () => {
    expect(parseConfig(envWith({})).mode).toBe("edge");
    expect(parseConfig(envWith({ EDGE_MODE: "passthrough" })).mode).toBe("passthrough");
    expect(() => parseConfig(envWith({ EDGE_MODE: "off" }))).toThrowError(/EDGE_MODE must be one of "edge", "passthrough", got "off"/);
  });

  it("EDGE_DISABLED_FAMILIES: exact names, * globs, spaces and empty parts", () => {
    const { names, problems } = parseFamilyPatterns(parseConfig(envWith({ EDGE_DISABLED_FAMILIES: " journeys:external:{uid} , content_files:playlists:* ,," })).disabledFamilyPatterns);
    expect(problems).toEqual([]);
    expect([...names].sort()).toEqual(["content_files:playlists:mobile:{uid}:{filters_stable_identifier}", "content_files:playlists:web:{uid}", "journeys:external:{uid}"]);
    expect(parseFamilyPatterns(["*"]).names.size).toBe(FAMILIES.length);
    expect(parseFamilyPatterns([]).names.size).toBe(0);
  });

  it("a pattern that selects no family is a startup error naming it (a typo never leaves a family on)", () => {
    const config = parseConfig(envWith({ EDGE_DISABLED_FAMILIES: "journeys:external:{uid},journeys:externel:*" }));
    expect(switchProblems(config)).toEqual([expect.stringMatching(/"journeys:externel:\*" matches no family/)]);
    // Regex characters in a pattern are literal.
    expect(parseFamilyPatterns(["journeys.external.{uid}"]).problems).toHaveLength(1);
  });

  it.each([
    [{ EDGE_MODE: "PASSTHROUGH" }, "EDGE_MODE"],
    [{ EDGE_DISABLED_FAMILIES: "jounreys:*" }, "EDGE_DISABLED_FAMILIES: \"jounreys:*\" matches no family"],
  ])("the Worker answers 500 misconfigured for %j, naming the switch, and forwards nothing", async (vars, named) => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const target = `/api/1/dev/echo?bad=${uniqueId("c")}`;
    const response = await callWorker(`${BASE}${target}`, undefined, { env: envWith(vars) });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { type: string; message: string }).message).toContain(named);
    expect(errors.mock.calls.map((c) => JSON.parse(String(c[0])) as unknown)).toEqual([{ msg: "misconfigured", message: expect.stringContaining(named) }]);
    expect(await seenRequests(target)).toEqual([]);
    errors.mockRestore();
  });
});

describe("EDGE_MODE=passthrough", () => {
  const PASS = { EDGE_MODE: "passthrough" };

  it("an edge route goes to the origin: the stored value is not read, nothing is filled or stored", async () => {
    const now = wallNow();
    const seeded = uniqueId("oseh_if_ps");
    await seed({ [`image_files:playlist:${seeded}`]: "not what the origin says" }, now);
    const auth = { authorization: `bearer ${await resourceToken("image", seeded, now)}` };
    const served = await callWorker(`${BASE}/api/1/image_files/playlist/${seeded}`, { headers: auth }, { now, env: envWith(PASS) });
    expect(served.headers.get("Cache-Status")).toBe("oseh-edge; fwd=bypass");
    expect(await served.text()).not.toContain("not what the origin says");

    const uid = uniqueId("oseh_if_pf");
    const fresh = await callWorker(`${BASE}/api/1/image_files/playlist/${uid}`, { headers: { authorization: `bearer ${await resourceToken("image", uid, now)}` } }, { now, env: envWith(PASS) });
    expect(fresh.headers.get("Cache-Status")).toBe("oseh-edge; fwd=bypass");
    expect(await fillCount(`image_files:playlist:${uid}`)).toBe(0);
    expect(await kvHas(`image_files:playlist:${uid}`)).toBe(false);
  });

  it("a start route is rendered by the origin itself: no edge token is sent, so it cannot delegate", async () => {
    const now = wallNow();
    const uid = uniqueId("oseh_j_gen");
    const pure = await startFromHistory(uid, PASS, now);
    expect(pure.status).toBe(200);
    expect(pure.headers.get("Cache-Status")).toBe("oseh-edge; fwd=bypass");
    expect(((await pure.json()) as { uid: string }).uid).toBe(uid);
    expect(await fillCount(`journeys:external:${uid}`)).toBe(0);
    expect(await kvHas(`journeys:external:${uid}`)).toBe(false);

    // The same request in edge mode is delegated and rendered at the edge (the control).
    const delegated = await startFromHistory(uid, {}, now);
    expect(delegated.headers.get("Cache-Status")).toBe("oseh-edge; fwd=miss; stored");
    expect(await fillCount(`journeys:external:${uid}`)).toBe(1);
  });

  it("forwarded requests carry no edge token in passthrough mode, a proxy token in edge mode", async () => {
    const target = `/api/1/dev/echo?switch=${uniqueId("m")}`;
    const pure = await callWorker(`${BASE}${target}`, { method: "POST", body: "x" }, { env: envWith(PASS) });
    expect(pure.status).toBe(200);
    const edge = await callWorker(`${BASE}${target}`, { method: "POST", body: "x" }, { env: envWith({}) });
    expect(edge.status).toBe(200);
    const seen = await seenRequests(target);
    expect(seen.map((r) => r.edgeToken === null)).toEqual([true, false]);
    expect(decodeJwtPayload(seen[1]?.edgeToken ?? "")).toMatchObject({ aud: "oseh-edge-proxy", htm: "POST", htu: "/api/1/dev/echo" });
  });

  it("a delegation document that arrives anyway is passed through untouched, not rendered", async () => {
    // An origin that delegates whatever it gets (the conformance checker's broken fixture does the
    // same over HTTP): the OriginClient is the edge's own interface, wrapped around nothing here.
    const document = JSON.stringify({ key: "journeys:external:oseh_j_devFull0000000000000001", jwt: "a.b.c" });
    const calls: (PassthroughOptions | undefined)[] = [];
    const origin: OriginClient = {
      async passthrough(_request, options) {
        calls.push(options);
        const response = new Response(document, { headers: { "Content-Type": "application/vnd.oseh.edge-render+json" } });
        return { kind: "response", response, deadline: Date.now() + 5000 };
      },
      fetchValue: () => Promise.reject(new Error("passthrough mode never fetches a value")),
      fetchValueStream: () => Promise.reject(new Error("passthrough mode never fetches a value")),
    };
    const harness = createHarness();
    const deps = harness.proxyDeps(() => wallNow());
    const { response } = await handleProxied(new Request(`${BASE}/api/1/users/me/start_ai_journey`, { method: "POST" }), { ...deps, config: { ...deps.config, mode: "passthrough" }, origin });
    expect(calls).toEqual([{ delegate: false }]);
    expect(response.headers.get("Content-Type")).toBe("application/vnd.oseh.edge-render+json");
    expect(await response.text()).toBe(document);
    await harness.settle();
  });

  it("the admin API stays up", async () => {
    const now = wallNow();
    const key = `journeys:external:${uniqueId("oseh_j_adm")}`;
    await seed({ [key]: "x" }, now);
    const auth = { authorization: `bearer ${await adminToken(now)}` };
    const families = await callWorker(`${BASE}/_edge/v1/families`, { headers: auth }, { now, env: envWith(PASS) });
    expect(families.status).toBe(200);
    const deleted = await callWorker(`${BASE}/_edge/v1/keys/${encodeURIComponent(key)}`, { method: "DELETE", headers: auth }, { now, env: envWith(PASS) });
    expect(deleted.status).toBeLessThan(300);
    expect(await kvHas(key)).toBe(false);
  });
});

describe("EDGE_DISABLED_FAMILIES", () => {
  it("a route needing a disabled family passes through; other families are still served from the edge", async () => {
    const now = wallNow();
    const uid = uniqueId("oseh_if_df");
    await seed({ [`image_files:playlist:${uid}`]: "stored bytes" }, now);
    const auth = { authorization: `bearer ${await resourceToken("image", uid, now)}` };
    const vars = { EDGE_DISABLED_FAMILIES: "image_files:playlist:*" };
    const off = await callWorker(`${BASE}/api/1/image_files/playlist/${uid}`, { headers: auth }, { now, env: envWith(vars) });
    expect(off.headers.get("Cache-Status")).toBe("oseh-edge; fwd=bypass");
    expect(await off.text()).not.toBe("stored bytes");
    expect(await fillCount(`image_files:playlist:${uid}`)).toBe(0);

    // The same key with the switch cleared is served from storage.
    const on = await callWorker(`${BASE}/api/1/image_files/playlist/${uid}`, { headers: auth }, { now, env: envWith({}) });
    expect(on.headers.get("Cache-Status")).toMatch(/^oseh-edge; hit; detail=l[012]$/);

    // A family not named keeps working at the edge while another is disabled.
    const other = uniqueId("oseh_if_dn");
    const served = await callWorker(`${BASE}/api/1/image_files/playlist/${other}`, { headers: { authorization: `bearer ${await resourceToken("image", other, now)}` } }, { now, env: envWith({ EDGE_DISABLED_FAMILIES: "transcripts:{uid}" }) });
    expect(served.headers.get("Cache-Status")).toBe("oseh-edge; fwd=miss; stored");
  });

  it("a delegation naming a disabled template family renders from a fresh values fetch, stored nowhere", async () => {
    const now = wallNow();
    const vars = { EDGE_DISABLED_FAMILIES: "journeys:external:{uid}" };
    const uid = uniqueId("oseh_j_gen");
    const first = await startFromHistory(uid, vars, now);
    expect(first.status).toBe(200);
    expect(first.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
    expect(first.headers.get("Cache-Status")).toBe("oseh-edge; fwd=miss");
    expect(((await first.json()) as { uid: string }).uid).toBe(uid);
    expect(await kvHas(`journeys:external:${uid}`)).toBe(false);
    // Every request fetches afresh: nothing was kept to hit.
    await startFromHistory(uid, vars, now);
    expect(await fillCount(`journeys:external:${uid}`)).toBe(2);
  });

  it("a stored copy of a disabled template is never read", async () => {
    const now = wallNow();
    const uid = uniqueId("oseh_j_gen");
    // Garbage that would fail the render if it were read.
    await seed({ [`journeys:external:${uid}`]: "garbage" }, now);
    const response = await startFromHistory(uid, { EDGE_DISABLED_FAMILIES: "journeys:*" }, now);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { uid: string }).uid).toBe(uid);
    // Not deleted either: re-enabling the family is the operator's purge-then-enable (docs/integrate.md).
    expect(await kvHas(`journeys:external:${uid}`)).toBe(true);
  });
});
