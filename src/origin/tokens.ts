/**
 * The two credentials the edge sends the origin on `X-Oseh-Edge` (docs/origin.md §1,
 * docs/security.md). Both are HS256 JWTs signed with EDGE_ORIGIN_JWT_SECRET, iss `oseh`, minted
 * with the resource tokens' signer (`signHs256`, src/auth/jwt.ts, with its checks); each is usable for one thing only, so whatever an origin route reflects back to a
 * client (headers, debug echoes) cannot be replayed for anything else:
 *
 * - the **values token** (aud `oseh-edge-values`, 5 minutes) goes only on the edge's own
 *   values-endpoint calls. Minting costs an HMAC, so one token per isolate per secret is reused
 *   until 60 s before it expires;
 * - the **proxy token** (aud `oseh-edge-proxy`, 60 s) goes on every forwarded client request,
 *   bound to it DPoP-style (RFC 9449 §4.2) by `htm` (the method) and `htu` (the path exactly as
 *   sent on the wire, percent escapes kept, ORIGIN_URL's base path included, no query). It only
 *   lets the origin answer that one request with a delegation document.
 */
import { importHmacKey, signHs256, type TokenMemory } from "../auth/jwt";

export const EDGE_TOKEN_HEADER = "X-Oseh-Edge";
/**
 * The origin's answer to a proxy token: a delegation document counts only when this header
 * carries that token's `jti` (docs/origin.md). The media type alone is not enough: a route that
 * serves content a user chose (its bytes and its type) would otherwise have the edge render any
 * template it names, with freshly minted resource JWTs.
 */
export const DELEGATION_ACK_HEADER = "X-Oseh-Edge-Delegation";
export const EDGE_TOKEN_ISSUER = "oseh";
export const EDGE_TOKEN_SUB = "oseh-edge";
export const VALUES_TOKEN_AUDIENCE = "oseh-edge-values";
export const PROXY_TOKEN_AUDIENCE = "oseh-edge-proxy";
/** Values token lifetime (exp − iat): short, and reused, so one HMAC serves thousands of fills. */
export const VALUES_TOKEN_LIFETIME_SECONDS = 300;
/** Re-mint this long before expiry, so a token never expires in flight (timeouts are seconds). */
export const VALUES_TOKEN_RENEW_BEFORE_SECONDS = 60;
/** Proxy token lifetime (exp − iat): a forwarded request reaches the origin within seconds. */
export const PROXY_TOKEN_LIFETIME_SECONDS = 60;
/**
 * iat is back-dated a second like the backend's tokens, so an origin whose clock is a fraction of
 * a second behind does not see it in the future (its leeway is 0). Lifetimes count from iat.
 */
const BACKDATE_SECONDS = 1;

export interface EdgeTokenClaims {
  sub: string;
  iss: string;
  aud: string;
  iat: number;
  exp: number;
}

export interface ProxyTokenClaims extends EdgeTokenClaims {
  htm: string;
  htu: string;
  jti: string;
}

function baseClaims(aud: string, lifetime: number, now: number): EdgeTokenClaims {
  const iat = Math.floor(now) - BACKDATE_SECONDS;
  return { sub: EDGE_TOKEN_SUB, iss: EDGE_TOKEN_ISSUER, aud, iat, exp: iat + lifetime };
}

/** Pure: the values token's claims at `now` (unix seconds, may be fractional). */
export function valuesTokenClaims(now: number): EdgeTokenClaims {
  return baseClaims(VALUES_TOKEN_AUDIENCE, VALUES_TOKEN_LIFETIME_SECONDS, now);
}

/**
 * Pure: the proxy token's claims for a request the edge sends to `target` (an absolute URL as
 * handed to fetch) with `method`. `htu` is the target's path as serialised on the wire: the URL
 * parser keeps percent escapes as they are and resolves dot segments, exactly what the origin
 * receives as its raw path.
 */
export function proxyTokenClaims(method: string, target: string, now: number, jti: string): ProxyTokenClaims {
  return { ...baseClaims(PROXY_TOKEN_AUDIENCE, PROXY_TOKEN_LIFETIME_SECONDS, now), htm: method, htu: new URL(target).pathname, jti };
}

async function sign(claims: EdgeTokenClaims, secret: string, memory: TokenMemory): Promise<string> {
  return signHs256({ ...claims }, await importHmacKey(secret, memory));
}

/**
 * The values token for `secret` at `now` (the platform clock: the origin checks it against its
 * own). A token kept in the isolate's memory is reused while `now` is inside [iat, renewAt).
 */
export async function getValuesToken(secret: string, now: number, memory: TokenMemory): Promise<string> {
  const valuesTokens = memory.values;
  const cached = valuesTokens.get(secret);
  if (cached !== undefined) {
    const token = await cached.catch(() => undefined);
    if (token !== undefined && now >= token.iat && now < token.renewAt) return token.token;
  }
  const claims = valuesTokenClaims(now);
  const fresh = sign(claims, secret, memory).then((token) => ({ token, iat: claims.iat, renewAt: claims.exp - VALUES_TOKEN_RENEW_BEFORE_SECONDS }));
  valuesTokens.set(secret, fresh);
  return (await fresh).token;
}

/** A fresh proxy token for one forwarded request (never cached: it names that request), and its `jti`. */
export async function mintProxyToken(secret: string, method: string, target: string, now: number, memory: TokenMemory): Promise<{ token: string; jti: string }> {
  const jti = crypto.randomUUID();
  return { token: await sign(proxyTokenClaims(method, target, now, jti), secret, memory), jti };
}
