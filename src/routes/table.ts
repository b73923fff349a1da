/**
 * The one place that lists every edge route (docs/routes.md): method + path template → handler.
 * Anything not listed here is not an edge route, and the Worker proxies it to the origin.
 *
 * Matching is Starlette's: the routes are tried in the backend's registration order (main.py
 * includes image_files, then content_files, then admin, then interactive_prompts, then emotions,
 * then transcripts; content_files/router.py includes the exports router before its own routes) and
 * the first whose method and path match wins. A `{param}` matches any non-empty segment (Starlette's `[^/]+`), so the order decides
 * between overlapping templates: `GET /api/1/content_files/exports/ios.m3u8` is the VOD route
 * with uid `ios`, not the mobile playlist of a content file `exports`. Backend routes the edge
 * does not serve but which come first and overlap an edge route are listed as origin rows, so
 * their paths go to the origin. There are no trailing-slash redirects (`redirect_slashes` is
 * False).
 *
 * Once matched, path params the edge answers for must be unescaped url-safe text (every backend
 * uid is `oseh_…` url-safe base64) and path enums one of the backend's Literal values; anything
 * else (another spelling, FastAPI's 422) is left to the origin.
 */
import { ADMIN_ROUTES, ADMIN_PREFIX, type AdminRoute } from "./admin-table";
import { serveAdminRoute, serveTopSharers } from "./admin";
import type { RouteIo, RouteRequest } from "./io";
import type { RouteOutcome } from "./respond";
import { servePersonalizedEmotions } from "./emotions";
import { serveEmailImage, serveExportPart, serveImageExport } from "./media";
import { serveProfilePictures } from "./profile-pictures";
import { serveImagePlaylist, serveMobilePlaylist, serveTranscript, serveVodPlaylist, serveWebPlaylist } from "./resource";

type Handler = (route: RouteRequest, io: RouteIo) => Promise<RouteOutcome>;

export interface EdgeRoute {
  readonly method: "GET" | "POST";
  /**
   * `{name}` is a whole segment; `{name}.ext` a segment with a fixed suffix; `{name}.{ext}` two
   * params split at the last dot (Starlette's greedy `(?P<name>[^/]+)\.(?P<ext>[^/]+)`).
   */
  readonly path: string;
  /** `null`: a backend route the edge leaves to the origin (it shadows a later edge route). */
  readonly handler: Handler | null;
}

const PATH_PARAM = /^[A-Za-z0-9_-]+$/;

function uidOf(route: RouteRequest): string {
  return route.params["uid"] ?? "";
}

function adminEntry(admin: AdminRoute): EdgeRoute {
  const name = admin.pathEnum?.name;
  return {
    method: "GET",
    path: admin.path,
    handler: (route, io) => serveAdminRoute(route, admin, name === undefined ? null : (route.params[name] ?? null), io),
  };
}

export const EDGE_ROUTES: readonly EdgeRoute[] = [
  // image_files/router.py: dev_show, image/{uid}.{ext}, playlist, image/email/{uid}.{ext}; none
  // of them overlap (the segment counts differ).
  { method: "GET", path: "/api/1/image_files/image/{uid}.{ext}", handler: (r, io) => serveImageExport(r, uidOf(r), io) },
  { method: "GET", path: "/api/1/image_files/playlist/{uid}", handler: (r, io) => serveImagePlaylist(r, uidOf(r), io) },
  { method: "GET", path: "/api/1/image_files/image/email/{uid}.{ext}", handler: (r, io) => serveEmailImage(r, uidOf(r), r.params["ext"] ?? "", io) },
  // content_files/router.py: exports (prefix /exports) first, then dev_show, web.json, android, ios.
  { method: "GET", path: "/api/1/content_files/exports/parts/{uid}.{ext}", handler: (r, io) => serveExportPart(r, uidOf(r), io) },
  { method: "GET", path: "/api/1/content_files/exports/{uid}.m3u8", handler: (r, io) => serveVodPlaylist(r, uidOf(r), io) },
  { method: "GET", path: "/api/1/content_files/dev_show/{uid}", handler: null },
  { method: "GET", path: "/api/1/content_files/{uid}/web.json", handler: (r, io) => serveWebPlaylist(r, uidOf(r), io) },
  { method: "GET", path: "/api/1/content_files/{uid}/android.m3u8", handler: (r, io) => serveMobilePlaylist(r, uidOf(r), io) },
  { method: "GET", path: "/api/1/content_files/{uid}/ios.m3u8", handler: (r, io) => serveMobilePlaylist(r, uidOf(r), io) },
  // admin/router.py: no two admin templates overlap.
  ...ADMIN_ROUTES.map(adminEntry),
  { method: "POST", path: `${ADMIN_PREFIX}/journey_share_links/top_sharers`, handler: (r, io) => serveTopSharers(r.request, io) },
  // interactive_prompts/router.py: profile_pictures first; no template before it overlaps.
  { method: "POST", path: "/api/1/interactive_prompts/profile_pictures", handler: serveProfilePictures },
  // emotions/router.py: GET /, POST /search, then POST /personalized; none overlaps it.
  { method: "POST", path: "/api/1/emotions/personalized", handler: servePersonalizedEmotions },
  { method: "GET", path: "/api/1/transcripts/{uid}", handler: (r, io) => serveTranscript(r, uidOf(r), io) },
];

interface CompiledSegment {
  literal?: string;
  param?: string;
  /** The second param of `{name}.{ext}`. */
  extParam?: string;
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
      const withExt = /^\{(\w+)\}\.\{(\w+)\}$/.exec(segment);
      if (withExt !== null) return { param: withExt[1] ?? "", extParam: withExt[2] ?? "" };
      const match = /^\{(\w+)\}(.*)$/.exec(segment);
      return match === null ? { literal: segment } : { param: match[1] ?? "", suffix: match[2] ?? "" };
    });
  const enums: Record<string, readonly string[]> = {};
  const admin = ADMIN_ROUTES.find((r) => r.path === route.path);
  if (admin?.pathEnum !== undefined) enums[admin.pathEnum.name] = admin.pathEnum.values;
  return { route, segments, enums };
}

const COMPILED: readonly CompiledRoute[] = EDGE_ROUTES.map(compile);

/** Starlette's match of one template: the params, or undefined. */
function matchPath(compiled: CompiledRoute, parts: readonly string[]): Record<string, string> | undefined {
  if (compiled.segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const segment = compiled.segments[i] as CompiledSegment;
    const part = parts[i] as string;
    if (segment.literal !== undefined) {
      if (part !== segment.literal) return undefined;
      continue;
    }
    if (segment.extParam !== undefined) {
      // `[^/]+\.[^/]+`, the first greedy: the split is at the last dot.
      const dot = part.lastIndexOf(".");
      if (dot <= 0 || dot === part.length - 1) return undefined;
      params[segment.param ?? ""] = part.slice(0, dot);
      params[segment.extParam] = part.slice(dot + 1);
      continue;
    }
    const suffix = segment.suffix ?? "";
    // `[^/]+` then the suffix, greedy: `a.m3u8.m3u8` is uid `a.m3u8`.
    if (part.length <= suffix.length || !part.endsWith(suffix)) return undefined;
    params[segment.param ?? ""] = part.slice(0, part.length - suffix.length);
  }
  return params;
}

export interface MatchedRoute {
  route: EdgeRoute;
  handler: Handler;
  params: Readonly<Record<string, string>>;
}

/**
 * Pure: the edge route the backend would dispatch this method and raw pathname to, or undefined
 * (→ origin): no route, an origin row first, or params the edge does not answer for.
 */
export function matchEdgeRoute(method: string, pathname: string): MatchedRoute | undefined {
  const parts = pathname.split("/").slice(1);
  for (const compiled of COMPILED) {
    if (compiled.route.method !== method) continue;
    const params = matchPath(compiled, parts);
    if (params === undefined) continue;
    if (compiled.route.handler === null) return undefined;
    for (const [name, value] of Object.entries(params)) {
      const allowed = compiled.enums[name];
      if (!PATH_PARAM.test(value) || (allowed !== undefined && !allowed.includes(value))) return undefined;
    }
    return { route: compiled.route, handler: compiled.route.handler, params };
  }
  return undefined;
}
