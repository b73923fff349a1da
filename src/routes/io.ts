/**
 * What the edge route handlers need from the rest of the Worker, as one narrow interface, so the
 * handlers stay small and testable: the request's clock reading, the token service, the random
 * source, reads through the cache, and the passthrough proxy.
 */
import type { TokenService } from "../auth/jwt";
import type { CacheResult, ReadOptions, Served } from "../cache";
import type { MediaBody, RangePlan } from "../media";
import type { RandomSource } from "../util/random";

/** An answer and how it relates to the cache (its `Cache-Status` and log line are written from `served`: ./respond.ts `stamp`). */
export interface Answer {
  response: Response;
  served: Served;
}

export interface RouteIo {
  /** Unix seconds, read once per request. */
  readonly now: number;
  readonly tokens: TokenService;
  /** Uniform draws (the personalized emotions' shuffles and weighted picks). */
  readonly random: RandomSource;
  /**
   * The key of `family` whose required params are `values` (in pattern order), read through the
   * cache. Route inputs are untrusted: a key the registry refuses is `unavailable` (`bad_key`),
   * and the origin judges the input.
   */
  read(family: string, values: readonly string[], options?: ReadOptions): Promise<CacheResult>;
  /**
   * The media object `s3_files:{uid}`'s bytes (colo cache / R2 / a streaming fill) shaped by
   * `plan(size)`; `unavailable` when the edge has no media store or the origin does not serve it.
   */
  readMedia(s3FileUid: string, plan: (size: number) => RangePlan): Promise<CacheResult<MediaBody>>;
  /** Forward the request to the origin unchanged and stream its answer back. */
  passthrough(request: Request): Promise<Answer>;
}

/** What a route handler gets: the request, its URL (parsed once per request) and the path params. */
export interface RouteRequest {
  readonly request: Request;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
}
