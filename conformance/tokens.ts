/**
 * The tokens the checker sends: the edge's own two (src/origin/tokens.ts claims, signed the same
 * way) and the ones an origin must refuse. Minted with jose from EDGE_ORIGIN_JWT_SECRET, on the
 * checker's clock, since the origin checks them against its own.
 *
 * A values token reads any family's value from the origin, secret families included, so the
 * checker mints one per request, right before it, living CONFORMANCE_VALUES_TOKEN_SECONDS instead
 * of the edge's 300 s (the edge reuses one per isolate; the checker need not).
 */
import { SignJWT, type JWTPayload } from "jose";
import { proxyTokenClaims, valuesTokenClaims } from "../src/origin/tokens";
import { CONFORMANCE_VALUES_TOKEN_SECONDS } from "./token-lifetime";

/** The edge's values-token claims at `now`, with the checker's shorter lifetime. */
function checkerValuesClaims(now: number): JWTPayload {
  const claims = valuesTokenClaims(now);
  return { ...claims, exp: claims.iat + CONFORMANCE_VALUES_TOKEN_SECONDS };
}

async function sign(claims: JWTPayload, secret: string): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(secret));
}

export interface TokenMinter {
  /** A values token as the edge sends it; `overrides` replace claims (an expired one, …). */
  values(overrides?: JWTPayload, secret?: string): Promise<string>;
  /** A proxy token bound to `method` and the path of `target` (an absolute URL), as the edge binds it. */
  proxy(method: string, target: string, overrides?: JWTPayload): Promise<string>;
}

export function createTokenMinter(secret: string, now: () => number): TokenMinter {
  return {
    values: (overrides = {}, other = secret) => sign({ ...checkerValuesClaims(now()), ...overrides }, other),
    proxy: (method, target, overrides = {}) => sign({ ...proxyTokenClaims(method, target, now(), crypto.randomUUID()), ...overrides }, secret),
  };
}
