/**
 * The CLI's view of one edge: its base URL, an admin token (given, or minted from
 * EDGE_ADMIN_JWT_SECRET), and one request helper that turns every way a call can fail into a
 * CliError with the exit code scripts rely on (cli/errors.ts).
 */
import { credentialUrlProblem, INSECURE_HTTP_ENV, INSECURE_HTTP_FLAG } from "../shared/credential-url.ts";
import { CliError, EXIT } from "./errors.ts";
import { mintAdminToken } from "./token.ts";

export interface EdgeClient {
  readonly baseUrl: string;
  /** A call under `/_edge/v1`; resolves only for 2xx answers (and 404 when `allow404`). */
  call(path: string, init?: RequestInit & { allow404?: boolean }): Promise<Response>;
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

export function createClient(options: ClientOptions): EdgeClient {
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
  let token = options.token;
  const bearer = async (): Promise<string> => {
    if (token !== undefined) return token;
    if (!options.secret) {
      throw new CliError(EXIT.usage, "no admin credentials: set EDGE_ADMIN_JWT_SECRET or pass --token <admin token>");
    }
    token = await mintAdminToken(options.secret, { now: options.now() });
    return token;
  };

  async function call(path: string, init: RequestInit & { allow404?: boolean } = {}): Promise<Response> {
    const { allow404, ...rest } = init;
    const headers = new Headers(rest.headers);
    headers.set("authorization", `bearer ${await bearer()}`);
    let response: Response;
    try {
      response = await fetch(`${baseUrl}/_edge/v1${path}`, { ...rest, headers, ...(rest.body instanceof ReadableStream ? { duplex: "half" } : {}) } as RequestInit);
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      throw new CliError(EXIT.unreachable, `cannot reach the edge at ${baseUrl}: ${cause}`);
    }
    if (response.ok || (allow404 === true && response.status === 404)) return response;
    throw await refusal(response);
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
async function refusal(response: Response): Promise<CliError> {
  const text = await response.text();
  let detail = text.slice(0, 500);
  let type: string | undefined;
  try {
    const body = JSON.parse(text) as { type?: string; message?: string; detail?: unknown };
    type = body.type;
    if (body.type !== undefined) detail = `${body.type}: ${body.message ?? ""}`;
    else if (body.detail !== undefined) detail = JSON.stringify(body.detail);
  } catch {
    // Not JSON: show the text as it is.
  }
  const auth = response.status === 401 || response.status === 403;
  const code = response.status === 404 ? EXIT.notFound : auth ? EXIT.auth : EXIT.refused;
  return new CliError(code, `edge answered ${response.status}: ${detail}${auth ? authHint(type) : ""}`);
}
