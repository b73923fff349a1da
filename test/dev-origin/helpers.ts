/** Talking to the dev origin (started by test/global-setup.ts) over real HTTP. */
import { TEST_SECRETS, idToken, signToken } from "../helpers/tokens";
import { originUrl } from "../helpers/dev-origin";

export { armFaults, clearFault, fillCount, originUrl, seenRequests, setFault } from "../helpers/dev-origin";

/** The dev origin checks tokens against the wall clock (it plays a real backend). */
export const wallNow = (): number => Math.floor(Date.now() / 1000);

/** A values token as the edge mints it (aud oseh-edge-values, 5 minutes). */
export function valuesToken(overrides: Record<string, unknown> = {}, secret: string = TEST_SECRETS.edgeOrigin): Promise<string> {
  const now = wallNow();
  return signToken({ secret, claims: { sub: "oseh-edge", iss: "oseh", aud: "oseh-edge-values", iat: now - 1, exp: now + 299, ...overrides } });
}

/** A proxy token bound to `method` and the raw path `htu` (aud oseh-edge-proxy, 60 s). */
export function proxyToken(method: string, htu: string, overrides: Record<string, unknown> = {}, secret: string = TEST_SECRETS.edgeOrigin): Promise<string> {
  const now = wallNow();
  return signToken({ secret, claims: { sub: "oseh-edge", iss: "oseh", aud: "oseh-edge-proxy", iat: now - 1, exp: now + 59, htm: method, htu, jti: crypto.randomUUID(), ...overrides } });
}

export function userIdToken(sub = "oseh_u_devUser00000000000001"): Promise<string> {
  return idToken(sub, wallNow());
}

export async function getValue(key: string, token?: string): Promise<Response> {
  const headers: Record<string, string> = {};
  const edge = token ?? (await valuesToken());
  if (edge !== "") headers["X-Oseh-Edge"] = edge;
  return fetch(originUrl(`/api/1/edge/values/${encodeURIComponent(key)}`), { headers });
}

let counter = 0;
/** A fresh url-safe suffix, so counters and faults (keyed by value key) never collide across files. */
export function freshId(label: string): string {
  counter += 1;
  return `${label}${Date.now().toString(36)}${counter}${Math.floor(Math.random() * 1e9).toString(36)}`;
}

export function decodeJwtPayload(token: string): Record<string, unknown> {
  const part = token.split(".")[1] ?? "";
  return JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
}
