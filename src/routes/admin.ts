/**
 * The admin group (docs/design.md §7): every admin chart/stats route of the table in `admin-table.ts`,
 * and the top sharers route. Each is: pure plan (window, key, headers) → admin check → load →
 * the stored bytes with the backend's headers.
 */
import { authorizeAdminIdToken, IS_ADMIN_FAMILY } from "../auth/admin-id";
import { decodeU64Gzip } from "../render/u64";
import { planAdminRequest, type AdminRoute } from "./admin-table";
import { JSON_CONTENT_TYPE } from "./content-types";
import type { RouteIo, RouteRequest } from "./io";
import { authOutcome, passthroughOutcome, unreadOutcome, type RouteOutcome } from "./respond";
import { MAX_TOP_SHARERS_BODY_BYTES, planTopSharers } from "./top-sharers-plan";
import { readSmallBody, withForward } from "./request-body";

/** auth_admin runs after the request's own validation; a failure or a user token ends here. */
async function checkAdmin(request: Request, io: RouteIo): Promise<RouteOutcome | null> {
  const admin = await authorizeAdminIdToken(request, { tokens: io.tokens, readBit: (sub) => io.read(IS_ADMIN_FAMILY, [sub]) }, io.now);
  switch (admin.kind) {
    case "admin":
      return null;
    case "failure":
      return authOutcome(admin.failure);
    case "passthrough":
      return passthroughOutcome(admin.reason);
    default:
      return admin satisfies never;
  }
}

/** Nothing to serve (e.g. utm stats with no DB rows): the origin computes its uncached answer. */
const NO_VALUE = passthroughOutcome("the origin has no value for this window");

/** One admin chart/stats route of the table, with `pathValue` the path enum (if any). */
export async function serveAdminRoute({ request, url }: RouteRequest, route: AdminRoute, pathValue: string | null, io: RouteIo): Promise<RouteOutcome> {
  const plan = planAdminRequest(route, { pathValue, query: url.searchParams, pragma: request.headers.get("pragma") }, io.now);
  if (plan.kind === "passthrough") return passthroughOutcome(plan.reason);
  const denied = await checkAdmin(request, io);
  if (denied !== null) return denied;
  const loaded = await io.read(plan.family, plan.values, plan.refresh ? { refresh: true } : {});
  if (loaded.kind !== "value") return unreadOutcome(loaded, NO_VALUE);
  return { kind: "body", body: loaded.value.bytes, headers: plan.headers, read: loaded };
}

/** `POST /api/1/admin/journey_share_links/top_sharers` (docs/block-format.md §6). */
export async function serveTopSharers(request: Request, io: RouteIo): Promise<RouteOutcome> {
  const { text, forward } = await readSmallBody(request, MAX_TOP_SHARERS_BODY_BYTES);
  if (text === null) return passthroughOutcome("body too large or not UTF-8", forward);
  const plan = planTopSharers(text, request.headers.get("content-type"), io.now);
  if (plan.kind === "passthrough") return passthroughOutcome(plan.reason, forward);
  const denied = await checkAdmin(request, io);
  if (denied !== null) return withForward(denied, forward);
  const loaded = await io.read("journey_share_links:top_sharers:{start}:{end}", plan.values);
  if (loaded.kind !== "value") return withForward(unreadOutcome(loaded, NO_VALUE), forward);
  const gzip = decodeU64Gzip(loaded.value.bytes);
  if (!gzip.ok) return passthroughOutcome(`stored top sharers are malformed: ${gzip.failure.message}`, forward);
  return {
    kind: "body",
    body: gzip.blob,
    headers: [
      ["Content-Type", JSON_CONTENT_TYPE],
      ["Content-Encoding", "gzip"],
    ],
    read: loaded,
  };
}
