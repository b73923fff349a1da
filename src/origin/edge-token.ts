/**
 * The `X-Oseh-Edge` token every edge→origin request carries (DESIGN §4): HS256 with
 * `EDGE_ORIGIN_JWT_SECRET`, iss `oseh`, aud `oseh-origin`, 5-minute lifetime. Minting costs an
 * HMAC, so one token is reused per isolate (keyed by secret) until it is close to expiry.
 */
import { importHmacKey, signHs256 } from "../auth/jwt";

export const EDGE_TOKEN_HEADER = "X-Oseh-Edge";
export const EDGE_TOKEN_AUDIENCE = "oseh-origin";
export const EDGE_TOKEN_SUB = "oseh-edge";
export const EDGE_TOKEN_LIFETIME_SECONDS = 300; // DESIGN §4: 5 minutes
/** Re-mint this long before expiry, so a token never expires in flight (timeouts are seconds). */
export const EDGE_TOKEN_RENEW_BEFORE_SECONDS = 60;
/** iat is back-dated like the backend's tokens (blocks-spec §4), for verifiers with leeway 0. */
const EDGE_TOKEN_BACKDATE_SECONDS = 1;

interface CachedToken {
  token: string;
  iat: number;
  /** Unix seconds from which a new token is minted. */
  renewAt: number;
}

const tokens = new Map<string, Promise<CachedToken>>();

/** Pure: the claims for a token minted at `now` (unix seconds, may be fractional). */
export function edgeTokenClaims(now: number): { sub: string; iss: string; aud: string; iat: number; exp: number } {
  const seconds = Math.floor(now);
  return {
    sub: EDGE_TOKEN_SUB,
    iss: "oseh",
    aud: EDGE_TOKEN_AUDIENCE,
    iat: seconds - EDGE_TOKEN_BACKDATE_SECONDS,
    exp: seconds + EDGE_TOKEN_LIFETIME_SECONDS,
  };
}

async function mint(secret: string, now: number): Promise<CachedToken> {
  const claims = edgeTokenClaims(now);
  const token = await signHs256(claims, await importHmacKey(secret));
  return { token, iat: claims.iat, renewAt: claims.exp - EDGE_TOKEN_RENEW_BEFORE_SECONDS };
}

/**
 * The current edge token for `secret` at `now`. A cached token is reused while `now` is inside
 * [iat, renewAt): a clock that moved backwards (tests inject clocks) also gets a fresh token.
 */
export async function getEdgeToken(secret: string, now: number): Promise<string> {
  const cached = tokens.get(secret);
  if (cached !== undefined) {
    const token = await cached.catch(() => undefined);
    if (token !== undefined && now >= token.iat && now < token.renewAt) {
      return token.token;
    }
  }
  const fresh = mint(secret, now);
  tokens.set(secret, fresh);
  return (await fresh).token;
}
