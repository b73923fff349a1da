/**
 * Shared by the reliability suites (docs/reliability.md): the Worker's own fetch with another
 * origin or timeout, the stats it reports, and captured logs.
 */
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { adminToken } from "../helpers/tokens";
import { callWorker } from "../helpers/worker";

export const EDGE = "https://edge.test";
export const wallNow = (): number => Math.floor(Date.now() / 1000);

/** The test environment with some vars or bindings changed (a fresh object: the Worker re-parses it). */
export function envWith(overrides: Record<string, unknown>): Record<string, unknown> {
  // The overrides (a wrapped KV, another ORIGIN_URL or timeout) reach this Worker's env only: a
  // FamilyShield object runs on its own env, so these tests take the in-isolate fill path. The
  // shield's own faults (unreachable, late writes) are tested in test/shield.
  return { ...(env as unknown as Record<string, unknown>), FAMILY_SHIELD: undefined, ...overrides };
}

/** One request through the Worker's fetch, on the wall clock unless told otherwise. */
export function edge(path: string, init: RequestInit = {}, options: { env?: Record<string, unknown>; now?: number } = {}): Promise<Response> {
  return callWorker(new Request(`${EDGE}${path}`, init), undefined, { now: options.now ?? wallNow(), ...(options.env === undefined ? {} : { env: options.env }) });
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
