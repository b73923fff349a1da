/**
 * The token table (docs/reliability.md "Tokens"): every way a bearer token can be wrong, on the
 * resource routes, the admin routes (both with the backend's exact 401/403 bodies, as its
 * `auth_presigned` / `auth_id` answer them: PyJWT, `algorithms=["HS256"]`, leeway 0) and the
 * edge's own admin API (status and `type`). A refused request never reaches the origin.
 */
import { generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { AUTH_BODIES } from "../../src/auth/bearer";
import { fillCount } from "../helpers/dev-origin";
import { adminToken, idToken, signToken, TEST_SECRETS, unsignedToken } from "../helpers/tokens";
import { uniqueId } from "../helpers/worker";
import { edge, wallNow } from "./helpers";

type Expect = "ok" | "not_set" | "bad_format" | "invalid" | "origin";

interface TokenCase {
  name: string;
  /** The Authorization header for a request about `sub` at `now` (null: none). */
  header: (sub: string, now: number) => Promise<string | null>;
  expect: Expect;
}

const rsaKey = generateKeyPair("RS256");

async function rs256(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "RS256", typ: "JWT" }).sign((await rsaKey).privateKey);
}

/** The claims a route would accept; cases change one thing. */
function claimsFor(aud: string, sub: string, now: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const claims: Record<string, unknown> = { sub, iss: "oseh", aud, iat: now - 1, exp: now + 1800, ...overrides };
  for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete claims[name];
  return claims;
}

/** The cases every backend-rule route shares, for a family with `secret` and `aud`. */
function commonCases(secret: string, aud: string, extra: Record<string, unknown> = {}): TokenCase[] {
  const hs = (overrides: Record<string, unknown>, options: { secret?: string; alg?: "HS256" | "HS512" } = {}) => async (sub: string, now: number) =>
    `bearer ${await signToken({ secret: options.secret ?? secret, alg: options.alg ?? "HS256", claims: claimsFor(aud, sub, now, { ...extra, ...overrides }) })}`;
  return [
    { name: "valid", header: hs({}), expect: "ok" },
    { name: "no header", header: async () => null, expect: "not_set" },
    { name: "capital Bearer", header: async (sub, now) => (await hs({})(sub, now)).replace("bearer ", "Bearer "), expect: "bad_format" },
    { name: "another scheme", header: async (sub, now) => (await hs({})(sub, now)).replace("bearer ", "Basic "), expect: "bad_format" },
    { name: "alg none", header: async (sub, now) => `bearer ${unsignedToken(claimsFor(aud, sub, now, extra))}`, expect: "invalid" },
    { name: "alg HS512 (same secret)", header: hs({}, { alg: "HS512" }), expect: "invalid" },
    { name: "alg RS256", header: async (sub, now) => `bearer ${await rs256(claimsFor(aud, sub, now, extra))}`, expect: "invalid" },
    { name: "wrong aud", header: hs({ aud: `${aud}-other` }), expect: "invalid" },
    { name: "missing aud", header: hs({ aud: undefined }), expect: "invalid" },
    { name: "wrong iss", header: hs({ iss: "oseh-other" }), expect: "invalid" },
    { name: "missing iss", header: hs({ iss: undefined }), expect: "invalid" },
    { name: "expired", header: async (sub, now) => hs({ iat: now - 3600, exp: now - 1 })(sub, now), expect: "invalid" },
    { name: "exp == now", header: async (sub, now) => hs({ exp: now })(sub, now), expect: "invalid" },
    { name: "nbf in the future", header: async (sub, now) => hs({ nbf: now + 60 })(sub, now), expect: "invalid" },
    { name: "iat in the future", header: async (sub, now) => hs({ iat: now + 60 })(sub, now), expect: "invalid" },
    { name: "a 16 KB token", header: async () => `bearer ${"A".repeat(8 * 1024)}.${"B".repeat(8 * 1024)}.C`, expect: "invalid" },
    { name: "signed with another family's secret", header: hs({}, { secret: secret === TEST_SECRETS.content ? TEST_SECRETS.image : TEST_SECRETS.content }), expect: "invalid" },
  ];
}

const STATUS: Record<Exclude<Expect, "ok" | "origin">, number> = { not_set: 401, bad_format: 401, invalid: 403 };

async function expectBackendAnswer(response: Response, expected: Expect): Promise<void> {
  if (expected === "ok") {
    expect(response.status).toBe(200);
    return;
  }
  if (expected === "origin") {
    // Passed through: the origin judges (the dev origin has no such route and says so).
    expect(response.headers.get("cache-status")).toBe("oseh-edge; fwd=bypass");
    return;
  }
  expect([response.status, await response.text()]).toEqual([STATUS[expected], AUTH_BODIES[expected]]);
}

interface ResourceRoute {
  name: string;
  path: (uid: string) => string;
  uid: () => string;
  secret: string;
  aud: string;
  /** A token for another resource kind on the same uid. */
  foreign: { secret: string; aud: string };
  /**
   * No header and no `?jwt=`: the image route checks `"bearer " + None` (image_files/routes/
   * playlist.py builds the header from the absent query parameter), so it is 403, not 401.
   */
  noHeader: Expect;
}

const RESOURCE_ROUTES: ResourceRoute[] = [
  {
    name: "image playlist",
    path: (uid) => `/api/1/image_files/playlist/${uid}`,
    uid: () => uniqueId("oseh_if_tok"),
    secret: TEST_SECRETS.image,
    aud: "oseh-image",
    foreign: { secret: TEST_SECRETS.content, aud: "oseh-content" },
    noHeader: "invalid",
  },
  {
    name: "content web.json",
    path: (uid) => `/api/1/content_files/${uid}/web.json`,
    uid: () => uniqueId("oseh_cf_tok"),
    secret: TEST_SECRETS.content,
    aud: "oseh-content",
    foreign: { secret: TEST_SECRETS.image, aud: "oseh-image" },
    noHeader: "not_set",
  },
];

describe.each(RESOURCE_ROUTES)("resource route: $name", (route) => {
  const uid = route.uid();
  const cases: TokenCase[] = [
    ...commonCases(route.secret, route.aud).map((c) => (c.name === "no header" ? { ...c, expect: route.noHeader } : c)),
    {
      name: "sub mismatch (a token for another uid)",
      header: async (_sub, now) => `bearer ${await signToken({ secret: route.secret, claims: claimsFor(route.aud, `${uid}x`, now) })}`,
      expect: "invalid",
    },
    {
      name: "a token for another resource kind",
      header: async (sub, now) => `bearer ${await signToken({ secret: route.foreign.secret, claims: claimsFor(route.foreign.aud, sub, now) })}`,
      expect: "invalid",
    },
    // A space is outside the JWT alphabet, which PyJWT's lenient base64 may skip: the origin judges.
    { name: "extra spaces after bearer", header: async (sub, now) => `bearer  ${await signToken({ secret: route.secret, claims: claimsFor(route.aud, sub, now) })}`, expect: "origin" },
  ];
  // Refusals first, then the valid token: the origin must not have been asked before it.
  const ordered = [...cases.filter((c) => c.expect !== "ok"), ...cases.filter((c) => c.expect === "ok")];

  it.each(ordered)("$name → $expect", async (tokenCase) => {
    const now = wallNow();
    const header = await tokenCase.header(uid, now);
    const response = await edge(route.path(uid), { headers: header === null ? {} : { authorization: header } }, { now });
    await expectBackendAnswer(response, tokenCase.expect);
    if (tokenCase.expect !== "ok") {
      const family = route.name === "image playlist" ? `image_files:playlist:${uid}` : `content_files:playlists:web:${uid}`;
      expect(await fillCount(family)).toBe(0);
    }
  });
});

describe("admin routes (id tokens, auth:is_admin)", () => {
  const ADMIN = "oseh_u_devAdmin0000000000001";
  const USER = "oseh_u_devUser00000000000001";
  const PATH = "/api/1/admin/daily_active_users";
  const withJti = { jti: "jti-table" };
  const cases: TokenCase[] = [
    ...commonCases(TEST_SECRETS.id, "oseh-id", withJti),
    { name: "missing jti", header: async (sub, now) => `bearer ${await idToken(sub, now, { jti: undefined })}`, expect: "invalid" },
    { name: "iat before 1679589900", header: async (sub, now) => `bearer ${await idToken(sub, now, { iat: 1679589899 })}`, expect: "invalid" },
    { name: "a non-admin's id token", header: async (_sub, now) => `bearer ${await idToken(USER, now)}`, expect: "invalid" },
    { name: "a resource token", header: async (sub, now) => `bearer ${await signToken({ secret: TEST_SECRETS.image, claims: claimsFor("oseh-image", sub, now) })}`, expect: "invalid" },
    // PyJWT skips characters outside the base64 alphabet, so the edge lets the origin judge these.
    { name: "extra spaces after bearer", header: async (sub, now) => `bearer  ${await idToken(sub, now)}`, expect: "origin" },
  ];

  it.each(cases)("$name → $expect", async (tokenCase) => {
    const now = wallNow();
    const header = await tokenCase.header(ADMIN, now);
    const response = await edge(PATH, { headers: header === null ? {} : { authorization: header } }, { now });
    await expectBackendAnswer(response, tokenCase.expect);
  });
});

describe("the admin API (service tokens and admins' id tokens)", () => {
  const hs = (overrides: Record<string, unknown>, options: { secret?: string; alg?: "HS256" | "HS512" } = {}) => async (now: number) =>
    `bearer ${await signToken({ secret: options.secret ?? TEST_SECRETS.edgeAdmin, alg: options.alg ?? "HS256", claims: claimsFor("oseh-edge-admin", "ops", now, { exp: now + 600, ...overrides }) })}`;
  const cases: { name: string; header: (now: number) => Promise<string | null>; status: number; type?: string }[] = [
    { name: "valid service token", header: async (now) => `bearer ${await adminToken(now)}`, status: 200 },
    { name: "an admin's id token", header: async (now) => `bearer ${await idToken("oseh_u_devAdmin0000000000001", now)}`, status: 200 },
    { name: "no header", header: async () => null, status: 401, type: "not_set" },
    { name: "another scheme", header: async (now) => (await hs({})(now)).replace("bearer ", "Basic "), status: 401, type: "bad_format" },
    // The edge's own API takes the scheme in any case and any run of spaces (RFC 9110 §11.1).
    { name: "capital Bearer", header: async (now) => `Bearer ${await adminToken(now)}`, status: 200 },
    { name: "extra spaces after bearer", header: async (now) => `bearer   ${await adminToken(now)}`, status: 200 },
    { name: "alg none", header: async (now) => `bearer ${unsignedToken(claimsFor("oseh-edge-admin", "ops", now))}`, status: 403, type: "invalid" },
    { name: "alg HS512", header: hs({}, { alg: "HS512" }), status: 403, type: "invalid" },
    { name: "alg RS256", header: async (now) => `bearer ${await rs256(claimsFor("oseh-edge-admin", "ops", now))}`, status: 403, type: "invalid" },
    { name: "wrong aud", header: hs({ aud: "oseh-edge-values" }), status: 403, type: "invalid" },
    { name: "missing aud", header: hs({ aud: undefined }), status: 403, type: "invalid" },
    { name: "wrong iss", header: hs({ iss: "oseh-other" }), status: 403, type: "invalid" },
    { name: "missing iss", header: hs({ iss: undefined }), status: 403, type: "invalid" },
    { name: "expired", header: async (now) => hs({ exp: now - 1 })(now), status: 403, type: "invalid" },
    { name: "exp == now", header: async (now) => hs({ exp: now })(now), status: 403, type: "invalid" },
    { name: "nbf in the future", header: async (now) => hs({ nbf: now + 60 })(now), status: 403, type: "invalid" },
    { name: "a 16 KB token", header: async () => `bearer ${"A".repeat(8 * 1024)}.${"B".repeat(8 * 1024)}.C`, status: 403, type: "invalid" },
    { name: "signed with another secret", header: hs({}, { secret: TEST_SECRETS.edgeOrigin }), status: 403, type: "invalid" },
    { name: "a non-admin's id token", header: async (now) => `bearer ${await idToken("oseh_u_devUser00000000000001", now)}`, status: 403, type: "invalid" },
    { name: "a resource token", header: async (now) => `bearer ${await signToken({ secret: TEST_SECRETS.image, claims: claimsFor("oseh-image", "ops", now) })}`, status: 403, type: "invalid" },
  ];

  it.each(cases)("$name → $status", async (tokenCase) => {
    const now = wallNow();
    const header = await tokenCase.header(now);
    const response = await edge("/_edge/v1/families", { headers: header === null ? {} : { authorization: header } }, { now });
    expect(response.status).toBe(tokenCase.status);
    if (tokenCase.type !== undefined) expect(((await response.json()) as { type: string }).type).toBe(tokenCase.type);
  });
});
