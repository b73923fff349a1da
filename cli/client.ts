/**
 * The CLI's view of one edge: its base URL, an admin token (given, or minted from
 * EDGE_ADMIN_JWT_SECRET), over the tools' one admin-API client (shared/admin-client.ts), with
 * every way a call can fail turned into a CliError with the exit code scripts rely on
 * (cli/errors.ts).
 */
import { createAdminClient, type AdminCall } from "../shared/admin-client.ts";
import { credentialUrlProblem, INSECURE_HTTP_ENV, INSECURE_HTTP_FLAG } from "../shared/credential-url.ts";
import { CliError, EXIT } from "./errors.ts";

export interface CliClient {
  readonly baseUrl: string;
  /** A call under `/_edge/v1`; resolves only for 2xx answers. */
  call(path: string, init?: RequestInit): Promise<Response>;
  json<T>(path: string, init?: RequestInit): Promise<T>;
}

export interface ClientOptions {
  url: string | undefined;
  /** Where `url` came from, for messages: `--url` or `EDGE_URL`. */
  urlName: string;
  /** Plain http to a host that is not loopback was accepted (--insecure-http-sends-tokens-in-clear). */
  allowInsecureHttp: boolean;
  token: string | undefined;
  secret: string | undefined;
  /** Unix seconds, for minting. */
  now: () => number;
}

export function createClient(options: ClientOptions): CliClient {
  if (!options.url) throw new CliError(EXIT.usage, "no edge address: set EDGE_URL (e.g. http://127.0.0.1:8787) or pass --url");
  let base: URL;
  try {
    base = new URL(options.url);
    if (base.protocol !== "http:" && base.protocol !== "https:") throw new Error("scheme");
  } catch {
    throw new CliError(EXIT.usage, `${options.urlName} is not an http(s) URL: ${JSON.stringify(options.url)}`);
  }
  const clear = credentialUrlProblem(base, {
    name: options.urlName,
    sends: "the admin token",
    allowInsecureHttp: options.allowInsecureHttp,
    override: `pass --${INSECURE_HTTP_FLAG} (or set ${INSECURE_HTTP_ENV}=1)`,
  });
  if (clear !== null) throw new CliError(EXIT.usage, clear);
  const baseUrl = base.toString().replace(/\/+$/, "");
  const { token, secret } = options;
  const admin = createAdminClient({
    baseUrl,
    credential: async () => {
      if (token !== undefined) return { token };
      if (!secret) throw new CliError(EXIT.usage, "no admin credentials: set EDGE_ADMIN_JWT_SECRET or pass --token <admin token>");
      return { secret, sub: "oseh-edge-cli", now: options.now };
    },
  });

  async function call(path: string, init: RequestInit = {}): Promise<Response> {
    const answer = await admin.call(path, init);
    if (answer.ok) return answer.response;
    if (answer.status === null) throw new CliError(EXIT.unreachable, `cannot reach the edge at ${baseUrl}: ${answer.message}`);
    throw refusal(answer);
  }

  return {
    baseUrl,
    call,
    async json<T>(path: string, init?: RequestInit): Promise<T> {
      return (await (await call(path, init)).json()) as T;
    },
  };
}

/**
 * What to add to a 401/403: a `forbidden` token authenticated but may not do this (an admin's id
 * token on a PUT, src/admin/principals.ts); any other was not accepted at all.
 */
function authHint(type: string | undefined): string {
  return type === "forbidden"
    ? " (this needs a service token: drop --token to mint one from EDGE_ADMIN_JWT_SECRET, or pass one from `oseh-edge token admin`)"
    : " (is EDGE_ADMIN_JWT_SECRET or --token the edge's?)";
}

/** The edge's `{type, message}` error (or the backend's auth bodies) as a CliError. */
function refusal(answer: Extract<AdminCall, { ok: false; status: number }>): CliError {
  const detail =
    answer.type !== undefined ? `${answer.type}: ${answer.message ?? ""}` : answer.detail !== undefined ? JSON.stringify(answer.detail) : answer.text.slice(0, 500);
  const auth = answer.status === 401 || answer.status === 403;
  const code = answer.status === 404 ? EXIT.notFound : auth ? EXIT.auth : EXIT.refused;
  return new CliError(code, `edge answered ${answer.status}: ${detail}${auth ? authHint(answer.type) : ""}`);
}
