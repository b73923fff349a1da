/**
 * Failed admin-API authentication, rate-limited per client with the Workers Rate Limiting binding
 * `ADMIN_AUTH_LIMITER` (wrangler.toml; docs/admin-api.md "Auth"). Only failures are counted, so
 * someone guessing tokens from an address never locks out an operator with a valid one; once a
 * client's failures pass the binding's limit within its period, its further failures answer 429
 * `rate_limited` instead of saying what was wrong. The binding counts per Cloudflare location and
 * approximately: it bounds guessing, it is not an exact quota.
 */
import { failureResponse } from "../errors";
import { errorFields, logEvent } from "../log";

/** The binding's period (wrangler.toml `simple.period`, 10 or 60 s): when a refused client may retry. */
export const ADMIN_AUTH_LIMIT_PERIOD_SECONDS = 60;

/**
 * The client, as Cloudflare saw it: `CF-Connecting-IP` is set by Cloudflare on every request that
 * comes through it and replaces any value a client sends. A request without it did not come
 * through Cloudflare's front (local tools, tests, another Worker's service call) and has no
 * client to count: it is not limited.
 */
export function adminClientKey(request: Request): string | undefined {
  const ip = request.headers.get("CF-Connecting-IP");
  return ip === null || ip === "" ? undefined : `admin-auth:${ip}`;
}

/**
 * `refusal` (the 401/403 the request earned), or a 429 when this client has failed too often.
 * A limiter that cannot answer leaves the refusal as it is: the request is refused either way.
 */
export async function limitFailedAuth(limiter: RateLimit | undefined, request: Request, refusal: Response): Promise<Response> {
  const key = adminClientKey(request);
  if (limiter === undefined || key === undefined) return refusal;
  let within: boolean;
  try {
    within = (await limiter.limit({ key })).success;
  } catch (error) {
    logEvent("admin auth limiter failed", errorFields(error));
    return refusal;
  }
  if (within) return refusal;
  return failureResponse({
    type: "rate_limited",
    message: "too many failed authentication attempts from this client; retry later",
    retryAfterSeconds: ADMIN_AUTH_LIMIT_PERIOD_SECONDS,
  });
}
