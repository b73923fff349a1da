/**
 * The edge's admin API (`/_edge/v1`, docs/admin-api.md) as the tools call it: the service token
 * (HS256 with EDGE_ADMIN_JWT_SECRET, iss `oseh`, aud `oseh-edge-admin`, a short `exp` — what
 * src/auth/admin-token.ts verifies), minted and renewed here, and one call helper that answers
 * every outcome as a value. The relay (relay/edge-client.ts) and the CLI (cli/client.ts) each turn
 * those values into their own terms: retry or reject, an exit code.
 *
 * Shared by the Worker, the relay and the CLI, so it imports nothing but jose and is erasable
 * TypeScript: the CLI runs it under Node's type stripping, the relay under tsx.
 */
import { SignJWT } from "jose";

export const ADMIN_BASE_PATH = "/_edge/v1";
export const ADMIN_TOKEN_AUDIENCE = "oseh-edge-admin";
export const ADMIN_TOKEN_ISSUER = "oseh";
/** Service tokens live 5 minutes (the edge refuses lifetimes over its ADMIN_TOKEN_MAX_SECONDS). */
export const ADMIN_TOKEN_SECONDS = 300;
/** A kept token is replaced this long before it expires, so one in flight never expires on the way. */
const TOKEN_RENEW_BEFORE_SECONDS = 60;

/**
 * A service token for the edge's admin API at `now` (unix seconds), living `seconds` from its iat;
 * iat is back-dated a second, as the backend's tokens are, so an edge whose clock is a fraction of
 * a second behind does not see it in the future.
 */
export async function mintAdminToken(secret: string, options: { now: number; sub?: string; seconds?: number }): Promise<string> {
  const iat = Math.floor(options.now) - 1;
  return new SignJWT({ sub: options.sub ?? "oseh-edge-cli", iss: ADMIN_TOKEN_ISSUER, aud: ADMIN_TOKEN_AUDIENCE, iat, exp: iat + (options.seconds ?? ADMIN_TOKEN_SECONDS) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(secret));
}

/** Where each call's token comes from: one given as is, or minted from the secret and kept until shortly before it expires. */
export type AdminCredential = { token: string } | { secret: string; sub: string; now: () => number };

export type AdminCall =
  | { ok: true; response: Response }
  /** The edge could not be reached, or did not answer within the timeout. */
  | { ok: false; status: null; name: string; message: string }
  /**
   * The edge answered with an error status: its body as text, and the edge's `{type, message}`
   * (or the backend's `{detail}`) when the body is that JSON.
   */
  | { ok: false; status: number; text: string; type?: string; message?: string; detail?: unknown };

export interface AdminClientOptions {
  /** The edge's base URL, without a trailing slash. */
  baseUrl: string;
  credential: AdminCredential | (() => Promise<AdminCredential>);
  /** Each call is abandoned after this long; absent: no limit. */
  timeoutMs?: number;
}

export interface AdminClient {
  readonly baseUrl: string;
  /** A call under `/_edge/v1`; a 2xx answer is `ok`, its body unread. */
  call(path: string, init?: RequestInit): Promise<AdminCall>;
}

export function createAdminClient(options: AdminClientOptions): AdminClient {
  let kept: { token: string; expiresAt: number } | undefined;

  async function bearer(): Promise<string> {
    const credential = typeof options.credential === "function" ? await options.credential() : options.credential;
    if ("token" in credential) return credential.token;
    const now = Math.floor(credential.now());
    if (kept === undefined || kept.expiresAt - TOKEN_RENEW_BEFORE_SECONDS <= now) {
      kept = { token: await mintAdminToken(credential.secret, { now, sub: credential.sub }), expiresAt: now - 1 + ADMIN_TOKEN_SECONDS };
    }
    return kept.token;
  }

  return {
    baseUrl: options.baseUrl,
    async call(path, init = {}) {
      const headers = new Headers(init.headers);
      headers.set("Authorization", `bearer ${await bearer()}`);
      let response: Response;
      try {
        response = await fetch(`${options.baseUrl}${ADMIN_BASE_PATH}${path}`, {
          ...init,
          headers,
          // A streamed request body (a CLI PUT from stdin) must say it is sent as it is read.
          ...(init.body instanceof ReadableStream ? { duplex: "half" } : {}),
          ...(options.timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(options.timeoutMs) }),
        } as RequestInit);
      } catch (error) {
        const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
        return { ok: false, status: null, name: error instanceof Error ? error.name : typeof error, message: cause?.message ?? (error instanceof Error ? error.message : String(error)) };
      }
      if (response.ok) return { ok: true, response };
      const text = await response.text().catch(() => "");
      try {
        const body = JSON.parse(text) as { type?: unknown; message?: unknown; detail?: unknown };
        if (typeof body === "object" && body !== null) {
          return {
            ok: false,
            status: response.status,
            text,
            ...(typeof body.type === "string" ? { type: body.type } : {}),
            ...(typeof body.message === "string" ? { message: body.message } : {}),
            ...(body.detail === undefined ? {} : { detail: body.detail }),
          };
        }
      } catch {
        // Not JSON: the text alone.
      }
      return { ok: false, status: response.status, text };
    },
  };
}
