/**
 * Principals of the admin API (docs/admin-api.md "Principals", docs/security.md §2), through the
 * Worker's own fetch against the dev origin: a service token may do everything; an admin's id
 * token may read and remove but never write; and the admin bit that admits an id token to
 * `/_edge/v1` is the origin's answer, never a value the API itself stored.
 */
import { describe, expect, it } from "vitest";
import { ADMIN_BIT_MEMO_SECONDS } from "../../src/admin/admin-bit";
import { ADMIN_ROUTE_PRINCIPALS } from "../../src/admin/principals";
import { AUTH_BODIES } from "../../src/auth/bearer";
import { clearFault, fillCount, restoreOriginValue, setFault, setOriginValue } from "../helpers/dev-origin";
import { adminToken, idToken } from "../helpers/tokens";
import { callWorker, createWorkerCaller, uniqueId } from "../helpers/worker";

const EDGE = "http://edge.test";
const ADMIN = "oseh_u_devAdmin0000000000001";
const USER = "oseh_u_devUser00000000000001";
const USER_BIT = `auth:is_admin:${USER}`;
/** The dev origin checks the edge's values token on the wall clock: these tests run on it. */
const wallNow = () => Math.floor(Date.now() / 1000);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const keyPath = (key: string) => `${EDGE}/_edge/v1/keys/${encodeURIComponent(key)}`;
const PUT_REFUSAL = { type: "forbidden", message: "PUT /keys/{key} needs a service token; an admin's id token may read and remove only" };
const NOT_AN_ADMIN = { type: "invalid", message: "token is invalid: not an admin" };

describe("an admin's id token cannot make anyone an admin", () => {
  it("PUT auth:is_admin:{a user} = 1 with the dev admin's id token → 403, nothing stored, the user stays a user", async () => {
    const now = wallNow();
    const path = `${EDGE}/_edge/v1/keys/auth%3Ais_admin%3A${USER}`;
    const put = await callWorker(path, { method: "PUT", body: "1", headers: bearer(await idToken(ADMIN, now)) }, { now });
    expect(put.status).toBe(403);
    expect(await put.json()).toEqual(PUT_REFUSAL);

    const stored = await callWorker(path, { headers: bearer(await adminToken(now)) }, { now });
    expect(stored.status).toBe(404);

    const user = await idToken(USER, now);
    const families = await callWorker(`${EDGE}/_edge/v1/families`, { headers: bearer(user) }, { now });
    expect(families.status).toBe(403);
    expect(await families.json()).toEqual(NOT_AN_ADMIN);
    const chart = await callWorker(`${EDGE}/api/1/admin/daily_active_users`, { headers: { authorization: `bearer ${user}` } }, { now });
    expect(chart.status).toBe(403);
    expect(await chart.text()).toBe(AUTH_BODIES.invalid);
  });

  it.each([
    ["a template", "journeys:external:oseh_j_devFull0000000000000001", "{}"],
    ["a secret family", "sticky_random_group_number:onboarding", "1"],
    ["a key that fails the registry (refused before it is parsed)", "no-such-family:x", "1"],
  ])("every PUT is refused the same way: %s", async (_name, key, body) => {
    const now = wallNow();
    const put = await callWorker(keyPath(key), { method: "PUT", body, headers: bearer(await idToken(ADMIN, now)) }, { now });
    expect(put.status).toBe(403);
    expect(await put.json()).toEqual(PUT_REFUSAL);
  });

  it("a service token's PUT of a user's bit does not admit that user to /_edge/v1 (the origin still says 0)", async () => {
    const now = wallNow();
    const put = await callWorker(keyPath(USER_BIT), { method: "PUT", body: "1", headers: bearer(await adminToken(now)) }, { now });
    expect(put.status).toBe(204);
    const user = await idToken(USER, now);
    for (const [path, init] of [
      ["/families", {}],
      [`/keys/${encodeURIComponent(USER_BIT)}`, { method: "DELETE" }],
      [`/keys/${encodeURIComponent(USER_BIT)}`, { method: "PUT", body: "1" }],
    ] as const) {
      const refused = await callWorker(`${EDGE}/_edge/v1${path}`, { ...init, headers: bearer(user) }, { now });
      expect(refused.status).toBe(403);
      expect(await refused.json()).toEqual(NOT_AN_ADMIN);
    }
    // The backend's own admin routes read the bit through the cache, as the backend reads its own
    // (docs/routes.md "Admin routes"): what a service token stores there is the relay's to keep true.
    const chart = await callWorker(`${EDGE}/api/1/admin/daily_active_users`, { headers: { authorization: `bearer ${user}` } }, { now });
    expect(chart.status).toBe(200);
  });
});

describe("what an admin's id token may still do", () => {
  it("read (families, a key, a list, stats, whoami) and remove (DELETE, purge)", async () => {
    const now = wallNow();
    const service = bearer(await adminToken(now));
    const admin = bearer(await idToken(ADMIN, now));
    const key = `auth:is_admin:oseh_u_principals${uniqueId()}`;
    const other = `${key}b`;
    for (const k of [key, other]) expect((await callWorker(keyPath(k), { method: "PUT", body: "0", headers: service }, { now })).status).toBe(204);

    const families = await callWorker(`${EDGE}/_edge/v1/families`, { headers: admin }, { now });
    expect(families.status).toBe(200);
    expect((await families.json()) as unknown[]).toContainEqual(expect.objectContaining({ name: "auth:is_admin:{sub}" }));
    const read = await callWorker(keyPath(key), { headers: admin }, { now });
    expect(read.status).toBe(200);
    expect(await read.text()).toBe("0");
    const listed = await callWorker(`${EDGE}/_edge/v1/keys?prefix=${encodeURIComponent(key)}`, { headers: admin }, { now });
    expect(((await listed.json()) as { keys: { name: string }[] }).keys.map((k) => k.name).sort()).toEqual([key, other]);
    const stats = await callWorker(`${EDGE}/_edge/v1/stats?family=${encodeURIComponent("auth:is_admin:{sub}")}`, { headers: admin }, { now });
    expect(stats.status).toBe(200);
    expect(await stats.json()).toMatchObject({ isolate: expect.any(String), families: expect.any(Object) });

    const deleted = await callWorker(keyPath(key), { method: "DELETE", headers: admin }, { now });
    expect(deleted.status).toBe(204);
    expect((await callWorker(keyPath(key), { headers: service }, { now })).status).toBe(404);
    const purged = await callWorker(`${EDGE}/_edge/v1/purge`, { method: "POST", headers: { ...admin, "content-type": "application/json" }, body: JSON.stringify({ keys: [other] }) }, { now });
    expect(purged.status).toBe(200);
    expect(await purged.json()).toMatchObject({ purged: 1, cursor: null });
    expect((await callWorker(keyPath(other), { headers: service }, { now })).status).toBe(404);
  });

  it("GET /whoami names the principal and the routes the table allows it", async () => {
    const now = wallNow();
    const asAdmin = await callWorker(`${EDGE}/_edge/v1/whoami`, { headers: bearer(await idToken(ADMIN, now)) }, { now });
    expect(asAdmin.status).toBe(200);
    const everything = Object.keys(ADMIN_ROUTE_PRINCIPALS);
    expect(await asAdmin.json()).toEqual({ principal: "admin-id", sub: ADMIN, routes: everything.filter((route) => !route.startsWith("PUT ")) });
    const asService = await callWorker(`${EDGE}/_edge/v1/whoami`, { headers: bearer(await adminToken(now, { sub: "ops" })) }, { now });
    expect(await asService.json()).toEqual({ principal: "service", sub: "ops", routes: everything });
    expect((await callWorker(`${EDGE}/_edge/v1/whoami`, { method: "POST" }, { now })).status).toBe(405);
  });
});

describe("the admin bit for /_edge/v1 is the origin's answer", () => {
  it(`an admin the origin demotes loses /_edge/v1 within ADMIN_BIT_MEMO_SECONDS (${ADMIN_BIT_MEMO_SECONDS} s); the answer is asked once per period`, async () => {
    const sub = `oseh_u_demoted${uniqueId()}`;
    const bit = `auth:is_admin:${sub}`;
    await setOriginValue(bit, "1");
    try {
      let clock = wallNow();
      const call = createWorkerCaller(() => clock);
      const token = await idToken(sub, clock);
      const families = () => call(`${EDGE}/_edge/v1/families`, { headers: bearer(token) });

      expect((await families()).status).toBe(200);
      expect(await fillCount(bit)).toBe(1);
      await setOriginValue(bit, "0");
      clock += ADMIN_BIT_MEMO_SECONDS - 1;
      expect((await families()).status).toBe(200); // remembered by this isolate, not asked again
      expect(await fillCount(bit)).toBe(1);

      clock += 1;
      const refused = await families();
      expect(refused.status).toBe(403);
      expect(await refused.json()).toEqual(NOT_AN_ADMIN);
      expect(await fillCount(bit)).toBe(2);
    } finally {
      await restoreOriginValue(bit);
    }
  });

  it("an origin that cannot answer admits no id token (and the next call asks again)", async () => {
    const now = wallNow();
    const sub = `oseh_u_unknown${uniqueId()}`;
    const bit = `auth:is_admin:${sub}`;
    await setFault(bit, { kind: "status", status: 503 });
    try {
      const call = createWorkerCaller(() => now);
      const token = await idToken(sub, now);
      for (let attempt = 1; attempt <= 2; attempt += 1) {
        const refused = await call(`${EDGE}/_edge/v1/families`, { headers: bearer(token) });
        expect(refused.status).toBe(403);
        expect(await refused.json()).toEqual({ type: "invalid", message: "token is invalid: the admin bit for this id token cannot be checked now" });
        expect(await fillCount(bit)).toBe(attempt);
      }
    } finally {
      await clearFault(bit);
    }
  });
});
