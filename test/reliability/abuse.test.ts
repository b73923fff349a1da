/**
 * Abuse (docs/reliability.md "Abuse"): failed admin-API authentication is rate-limited per client
 * with the Workers Rate Limiting binding, which miniflare runs locally (wrangler.toml
 * `[[env.dev.ratelimits]]`: 10 failures per 60 s); misses on random keys are bounded.
 */
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from "vitest";
import { ABSENT_LIFETIME_SECONDS, FILL_BUDGET_PER_FAMILY } from "../../src/cache/fill-guard";
import { devControlHeaders, fillCount, setFault } from "../helpers/dev-origin";
import { adminToken } from "../helpers/tokens";
import { uniqueId } from "../helpers/worker";
import { resourceToken } from "../routes/helpers";
import { captureLogs, counter, edge, edgeStats, envWith, wallNow } from "./helpers";

const LIMIT = 10; // wrangler.toml ADMIN_AUTH_LIMITER simple.limit

/** The binding counts in fixed windows of the wall clock: start well inside one. */
async function awayFromWindowEdge(periodSeconds = 60): Promise<void> {
  const intoWindow = (Date.now() / 1000) % periodSeconds;
  if (intoWindow > periodSeconds - 5) await new Promise((resolve) => setTimeout(resolve, (periodSeconds - intoWindow + 0.2) * 1000));
}

function families(headers: Record<string, string>): Promise<Response> {
  return edge("/_edge/v1/families", { headers });
}

describe("failed admin-API auth", () => {
  it("is rate-limited per client: past the limit, failures answer 429 rate_limited; other clients and valid tokens are unaffected", async () => {
    await awayFromWindowEdge();
    const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++) statuses.push((await families({ authorization: "bearer not.a.token", "CF-Connecting-IP": ip })).status);
    expect(statuses.slice(0, LIMIT)).toEqual(Array(LIMIT).fill(403));
    expect(statuses.slice(LIMIT)).toEqual([429, 429]);

    const limited = await families({ authorization: "bearer not.a.token", "CF-Connecting-IP": ip });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(((await limited.json()) as { type: string }).type).toBe("rate_limited");
    // A missing header is a failure too.
    expect((await families({ "CF-Connecting-IP": ip })).status).toBe(429);

    // The operator behind the same address still gets in; another client is judged on its own.
    expect((await families({ authorization: `bearer ${await adminToken(wallNow())}`, "CF-Connecting-IP": ip })).status).toBe(200);
    expect((await families({ authorization: "bearer not.a.token", "CF-Connecting-IP": `${ip}0` })).status).toBe(403);
  });
});

/**
 * Misses on random keys (src/cache/fill-guard.ts): the origin's `absent` is remembered for
 * ABSENT_LIFETIME_SECONDS for a family whose backend caches its negative answer (the is-public bit
 * here: `image_files/auth.py` caches `b"0"`), and a family has FILL_BUDGET_PER_FAMILY fills in
 * flight per isolate. Fills are counted at the dev origin's values endpoint. Each case runs on the
 * shield fill path (the test env) and the in-isolate one (no FAMILY_SHIELD binding).
 */
const FAMILY = "image_files:playlist:{uid}";
const ABSENT_FAMILY = "image_files:public:{uid}";
const PATHS = [
  { path: "shield", env: undefined },
  { path: "in-isolate", env: envWith({}) },
] as const;

async function playlist(uid: string, options: { now?: number; env?: Record<string, unknown> } = {}): Promise<Response> {
  const now = options.now ?? wallNow();
  const headers = { authorization: `bearer ${await resourceToken("image", uid, now)}` };
  return edge(`/api/1/image_files/playlist/${uid}`, { headers }, { now, ...(options.env === undefined ? {} : { env: options.env }) });
}

/** `?public=true`: no credential; the is-public bit decides (a family that remembers absences). */
function publicPlaylist(uid: string, options: { now?: number; env?: Record<string, unknown> } = {}): Promise<Response> {
  return edge(`/api/1/image_files/playlist/${uid}?public=true`, {}, { now: options.now ?? wallNow(), ...(options.env === undefined ? {} : { env: options.env }) });
}

async function admin(method: string, path: string, body?: BodyInit, contentType = "application/octet-stream"): Promise<Response> {
  const headers = { authorization: `bearer ${await adminToken(wallNow())}`, "content-type": contentType };
  return edge(`/_edge/v1${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
}

describe.each(PATHS)("misses on random keys ($path fill path)", ({ env: workerEnv }) => {
  // Without the binding the Worker says once per isolate that fills coalesce per isolate only.
  let warn: MockInstance<typeof console.warn>;
  beforeAll(() => {
    warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
  });
  afterAll(() => {
    for (const call of warn.mock.calls) expect(String(call[0])).toContain("FAMILY_SHIELD binding absent");
    warn.mockRestore();
  });

  it("an absent answer is remembered for its lifetime, never served as a value, and dropped by an admin PUT", async () => {
    const uid = uniqueId("oseh_if_absent");
    const key = `image_files:public:${uid}`;
    const now = wallNow();
    const opts = { now, ...(workerEnv === undefined ? {} : { env: workerEnv }) };
    await setFault(key, { kind: "absent" }); // the dev origin plays a uid it has no value for
    const before = await edgeStats();
    const first = await publicPlaylist(uid, opts);
    const firstBody = await first.text();
    expect(await fillCount(key)).toBe(1);
    for (let i = 0; i < 5; i++) {
      const again = await publicPlaylist(uid, opts);
      expect(again.status).toBe(first.status);
      expect(await again.text()).toBe(firstBody);
    }
    expect(await fillCount(key)).toBe(1);
    expect(counter(await edgeStats(), "families", ABSENT_FAMILY, "absentHits") - counter(before, "families", ABSENT_FAMILY, "absentHits")).toBe(5);
    expect(await env.CACHE.get(key)).toBeNull(); // nothing stored for an absence

    // Past the lifetime the origin is asked again.
    await publicPlaylist(uid, { ...opts, now: now + ABSENT_LIFETIME_SECONDS });
    expect(await fillCount(key)).toBe(2);

    // An admin PUT of the key is served at once, not hidden by the remembered absence.
    expect((await admin("PUT", `/keys/${key}`, "1")).status).toBe(204);
    const served = await publicPlaylist(uid, { ...opts, now: now + ABSENT_LIFETIME_SECONDS });
    expect(served.status).toBe(200);
    expect(await fillCount(key)).toBe(2);
  });

  it("a family whose backend asks its database on every miss remembers nothing: each miss asks the origin", async () => {
    const uid = uniqueId("oseh_if_absent");
    const key = `image_files:playlist:${uid}`;
    const opts = workerEnv === undefined ? {} : { env: workerEnv };
    await setFault(key, { kind: "absent" });
    for (let i = 0; i < 3; i++) await playlist(uid, opts);
    expect(await fillCount(key)).toBe(3);
  });

  it("an admin purge drops remembered absences", async () => {
    const uid = uniqueId("oseh_if_absent");
    const key = `image_files:public:${uid}`;
    const opts = workerEnv === undefined ? {} : { env: workerEnv };
    await setFault(key, { kind: "absent" });
    await publicPlaylist(uid, opts);
    await publicPlaylist(uid, opts);
    expect(await fillCount(key)).toBe(1);
    const purge = await admin("POST", "/purge", JSON.stringify({ keys: [key] }), "application/json");
    expect(purge.status).toBe(200);
    await publicPlaylist(uid, opts);
    expect(await fillCount(key)).toBe(2);
  });

  it(`at most ${FILL_BUDGET_PER_FAMILY} fills of one family in flight: the rest pass through, unfilled; a hot key is never refused`, async () => {
    const uids = Array.from({ length: FILL_BUDGET_PER_FAMILY + 6 }, () => uniqueId("oseh_if_budget"));
    for (const uid of uids) await setFault(`image_files:playlist:${uid}`, { kind: "slow", ms: 1500 });
    const before = await edgeStats();
    const opts = workerEnv === undefined ? {} : { env: workerEnv };
    const answers = await Promise.all(uids.map((uid) => playlist(uid, opts)));
    const statuses = await Promise.all(answers.map(async (answer) => (await answer.arrayBuffer(), answer.status)));
    let fills = 0;
    for (const uid of uids) fills += await fillCount(`image_files:playlist:${uid}`);
    expect(fills).toBe(FILL_BUDGET_PER_FAMILY);
    expect(counter(await edgeStats(), "families", FAMILY, "fillsRefused") - counter(before, "families", FAMILY, "fillsRefused")).toBe(6);
    // The refused ones were passed through: the origin answered each itself (no 5xx from the edge).
    expect(statuses.every((status) => status < 500)).toBe(true);

    // Many concurrent misses of one key join its fill and take one slot.
    const hot = uniqueId("oseh_if_budget");
    await setFault(`image_files:playlist:${hot}`, { kind: "slow", ms: 500 });
    const hotBefore = await edgeStats();
    await Promise.all(Array.from({ length: FILL_BUDGET_PER_FAMILY * 2 }, () => playlist(hot, opts).then((r) => r.arrayBuffer())));
    expect(counter(await edgeStats(), "families", FAMILY, "fillsRefused") - counter(hotBefore, "families", FAMILY, "fillsRefused")).toBe(0);
  });
});

describe("failed admin-API auth: inputs the limiter does not count", () => {
  it("a request without CF-Connecting-IP (or an empty one) is never limited: it came through no Cloudflare front", async () => {
    for (const headers of [{}, { "CF-Connecting-IP": "" }] as Record<string, string>[]) {
      const statuses: number[] = [];
      for (let i = 0; i < LIMIT + 2; i++) statuses.push((await families({ authorization: "bearer not.a.token", ...headers })).status);
      expect(statuses).toEqual(Array(LIMIT + 2).fill(403));
    }
  });

  it("successful logins are not counted: an operator's valid calls never use up the limit", async () => {
    await awayFromWindowEdge();
    const ip = `203.0.113.${Math.floor(Math.random() * 250) + 1}`;
    const token = await adminToken(wallNow());
    for (let i = 0; i < LIMIT + 2; i++) expect((await families({ authorization: `bearer ${token}`, "CF-Connecting-IP": ip })).status).toBe(200);
    expect((await families({ authorization: "bearer not.a.token", "CF-Connecting-IP": ip })).status).toBe(403);
  });

  it("a limiter that throws leaves the refusal as it was (logged), never a 500 or a pass", async () => {
    const real = (env as unknown as { ADMIN_AUTH_LIMITER: RateLimit }).ADMIN_AUTH_LIMITER;
    // Wraps the real binding: every call reaches it, and then fails as an overloaded binding would.
    const failing: RateLimit = { limit: async (options) => (await real.limit(options), Promise.reject(new Error("limiter unavailable"))) };
    const { result, lines } = await captureLogs(() =>
      edge("/_edge/v1/families", { headers: { authorization: "bearer not.a.token", "CF-Connecting-IP": "192.0.2.7" } }, { env: envWith({ ADMIN_AUTH_LIMITER: failing }) }),
    );
    expect(result.status).toBe(403);
    expect(lines.filter((line) => line.includes("admin auth limiter failed"))).toEqual([
      JSON.stringify({ msg: "admin auth limiter failed", error: "Error", message: "limiter unavailable" }),
    ]);
  });
});

describe("Durable Object unavailable", () => {
  it("through the Worker's fetch: a miss is answered from the origin and nothing is stored", async () => {
    const binding = (env as unknown as { FAMILY_SHIELD: DurableObjectNamespace }).FAMILY_SHIELD;
    // Wraps the real namespace; only its objects' calls fail, as an overloaded object's would.
    const down = new Proxy(binding, {
      get(target, prop, receiver) {
        if (prop !== "get") {
          const real = Reflect.get(target, prop, receiver) as unknown;
          return typeof real === "function" ? (real as (...args: unknown[]) => unknown).bind(target) : real;
        }
        return () => new Proxy({}, { get: () => () => Promise.reject(new Error("Durable Object is overloaded")) });
      },
    });
    const uid = uniqueId("oseh_if_down");
    const key = `image_files:playlist:${uid}`;
    const { result, lines } = await captureLogs(() => playlist(uid, { env: { ...(env as unknown as Record<string, unknown>), FAMILY_SHIELD: down } }));
    expect(result.status).toBe(200);
    expect(result.headers.get("cache-status")).toContain("fwd=miss");
    expect(await fillCount(key)).toBe(1);
    expect(await env.CACHE.get(key)).toBeNull();
    expect(lines).toContain('{"msg":"shield unavailable; filling without storing","family":"image_files:playlist:{uid}","error":"Error","message":"Durable Object is overloaded"}');
  });
});

describe("fill budget on a delegated render", () => {
  it("past the template family's budget a delegated render answers 503 busy with Retry-After, and makes no fill", async () => {
    const delegate = (uid: string) =>
      edge("/api/1/dev/delegate", { method: "POST", body: JSON.stringify({ key: `journeys:external:${uid}`, jwt: "a.b.c" }), headers: devControlHeaders() }, { env: envWith({}) });
    const held = Array.from({ length: FILL_BUDGET_PER_FAMILY }, () => uniqueId("oseh_j_budget"));
    for (const uid of held) await setFault(`journeys:external:${uid}`, { kind: "slow", ms: 1500 });
    const { result } = await captureLogs(async () => {
      const holding = held.map((uid) => delegate(uid).then((response) => response.arrayBuffer()));
      await new Promise((resolve) => setTimeout(resolve, 500)); // the held fills are in flight
      const refused = uniqueId("oseh_j_budget");
      const response = await delegate(refused);
      await Promise.all(holding);
      return { response, body: (await response.json()) as { type: string }, fills: await fillCount(`journeys:external:${refused}`) };
    });
    expect(result.response.status).toBe(503);
    expect(result.response.headers.get("retry-after")).toBe("1");
    expect(result.body.type).toBe("busy");
    expect(result.fills).toBe(0);
  });
});
