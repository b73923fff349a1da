/**
 * The production RouteIo: the colo's `Edge` (src/context.ts) with one request's clock reading,
 * background work, counters and draws. Route inputs name keys through the registry here; a key it
 * refuses is a read the edge cannot answer (`bad_key`), so the origin judges the input.
 */
import type { CacheResult, ReadScope } from "../cache";
import type { Edge } from "../context";
import { keyOf } from "../keys";
import type { MediaBody } from "../media";
import type { RandomSource } from "../util/random";
import type { RouteIo } from "./io";
import { handleProxied } from "./proxied";

/** What one request adds to the colo's `Edge`. */
export interface RouteRequestScope {
  readonly scope: ReadScope;
  readonly random: RandomSource;
  /** The Worker's clock (unix seconds), for tokens minted as a delegated body streams. */
  readonly clock: () => number;
}

const MEDIA_FAMILY = "s3_files:{uid}";

export function createRouteIo(edge: Edge, { scope, random, clock }: RouteRequestScope): RouteIo {
  return {
    now: scope.now,
    tokens: edge.tokens,
    random,
    read(family, values, options) {
      const key = keyOf(family, values);
      if (!key.ok) return Promise.resolve({ kind: "unavailable", reason: "bad_key", message: key.reason });
      return edge.reader.read(key.key, key.family, scope, options);
    },
    async readMedia(uid, plan): Promise<CacheResult<MediaBody>> {
      if (edge.media === undefined) return { kind: "unavailable", reason: "unbound", message: "no MEDIA bucket bound" };
      const key = keyOf(MEDIA_FAMILY, [uid]);
      if (!key.ok) return { kind: "unavailable", reason: "bad_key", message: key.reason };
      return edge.media.read(key.key, key.family, scope, plan);
    },
    passthrough(request) {
      return handleProxied(request, { config: edge.config, origin: edge.origin, tokens: edge.tokens, templates: edge.templates, reader: edge.reader, filler: edge.filler, scope, clock });
    },
  };
}
