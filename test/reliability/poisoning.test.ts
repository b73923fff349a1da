/**
 * Cache poisoning and leaks (docs/reliability.md "Poisoning"): nothing a client adds to a request
 * — the edge's own header namespaces, an odd Host, query tricks, a method override, encoded
 * slashes and dot segments — changes what is stored or what others are served; a `user` family's
 * value is only ever used for its own sub; a `secret` value appears in no response and no log line.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getValue } from "../dev-origin/helpers";
import { devControlHeaders, fillCount } from "../helpers/dev-origin";
import { adminToken, idToken } from "../helpers/tokens";
import { callWorker, uniqueId } from "../helpers/worker";
import { resourceToken } from "../routes/helpers";
import { captureLogs, edge, envWith, wallNow } from "./helpers";

const ADMIN = "oseh_u_devAdmin0000000000001";

async function kvEntry(key: string): Promise<{ bytes: Uint8Array; metadata: Record<string, unknown> | null } | null> {
  const { value, metadata } = await env.CACHE.getWithMetadata<Record<string, unknown>>(key, "arrayBuffer");
  return value === null ? null : { bytes: new Uint8Array(value), metadata };
}

async function originBytes(key: string): Promise<Uint8Array> {
  return new Uint8Array(await (await getValue(key)).arrayBuffer());
}

async function playlistAuth(uid: string, now: number): Promise<Record<string, string>> {
  return { authorization: `bearer ${await resourceToken("image", uid, now)}` };
}

/** Every KV key starting with `prefix`. */
async function kvKeys(prefix: string): Promise<string[]> {
  return (await env.CACHE.list({ prefix })).keys.map((k) => k.name);
}

describe("client headers in the edge's namespaces", () => {
  it("X-Edge-* and X-Oseh-Edge* on a filling request change neither the stored envelope nor what others get", async () => {
    const uid = uniqueId("oseh_if_poison");
    const key = `image_files:playlist:${uid}`;
    const now = wallNow();
    const hostile = {
      ...(await playlistAuth(uid, now)),
      "X-Edge-Expires-At": "9999999999",
      "X-Edge-Value": "absent",
      "X-Edge-Family": "sticky_random_group_number:{name}",
      "X-Edge-Source-Time": "9999999999",
      "X-Oseh-Edge": "forged",
      "X-Oseh-Edge-Debug": "1",
    };
    const first = await edge(`/api/1/image_files/playlist/${uid}`, { headers: hostile }, { now });
    expect(first.status).toBe(200);
    const stored = await kvEntry(key);
    expect(stored?.bytes).toEqual(await originBytes(key));
    expect(stored?.metadata).toMatchObject({ family: "image_files:playlist:{uid}", codec: "gzip-json" });
    // image playlists live 15 minutes (docs/families.md), not until 2286.
    expect(Number(stored?.metadata?.expiresAt)).toBeLessThanOrEqual(now + 900);
    const second = await edge(`/api/1/image_files/playlist/${uid}`, { headers: await playlistAuth(uid, now) }, { now });
    expect(new Uint8Array(await second.arrayBuffer())).toEqual(stored?.bytes);
  });
});

describe("odd Host, query tricks, method override", () => {
  it("a fill through another Host stores the origin's bytes under the same key; the usual host is served those", async () => {
    const uid = uniqueId("oseh_if_host");
    const key = `image_files:playlist:${uid}`;
    const now = wallNow();
    const odd = await callWorker(new Request(`https://evil.example/api/1/image_files/playlist/${uid}`, { headers: { ...(await playlistAuth(uid, now)), Host: "evil.example" } }), undefined, { now });
    expect(odd.status).toBe(200);
    const usual = await edge(`/api/1/image_files/playlist/${uid}`, { headers: await playlistAuth(uid, now) }, { now });
    expect(usual.headers.get("cache-status")).toMatch(/^oseh-edge; hit; detail=l[012]$/);
    expect(new Uint8Array(await usual.arrayBuffer())).toEqual(await originBytes(key));
    expect(await kvKeys(`image_files:playlist:${uid}`)).toEqual([key]);
  });

  it("repeated, reordered and unknown query parameters map to the one key; presigned answers are never what is stored", async () => {
    const uid = uniqueId("oseh_if_query");
    const key = `image_files:playlist:${uid}`;
    const now = wallNow();
    const token = await resourceToken("image", uid, now);
    const foreign = await resourceToken("image", `${uid}x`, now);
    // FastAPI reads the last of a repeated scalar parameter, and so does the edge.
    const paths: [string, number][] = [
      [`?jwt=${token}&presign=true&jwt=${foreign}`, 403],
      [`?jwt=${foreign}&presign=true&jwt=${token}`, 200],
      [`?presign=false&presign=true&jwt=${token}&utm=1`, 200],
      [`?jwt=${token}&presign=true`, 200],
      [`?zzz=1&jwt=${token}`, 200],
    ];
    for (const [query, status] of paths) {
      const response = await edge(`/api/1/image_files/playlist/${uid}${query}`, {}, { now });
      expect([query, response.status]).toEqual([query, status]);
    }
    expect(await kvKeys(`image_files:playlist:${uid}`)).toEqual([key]);
    expect(await fillCount(key)).toBe(1);
    expect((await kvEntry(key))?.bytes).toEqual(await originBytes(key));
  });

  it("X-HTTP-Method-Override cannot turn an admin GET into a DELETE, nor a POST into a cached GET", async () => {
    const key = `auth:is_admin:${uniqueId("oseh_u_override")}`;
    const auth = { authorization: `bearer ${await adminToken(wallNow())}` };
    const path = `/_edge/v1/keys/${encodeURIComponent(key)}`;
    expect((await edge(path, { method: "PUT", body: "1", headers: auth })).status).toBe(204);
    for (const override of ["DELETE", "PUT"]) {
      const response = await edge(path, { headers: { ...auth, "X-HTTP-Method-Override": override, "X-Method-Override": override } });
      expect(response.status).toBe(200);
    }
    expect(await env.CACHE.get(key)).toBe("1");

    const uid = uniqueId("oseh_if_post");
    const now = wallNow();
    const posted = await edge(`/api/1/image_files/playlist/${uid}`, { method: "POST", headers: { ...(await playlistAuth(uid, now)), "X-HTTP-Method-Override": "GET" } }, { now });
    expect(posted.headers.get("cache-status")).toBe("oseh-edge; fwd=bypass");
    expect(await kvKeys(`image_files:playlist:${uid}`)).toEqual([]);
  });
});

describe("encoded slashes and dot segments", () => {
  it("never reach another key: refused or passed through, nothing stored under a crafted key", async () => {
    const uid = uniqueId("oseh_if_dots");
    const now = wallNow();
    const auth = await playlistAuth(uid, now);
    const crafted = [
      `/api/1/image_files/playlist/${uid}%2F..%2F..%2Fsecret`,
      `/api/1/image_files/playlist/${uid}%2f%2e%2e`,
      `/api/1/image_files/playlist/..%2F${uid}`,
      `/api/1/image_files/playlist/${uid}/..%2F..`,
      `/api/1/image_files/playlist/${uid}%3Ax`,
    ];
    for (const path of crafted) {
      const response = await edge(path, { headers: auth }, { now });
      expect(response.headers.get("cache-status")).toBe("oseh-edge; fwd=bypass");
    }
    expect(await kvKeys(`image_files:playlist:${uid}`)).toEqual([]);
    expect(await kvKeys("image_files:playlist:..")).toEqual([]);
  });

  it("the admin API refuses keys that decode to another family or to the edge's reserved keys", async () => {
    const auth = { authorization: `bearer ${await adminToken(wallNow())}` };
    const sub = uniqueId("oseh_u_dots");
    const bad = [
      `auth%3Ais_admin%3A${sub}%2F..%2F..`,
      `..%2F_edge%3Agen%3Aauth%3Ais_admin%3A%7Bsub%7D`,
      `_edge%3Agen%3Aauth%3Ais_admin%3A%7Bsub%7D`,
      `auth%3Ais_admin%3A${sub}%3Aextra`,
      `auth%3Ais_admin%3A%252F${sub}`,
    ];
    for (const encoded of bad) {
      const response = await edge(`/_edge/v1/keys/${encoded}`, { method: "PUT", body: "1", headers: auth });
      expect([encoded, response.status]).toEqual([encoded, 400]);
      expect(["bad_key", "unknown_family"]).toContain(((await response.json()) as { type: string }).type);
    }
    expect(await kvKeys(`auth:is_admin:${sub}`)).toEqual([]);
    expect(await env.CACHE.get("_edge:gen:auth:is_admin:{sub}")).not.toBe("1");
  });
});

describe("user families", () => {
  it("one sub's is-admin bit is never used for another sub, nor for a sub that only starts like it", async () => {
    const now = wallNow();
    const adminResponse = await edge("/api/1/admin/daily_active_users", { headers: { authorization: `bearer ${await idToken(ADMIN, now)}` } }, { now });
    expect(adminResponse.status).toBe(200);
    expect(await env.CACHE.get(`auth:is_admin:${ADMIN}`)).toBe("1");

    const other = uniqueId("oseh_u_other");
    const refused = await edge("/api/1/admin/daily_active_users", { headers: { authorization: `bearer ${await idToken(other, now)}` } }, { now });
    expect(refused.status).toBe(403);
    expect(await fillCount(`auth:is_admin:${other}`)).toBe(1);

    // Subs the registry refuses (a suffix after the admin's uid, a separator) are not looked up
    // at all: the origin judges them.
    for (const sub of [`${ADMIN}:x`, `${ADMIN}/`, `${ADMIN} `]) {
      const response = await edge("/api/1/admin/daily_active_users", { headers: { authorization: `bearer ${await idToken(sub, now)}` } }, { now });
      expect([sub, response.headers.get("cache-status")]).toEqual([sub, "oseh-edge; fwd=bypass"]);
    }
  });
});

describe("secret families", () => {
  it("a secret value appears in no response (body or header) and no log line", async () => {
    const key = `sticky_random_group_number:${uniqueId("grp")}`;
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const forms = [
      Array.from(secret, (b) => b.toString(16).padStart(2, "0")).join(""),
      btoa(String.fromCharCode(...secret)),
      btoa(String.fromCharCode(...secret)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
      new TextDecoder("latin1").decode(secret),
    ];
    const auth = { authorization: `bearer ${await adminToken(wallNow())}` };
    const path = `/_edge/v1/keys/${encodeURIComponent(key)}`;
    // With the per-request log line on (the suites turn it off), so it is read too.
    const logged = { env: envWith({ REQUEST_LOG: "on" }) };
    const call = (target: string, init: RequestInit = {}) => edge(target, init, logged);
    const { result: responses, lines } = await captureLogs(async () => {
      const out: Response[] = [];
      out.push(await call(path, { method: "PUT", body: secret, headers: auth }));
      out.push(await call(path, { headers: auth }));
      out.push(await call(path, { method: "PUT", body: secret.slice(0, 31), headers: auth })); // 422, names the length only
      out.push(await call(`/_edge/v1/keys?prefix=${encodeURIComponent(key)}`, { headers: auth }));
      out.push(await call("/_edge/v1/stats", { headers: auth }));
      // The route namespace the L1 copies would live under is never served.
      out.push(await call(`/_edge/l1/0/${encodeURIComponent(key)}`));
      // A failing origin fill and a broken delegation mention the key, never a value.
      out.push(await call("/api/1/dev/delegate", { method: "POST", body: JSON.stringify({ key, jwt: "a.b.c" }), headers: devControlHeaders() }));
      return out;
    });
    expect(responses.map((r) => r.status)).toEqual([204, 403, 422, 200, 200, 404, 502]);
    expect(await env.CACHE.get(key, "arrayBuffer")).not.toBeNull();
    const seen = [...lines];
    for (const response of responses) {
      seen.push(new TextDecoder("latin1").decode(await response.arrayBuffer()));
      for (const [name, value] of response.headers) seen.push(`${name}: ${value}`);
    }
    expect(lines.some((line) => line.includes("sticky_random_group_number"))).toBe(true);
    for (const text of seen) for (const form of forms) expect(text.includes(form)).toBe(false);
  });
});
