/**
 * Admin service tokens as the edge verifies them (src/auth/admin-token.ts, docs/admin-api.md):
 * HS256 with EDGE_ADMIN_JWT_SECRET, iss `oseh`, aud `oseh-edge-admin`, a short `exp`.
 */
import { SignJWT } from "jose";

export const ADMIN_TOKEN_SECONDS = 300;

export async function mintAdminToken(secret: string, options: { now: number; sub?: string; seconds?: number }): Promise<string> {
  const now = Math.floor(options.now);
  return new SignJWT({ sub: options.sub ?? "oseh-edge-cli", iss: "oseh", aud: "oseh-edge-admin", iat: now - 1, exp: now + (options.seconds ?? ADMIN_TOKEN_SECONDS) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(secret));
}
