/**
 * The CLI's view of one edge: its base URL, an admin token (given, or minted from
 * EDGE_ADMIN_JWT_SECRET), and one request helper that turns every way a call can fail into a
 * CliError with the exit code scripts rely on (cli/errors.ts).
 */
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
    throw new CliError(EXIT.usage, `EDGE_URL is not an http(s) URL: ${JSON.stringify(options.url)}`);
  }
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

/** The edge's `{type, message}` error (or the backend's auth bodies) as a CliError. */
async function refusal(response: Response): Promise<CliError> {
  const text = await response.text();
  let detail = text.slice(0, 500);
  try {
    const body = JSON.parse(text) as { type?: string; message?: string; detail?: unknown };
    if (body.type !== undefined) detail = `${body.type}: ${body.message ?? ""}`;
    else if (body.detail !== undefined) detail = JSON.stringify(body.detail);
  } catch {
    // Not JSON: show the text as it is.
  }
  const code = response.status === 404 ? EXIT.notFound : response.status === 401 || response.status === 403 ? EXIT.auth : EXIT.refused;
  const hint = response.status === 401 || response.status === 403 ? " (is EDGE_ADMIN_JWT_SECRET or --token the edge's?)" : "";
  return new CliError(code, `edge answered ${response.status}: ${detail}${hint}`);
}
