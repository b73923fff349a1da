/**
 * What the edge route handlers need from the rest of the Worker, as one narrow interface, so the
 * handlers stay small and testable: the request's clock reading, the token service, the random
 * source, a read-through load of one key, and the passthrough proxy.
 */
import type { TokenService } from "../auth/jwt";
import type { FamilyEntry } from "../keys";
import type { MediaRead, RangePlan } from "../media";
import type { RandomSource } from "../util/random";

export type LoadResult =
  /** The value's bytes; `cacheStatus` is the `Cache-Status` header value describing how. */
  | {
      kind: "value";
      bytes: Uint8Array;
      cacheStatus: string;
      /** Served past its expiry because the origin failed (stale-if-error). Authorization bits
       * (`auth:is_admin`, `image_files:public`) are not trusted in that state. */
      stale?: boolean;
    }
  /** The origin says there is no such value (values endpoint 404). */
  | { kind: "absent"; cacheStatus: string }
  /** The edge cannot answer for this family now (not served by the origin, origin failing with
   * nothing stale to fall back on): the request goes to the origin as it is. */
  | { kind: "passthrough"; reason: string };

export interface LoadOptions {
  /** Skip the stored value and refill from the origin (journey_feedback `Pragma: no-cache`). */
  refresh?: boolean;
}

export interface RouteIo {
  /** Unix seconds, read once per request. */
  readonly now: number;
  readonly tokens: TokenService;
  /** Uniform draws (the personalized emotions' shuffles and weighted picks). */
  readonly random: RandomSource;
  load(key: string, family: FamilyEntry, options?: LoadOptions): Promise<LoadResult>;
  /**
   * A media object's bytes (R2 / colo cache / streaming fill) shaped by `plan(size)`; a
   * passthrough when the edge has no media store or the origin does not serve the family.
   */
  readMedia(key: string, family: FamilyEntry, plan: (size: number) => RangePlan): Promise<MediaRead>;
  /** Forward the request to the origin unchanged and stream its answer back. */
  passthrough(request: Request): Promise<Response>;
}

/** What a route handler gets: the request, its URL (parsed once per request) and the path params. */
export interface RouteRequest {
  readonly request: Request;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
}
