/**
 * Shared by the reliability suites (docs/reliability.md): the Worker's own fetch with another
 * origin or timeout, the stats it reports, and captured logs.
 */
import { vi } from "vitest";
import type { Isolate } from "../../src/isolate";
import { adminToken } from "../helpers/tokens";
import { callWorker, productionEnv } from "../helpers/worker";

export const EDGE = "https://edge.test";
export const wallNow = (): number => Math.floor(Date.now() / 1000);

/**
 * The production environment (the shield bound, L0 on: test/helpers/worker.ts `productionEnv`)
 * with some vars or bindings changed (a fresh object: the Worker re-parses it). A wrapped KV
 * reaches the Worker's own reads and writes; the shield writes through its own bindings, which
 * test/helpers/shield-seams.ts wraps when a test needs the shield's KV faulty too.
 */
export function envWith(overrides: Record<string, unknown>): Record<string, unknown> {
  return productionEnv(overrides);
}

/** The same without the `FAMILY_SHIELD` binding: fills coalesce per isolate, the direct writer applies writes. */
export function envWithoutShield(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return productionEnv({ FAMILY_SHIELD: undefined, ...overrides });
}

/** One request through the Worker's fetch, on the wall clock unless told otherwise. */
export function edge(path: string, init: RequestInit = {}, options: { env?: Record<string, unknown>; now?: number; isolate?: Isolate } = {}): Promise<Response> {
  return callWorker(new Request(`${EDGE}${path}`, init), undefined, {
    now: options.now ?? wallNow(),
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.isolate === undefined ? {} : { isolate: options.isolate }),
  });
}

export interface EdgeStats {
  families: Record<string, Record<string, number>>;
  storage: Record<string, Record<string, number>>;
}

/** `GET /_edge/v1/stats` (isolate-wide counters: compare before and after, never absolute). */
export async function edgeStats(): Promise<EdgeStats> {
  const response = await edge("/_edge/v1/stats", { headers: { authorization: `bearer ${await adminToken(wallNow())}` } });
  if (response.status !== 200) throw new Error(`stats: ${response.status}`);
  return (await response.json()) as EdgeStats;
}

/** A counter of the stats, 0 when the family has none yet. */
export function counter(stats: EdgeStats, part: "families" | "storage", family: string, name: string): number {
  return stats[part][family]?.[name] ?? 0;
}

/** Every console line `run` produced (captured, not printed): a green run stays quiet. */
export async function captureLogs<T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const spies = (["log", "info", "warn", "error", "debug"] as const).map((level) =>
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : typeof a === "string" ? a : JSON.stringify(a))).join(" "));
    }),
  );
  try {
    return { result: await run(), lines };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}
