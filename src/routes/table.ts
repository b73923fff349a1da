/**
 * The one place that lists every edge route (DESIGN §7): method + path template → handler.
 * Anything not listed here is not an edge route, and the Worker proxies it to the origin.
 *
 * Paths are matched on the raw pathname, segment by segment, as Starlette does (no trailing-slash
 * redirects: `redirect_slashes` is False). Path params accept only unescaped url-safe characters
 * (every backend uid is `oseh_…` url-safe base64); anything else is left to the origin.
 */
import { ADMIN_ROUTES, ADMIN_PREFIX, type AdminRoute } from "./admin-table";
import { serveAdminRoute, serveTopSharers } from "./admin";
import type { RouteIo } from "./io";
import type { RouteOutcome } from "./respond";
import { serveImagePlaylist, serveMobilePlaylist, serveTranscript, serveVodPlaylist, serveWebPlaylist } from "./resource";

type Handler = (request: Request, params: Readonly<Record<string, string>>, io: RouteIo) => Promise<RouteOutcome>;

export interface EdgeRoute {
  readonly method: "GET" | "POST";
  /** `{name}` is a whole segment; `{name}.ext` a segment with a fixed suffix. */
  readonly path: string;
  readonly handler: Handler;
}

const PATH_PARAM = /^[A-Za-z0-9_-]+$/;

function uidOf(params: Readonly<Record<string, string>>): string {
  return params["uid"] ?? "";
}

function adminEntry(route: AdminRoute): EdgeRoute {
  const name = route.pathEnum?.name;
  return {
    method: "GET",
    path: route.path,
    handler: (request, params, io) => serveAdminRoute(request, route, name === undefined ? null : (params[name] ?? null), io),
  };
}

export const EDGE_ROUTES: readonly EdgeRoute[] = [
  { method: "GET", path: "/api/1/image_files/playlist/{uid}", handler: (r, p, io) => serveImagePlaylist(r, uidOf(p), io) },
  { method: "GET", path: "/api/1/content_files/{uid}/web.json", handler: (r, p, io) => serveWebPlaylist(r, uidOf(p), io) },
  { method: "GET", path: "/api/1/content_files/{uid}/ios.m3u8", handler: (r, p, io) => serveMobilePlaylist(r, uidOf(p), io) },
  { method: "GET", path: "/api/1/content_files/{uid}/android.m3u8", handler: (r, p, io) => serveMobilePlaylist(r, uidOf(p), io) },
  { method: "GET", path: "/api/1/content_files/exports/{uid}.m3u8", handler: (r, p, io) => serveVodPlaylist(r, uidOf(p), io) },
  { method: "GET", path: "/api/1/transcripts/{uid}", handler: (r, p, io) => serveTranscript(r, uidOf(p), io) },
  ...ADMIN_ROUTES.map(adminEntry),
  { method: "POST", path: `${ADMIN_PREFIX}/journey_share_links/top_sharers`, handler: (r, _p, io) => serveTopSharers(r, io) },
];

interface CompiledSegment {
  literal?: string;
  param?: string;
  suffix?: string;
}

interface CompiledRoute {
  route: EdgeRoute;
  segments: CompiledSegment[];
  /** Path enums (admin routes): the values the backend's Literal accepts. */
  enums: Record<string, readonly string[]>;
}

function compile(route: EdgeRoute): CompiledRoute {
  const segments = route.path
    .split("/")
    .slice(1)
    .map((segment): CompiledSegment => {
      const match = /^\{(\w+)\}(.*)$/.exec(segment);
      return match === null ? { literal: segment } : { param: match[1] ?? "", suffix: match[2] ?? "" };
    });
  const enums: Record<string, readonly string[]> = {};
  const admin = ADMIN_ROUTES.find((r) => r.path === route.path);
  if (admin?.pathEnum !== undefined) enums[admin.pathEnum.name] = admin.pathEnum.values;
  return { route, segments, enums };
}

const COMPILED: readonly CompiledRoute[] = EDGE_ROUTES.map(compile);

export interface MatchedRoute {
  route: EdgeRoute;
  params: Readonly<Record<string, string>>;
}

/**
 * Pure: the edge route for this method and raw pathname, or undefined (→ origin). A path enum
 * value outside the backend's Literal is FastAPI's 422, so it is not matched either.
 */
export function matchEdgeRoute(method: string, pathname: string): MatchedRoute | undefined {
  const parts = pathname.split("/").slice(1);
  for (const compiled of COMPILED) {
    if (compiled.route.method !== method || compiled.segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const segment = compiled.segments[i] as CompiledSegment;
      const part = parts[i] as string;
      if (segment.literal !== undefined) {
        ok = part === segment.literal;
        continue;
      }
      const suffix = segment.suffix ?? "";
      const value = part.endsWith(suffix) ? part.slice(0, part.length - suffix.length) : "";
      const allowed = compiled.enums[segment.param ?? ""];
      ok = PATH_PARAM.test(value) && (allowed === undefined || allowed.includes(value));
      if (ok) params[segment.param ?? ""] = value;
    }
    if (ok) return { route: compiled.route, params };
  }
  return undefined;
}
