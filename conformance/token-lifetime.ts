/**
 * How long each values token the checker sends lives (./tokens.ts mints one per request, right
 * before it): a request reaches the origin within milliseconds; 30 s leaves room for a slow origin
 * to read it and for the origin's clock to run up to ~half a minute ahead of the checker's. (The
 * edge's own values token lives 300 s because an isolate reuses it for thousands of fills.)
 *
 * Its own file, importing nothing: the CLI's help states it under Node's type stripping
 * (cli/conformance.ts), and ./tokens.ts, which the Workers tests load, uses it.
 */
export const CONFORMANCE_VALUES_TOKEN_SECONDS = 30;
