/** The dev origin's values endpoint (docs/design.md §4.2, docs/origin.md) and its test controls. */
import { describe, expect, it } from "vitest";
import { ADMIN_SUBS } from "../../dev/origin/fixtures/families";
import { TEST_SECRETS } from "../helpers/tokens";
import { armFaults, clearFault, fillCount, freshId, getValue, originUrl, proxyToken, setFault, valuesToken } from "./helpers";

const text = async (r: Response) => new TextDecoder().decode(await r.arrayBuffer());

describe("values token", () => {
  it("401 without X-Oseh-Edge, 403 with anything but a values token", async () => {
    const key = "auth:is_admin:oseh_u_x";
    const now = Math.floor(Date.now() / 1000);
    expect((await getValue(key, "")).status).toBe(401);
    expect((await getValue(key, "garbage")).status).toBe(403);
    expect((await getValue(key, await valuesToken({}, TEST_SECRETS.edgeAdmin))).status).toBe(403); // wrong secret
    expect((await getValue(key, await valuesToken({ aud: "oseh-id" }))).status).toBe(403);
    expect((await getValue(key, await valuesToken({ aud: "oseh-origin" }))).status).toBe(403); // the old shared audience
    expect((await getValue(key, await valuesToken({ exp: now }))).status).toBe(403); // expired, leeway 0
    expect((await getValue(key, await valuesToken({ exp: now + 600 }))).status).toBe(403); // lifetime over 5 minutes
    expect((await getValue(key, await valuesToken({ iat: now + 5 }))).status).toBe(403);
    // A proxy token, even one bound to this very request, is not a values token.
    const path = `/api/1/edge/values/${encodeURIComponent(key)}`;
    expect((await getValue(key, await proxyToken("GET", path))).status).toBe(403);
    expect((await getValue(key)).status).toBe(200);
  });

  it("accepts EDGE_ORIGIN_JWT_SECRET_PREVIOUS during a rotation, for signature mismatches only", async () => {
    const { checkValuesToken } = await import("../../dev/origin/auth");
    const now = Math.floor(Date.now() / 1000);
    const rotating = { EDGE_ORIGIN_JWT_SECRET: "new-origin-secret", EDGE_ORIGIN_JWT_SECRET_PREVIOUS: "old-origin-secret" };
    expect(await checkValuesToken(await valuesToken({}, "old-origin-secret"), rotating, now)).toEqual({ ok: true });
    expect(await checkValuesToken(await valuesToken({}, "new-origin-secret"), rotating, now)).toEqual({ ok: true });
    expect((await checkValuesToken(await valuesToken({}, "old-origin-secret"), { EDGE_ORIGIN_JWT_SECRET: "new-origin-secret" }, now)).ok).toBe(false);
    // The previous secret widens nothing else: a proxy token signed with it is still not a values token.
    expect((await checkValuesToken(await proxyToken("GET", "/api/1/edge/values/k", {}, "old-origin-secret"), rotating, now)).ok).toBe(false);
  });

  it("guards every spelling Starlette would route to the values endpoint", async () => {
    const token = await valuesToken();
    for (const path of ["/api/1/edge%2Fvalues/auth%3Ais_admin%3Aoseh_u_x", "/api/1/%65dge/values/auth%3Ais_admin%3Aoseh_u_x"]) {
      expect((await fetch(originUrl(path))).status).toBe(401);
      const response = await fetch(originUrl(path), { headers: { "X-Oseh-Edge": token } });
      expect(response.status).toBe(200);
      expect(await text(response)).toBe("0");
    }
  });
});

describe("values", () => {
  it("serves auth:is_admin as 1 for admins and a cached 0 for everyone else", async () => {
    expect(await text(await getValue(`auth:is_admin:${ADMIN_SUBS[0]}`))).toBe("1");
    expect(await text(await getValue("auth:is_admin:oseh_u_someoneElse"))).toBe("0");
  });

  it("404 + X-Edge-Value: absent for a value that does not exist", async () => {
    const response = await getValue("journeys:external:oseh_j_nope");
    expect(response.status).toBe(404);
    expect(response.headers.get("X-Edge-Value")).toBe("absent");
  });

  it("501 + X-Edge-Value: unsupported for a family it does not serve", async () => {
    const response = await getValue("updater-lock-key");
    expect(response.status).toBe(501);
    expect(response.headers.get("X-Edge-Value")).toBe("unsupported");
  });

  it("answers date-keyed families for any date, deterministically, different per date", async () => {
    const a = await text(await getValue("daily_active_users:19000"));
    const b = await text(await getValue("daily_active_users:19001"));
    expect(a).not.toBe(b);
    expect(await text(await getValue("daily_active_users:19000"))).toBe(a);
    const parsed = JSON.parse(a) as { labels: string[]; values: number[] };
    expect(parsed.labels.length).toBe(182);
    expect(parsed.labels.at(-1)).toBe("2022-01-07"); // unix date 18999: the window ends the day before
  });

  it("sends X-Edge-Expires-At for the absolute-expiry family", async () => {
    const response = await getValue("interactive_prompts:special:onboarding-prompt-feeling:info");
    expect(Number(response.headers.get("X-Edge-Expires-At"))).toBeGreaterThan(Date.now() / 1000);
    expect(JSON.parse(await text(response))).toEqual({ uid: "oseh_ip_devWord00000000000001", version: 1 });
  });

  it("serves the default mobile filters key", async () => {
    const response = await getValue("content_files:playlists:mobile:oseh_cf_devAudio00000000000001:w=,h=,pr=,bmin=90000,bmax=");
    expect(response.status).toBe(200);
    expect(await text(response)).toMatch(/^#EXTM3U\n/);
  });

  it("generates journeys for `gen` uids", async () => {
    const response = await getValue(`journeys:external:oseh_j_gen${freshId("v")}`);
    expect(response.status).toBe(200);
  });
});

describe("controls", () => {
  it("counts fills per key", async () => {
    const key = `journeys:external:oseh_j_gen${freshId("c")}`;
    expect(await fillCount(key)).toBe(0);
    await getValue(key);
    await getValue(key);
    expect(await fillCount(key)).toBe(2);
  });

  it("injects faults set by request, for a number of uses", async () => {
    const key = `journeys:external:oseh_j_gen${freshId("f")}`;
    await setFault(key, { kind: "status", status: 500 }, 1);
    const failed = await getValue(key);
    expect(failed.status).toBe(500);
    expect(await text(failed)).toBe("internal server error");
    expect((await getValue(key)).status).toBe(200);

    await setFault(key, { kind: "garbage" });
    expect(new Uint8Array(await (await getValue(key)).arrayBuffer())[0]).toBe(0xff);
    await setFault(key, { kind: "absent" });
    expect((await getValue(key)).status).toBe(404);
    await setFault(key, { kind: "unsupported" });
    expect((await getValue(key)).status).toBe(501);
    await setFault(key, { kind: "slow", ms: 150 });
    const started = Date.now();
    expect((await getValue(key)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await clearFault(key);
    expect((await getValue(key)).status).toBe(200);
  });

  it("injects faults named by reserved uid fragments once armed, and only then", async () => {
    const id = freshId("r");
    const unarmed = await getValue(`journeys:external:oseh_j_genfault-503-${id}`);
    expect(unarmed.status).toBe(200); // a client choosing such a uid gets nothing
    await unarmed.arrayBuffer();
    await armFaults(id);
    expect((await getValue(`journeys:external:oseh_j_genfault-503-${id}`)).status).toBe(503);
    expect((await getValue(`journeys:external:oseh_j_genfault-404-${id}`)).status).toBe(404);
    expect((await getValue(`journeys:external:oseh_j_genfault-501-${id}`)).status).toBe(501);
    const garbage = await getValue(`journeys:external:oseh_j_genfault-garbage-${id}`);
    expect(garbage.status).toBe(200);
    expect(new Uint8Array(await garbage.arrayBuffer())[0]).toBe(0xff);
  });

  it("refuses a malformed fault", async () => {
    const { devControl } = await import("../helpers/dev-origin");
    const response = await devControl("/__dev/faults", { method: "POST", body: JSON.stringify({ key: "k", fault: { kind: "nope" } }) });
    expect(response.status).toBe(400);
  });

  it("every control refuses a request without the bearer DEV_CONTROL_SECRET", async () => {
    const key = `journeys:external:oseh_j_gen${freshId("s")}`;
    const controls: [string, RequestInit][] = [
      ["/__dev/health", {}],
      [`/__dev/counters?key=${encodeURIComponent(key)}`, {}],
      [`/__dev/counters?key=${encodeURIComponent(key)}`, { method: "DELETE" }],
      ["/__dev/faults", { method: "POST", body: JSON.stringify({ key, fault: { kind: "status", status: 500 } }) }],
      ["/__dev/faults", { method: "POST", body: JSON.stringify({ match: key }) }],
      [`/__dev/faults?key=${encodeURIComponent(key)}`, { method: "DELETE" }],
      [`/__dev/seen?target=${encodeURIComponent("/api/1/dev/echo")}`, {}],
      ["/api/1/dev/delegate", { method: "POST", body: JSON.stringify({ key: "journeys:external:oseh_j_devFull0000000000000001", jwt: "a.b.c" }) }],
    ];
    for (const auth of [undefined, "Bearer wrong", "bearer ", `Basic ${btoa("x:y")}`]) {
      for (const [path, init] of controls) {
        const response = await fetch(originUrl(path), { ...init, headers: auth === undefined ? {} : { Authorization: auth } });
        expect([path, response.status]).toEqual([path, 403]);
      }
    }
    // Nothing took effect: no fault was set, nothing was armed.
    expect((await getValue(key)).status).toBe(200);
  });
});
