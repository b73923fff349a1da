/**
 * The production RouteIo: the request's EdgeContext wired to the origin module's read-through
 * load (L1 → L2 → values endpoint, stale-if-error) and passthrough proxy.
 */
import type { EdgeContext } from "../context";
import { handleProxied, loadThroughCache, toRouteLoad, type LoadDeps } from "../origin";
import { disabledFamiliesOf, isKeyDisabled } from "../rollout/switches";
import type { RouteIo } from "./io";

/** `now` is read once by the caller, so one request sees one clock reading throughout. */
export function createRouteIo(edge: EdgeContext, now: number): RouteIo {
  const loadDeps: LoadDeps = {
    store: edge.store,
    ...(edge.filler === undefined ? {} : { filler: edge.filler }),
    origin: edge.origin,
    collabMaxSeconds: edge.config.collabMaxSeconds,
    waitUntil: edge.waitUntil,
    guard: edge.guard,
    stats: edge.stats,
  };
  return {
    now,
    tokens: edge.tokens,
    random: edge.random,
    async load(key, family, options) {
      // EDGE_DISABLED_FAMILIES: a route that needs a disabled family is the origin's to answer.
      if (isKeyDisabled(key, disabledFamiliesOf(edge.config))) return { kind: "passthrough", reason: `family ${family.name} is disabled at the edge` };
      const outcome = await loadThroughCache(key, family, now, loadDeps, options ?? {});
      const load = toRouteLoad(outcome);
      return load.kind === "value" && outcome.kind === "value" && outcome.state === "stale" ? { ...load, stale: true } : load;
    },
    async readMedia(key, family, plan) {
      if (edge.media === undefined) return { kind: "passthrough", reason: "no MEDIA bucket bound" };
      return edge.media.read(key, family, now, plan);
    },
    passthrough(request) {
      return handleProxied(request, {
        config: edge.config,
        store: edge.store,
        now: edge.now,
        waitUntil: edge.waitUntil,
        stats: edge.stats,
        origin: edge.origin,
        tokens: edge.tokens,
        templates: edge.templates,
        guard: edge.guard,
        ...(edge.filler === undefined ? {} : { filler: edge.filler }),
      });
    },
  };
}
