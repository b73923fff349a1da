/**
 * Who may call the admin API and what each may do (docs/admin-api.md "Principals",
 * docs/security.md §2): one table from every authenticated route to the principals allowed on it,
 * checked in one place (`refusalFor`) after authentication, before the route's handler runs.
 *
 * - A **service token** (HS256, EDGE_ADMIN_JWT_SECRET, aud `oseh-edge-admin`: the relay, the CLI,
 *   an operator) may do everything.
 * - An **admin's id token** may read and remove, never write: a PUT could store
 *   `auth:is_admin:{sub}` = `1` for any user (the backend's admin routes at the edge read that bit
 *   through the cache, docs/routes.md), or a template the edge then renders with fresh resource
 *   JWTs for any uid it names.
 */
import type { EdgeFailure } from "../errors";

export type Principal =
  /** `sub` is the token's, when it has one (for logs; it grants nothing). */
  | { kind: "service"; sub: string | null }
  /** An id token whose user the origin says is an admin (src/admin/admin-bit.ts). */
  | { kind: "admin-id"; sub: string };

export type PrincipalKind = Principal["kind"];

const ANY_PRINCIPAL = ["service", "admin-id"] as const satisfies readonly PrincipalKind[];
const SERVICE_ONLY = ["service"] as const satisfies readonly PrincipalKind[];

/**
 * Every route of `/_edge/v1` that needs a token, as `METHOD /path` (docs/admin-api.md "Routes"),
 * with the principals allowed on it. `/health` and the status page's shell `/ui` need no token.
 */
export const ADMIN_ROUTE_PRINCIPALS = {
  "GET /families": ANY_PRINCIPAL,
  "GET /keys": ANY_PRINCIPAL,
  "GET /keys/{key}": ANY_PRINCIPAL,
  "PUT /keys/{key}": SERVICE_ONLY,
  "DELETE /keys/{key}": ANY_PRINCIPAL,
  "POST /purge": ANY_PRINCIPAL,
  "GET /stats": ANY_PRINCIPAL,
  "GET /whoami": ANY_PRINCIPAL,
} as const satisfies Record<string, readonly PrincipalKind[]>;

export type AdminRoute = keyof typeof ADMIN_ROUTE_PRINCIPALS;

/** How a principal is named in a refusal, and the rule it is held to. */
const DESCRIPTIONS: Readonly<Record<PrincipalKind, { name: string; rule: string }>> = {
  service: { name: "a service token", rule: "a service token may do everything" },
  "admin-id": { name: "an admin's id token", rule: "an admin's id token may read and remove only" },
};

/** The routes `principal` may call, in the table's order (for `GET /whoami` and the status page). */
export function routesAllowed(principal: Principal): AdminRoute[] {
  return (Object.keys(ADMIN_ROUTE_PRINCIPALS) as AdminRoute[]).filter((route) => isAllowed(route, principal));
}

function isAllowed(route: AdminRoute, principal: Principal): boolean {
  return (ADMIN_ROUTE_PRINCIPALS[route] as readonly PrincipalKind[]).includes(principal.kind);
}

/**
 * Pure: null when `principal` may call `route`; otherwise a 403 `forbidden` whose message names the
 * rule, e.g. "PUT /keys/{key} needs a service token; an admin's id token may read and remove only".
 * (`invalid` stays for credentials that do not authenticate: this one did, it may not do this.)
 */
export function refusalFor(route: AdminRoute, principal: Principal): EdgeFailure | null {
  if (isAllowed(route, principal)) return null;
  const needs = ADMIN_ROUTE_PRINCIPALS[route].map((kind) => DESCRIPTIONS[kind].name).join(" or ");
  return { type: "forbidden", message: `${route} needs ${needs}; ${DESCRIPTIONS[principal.kind].rule}` };
}
