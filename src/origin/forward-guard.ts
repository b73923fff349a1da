/**
 * Paths the edge never forwards (docs/security.md "origin-only paths"). The origin's
 * `/api/1/edge/` endpoints answer only the edge's own calls; a client must not reach them through
 * the passthrough under any spelling. The origin (Starlette behind uvicorn) routes on the
 * percent-decoded path, so `/api/1/edge%2Fvalues/…`, `/api/1/%65dge/…` or
 * `/api/1/x/%2e%2e/edge/…` would reach the same endpoint as `/api/1/edge/…`. The check therefore
 * looks at the path the way any server might route it: percent-decoded (repeatedly, for double
 * encodings), backslashes as slashes, repeated slashes collapsed, dot segments resolved, case
 * folded. Pure.
 */

/** The origin's namespace for edge-only endpoints (the values endpoint lives under it). */
export const ORIGIN_ONLY_PREFIX = "/api/1/edge";

/** Decodings beyond this are not a path anyone routes; treat such a path as suspect. */
const MAX_DECODE_ROUNDS = 4;

/** `%XX` escapes decoded byte-wise as Latin-1; invalid escapes stay as they are (never throws). */
function percentDecode(path: string): string {
  return path.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** RFC 3986 §5.2.4 on `/`-separated segments, after collapsing `//` and reading `\` as `/`. */
function resolveDotSegments(path: string): string {
  const out: string[] = [];
  for (const segment of path.replace(/\\/g, "/").split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  return `/${out.join("/")}`;
}

function isUnderPrefix(path: string): boolean {
  const normalised = resolveDotSegments(path).toLowerCase();
  return normalised === ORIGIN_ONLY_PREFIX || normalised.startsWith(`${ORIGIN_ONLY_PREFIX}/`);
}

/** True when a server routing `pathname` (as received, escapes kept) could land under `/api/1/edge/`. */
export function isOriginOnlyPath(pathname: string): boolean {
  let path = pathname;
  for (let round = 0; round <= MAX_DECODE_ROUNDS; round++) {
    if (isUnderPrefix(path)) return true;
    const decoded = percentDecode(path);
    if (decoded === path) return false;
    path = decoded;
  }
  // Still changing after several decodings: nothing legitimate is spelled like that.
  return true;
}
