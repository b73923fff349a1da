/** Test tokens, signed with the test secrets of vitest.config.ts. */
import { SignJWT } from "jose";
import { ADMIN_TOKEN_AUDIENCE, ADMIN_TOKEN_ISSUER } from "../../shared/admin-client.ts";

export const TEST_SECRETS = {
  image: "test-image-secret",
  content: "test-content-secret",
  transcript: "test-transcript-secret",
  journey: "test-journey-secret",
  interactivePrompt: "test-interactive-prompt-secret",
  id: "test-id-secret",
  edgeAdmin: "test-edge-admin-secret",
  edgeOrigin: "test-edge-origin-secret",
} as const;

export interface TokenOptions {
  secret: string;
  claims: Record<string, unknown>;
  alg?: "HS256" | "HS512";
}

export async function signToken({ secret, claims, alg = "HS256" }: TokenOptions): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT" }).sign(new TextEncoder().encode(secret));
}

/** An edge admin service token (docs/design.md §8) valid at `now`. */
export function adminToken(now: number, overrides: Record<string, unknown> = {}): Promise<string> {
  return signToken({
    secret: TEST_SECRETS.edgeAdmin,
    claims: { sub: "ops", iss: ADMIN_TOKEN_ISSUER, aud: ADMIN_TOKEN_AUDIENCE, iat: Math.floor(now) - 1, exp: Math.floor(now) + 600, ...overrides },
  });
}

/** An id token (aud oseh-id, jti required) valid at `now`. */
export function idToken(sub: string, now: number, overrides: Record<string, unknown> = {}): Promise<string> {
  return signToken({
    secret: TEST_SECRETS.id,
    claims: { sub, iss: "oseh", aud: "oseh-id", iat: Math.floor(now) - 1, exp: Math.floor(now) + 3600, jti: `jti-${sub}`, ...overrides },
  });
}

/** `header.payload.` with alg none: must always be refused. */
export function unsignedToken(claims: Record<string, unknown>): string {
  const b64 = (s: string) => btoa(s).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${b64(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64(JSON.stringify(claims))}.`;
}
