/**
 * One key through the route IO, with the outcomes every route group handles the same way: a key
 * the registry refuses, or a family the edge cannot answer for now, is a passthrough.
 */
import type { LoadOptions, RouteIo } from "./io";
import { routeKey } from "./keys";
import { passthroughOutcome, type RouteOutcome } from "./respond";

export type Loaded =
  | { ok: true; bytes: Uint8Array; cacheStatus: string; stale: boolean }
  | { ok: false; outcome: RouteOutcome }
  | { ok: false; absent: true; cacheStatus: string };

/** Load one key; a refused key or an unavailable family is a passthrough. */
export async function loadKey(io: RouteIo, family: string, values: readonly string[], options?: LoadOptions): Promise<Loaded> {
  const key = routeKey(family, values);
  if (!key.ok) return { ok: false, outcome: passthroughOutcome(key.reason) };
  const loaded = await io.load(key.key, key.family, options);
  switch (loaded.kind) {
    case "value":
      return { ok: true, bytes: loaded.bytes, cacheStatus: loaded.cacheStatus, stale: loaded.stale === true };
    case "absent":
      return { ok: false, absent: true, cacheStatus: loaded.cacheStatus };
    case "passthrough":
      return { ok: false, outcome: passthroughOutcome(loaded.reason) };
    default:
      return loaded satisfies never;
  }
}
