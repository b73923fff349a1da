/**
 * Where a miss spent its time, for `Server-Timing` (docs/routes.md "Server-Timing"): the request's
 * phases, each a sum of wall-clock milliseconds — `tier` (the L0/L1/L2 reads), `shield` (the
 * request to the key's shield, the origin's time inside it included), `origin` (the values
 * endpoint, inside the shield or from the Worker), `store` (local copies written before the
 * answer). One recorder per request (src/index.ts), written to the header in one place
 * (src/routes/respond.ts `stamp`), and only for an answer that filled: a hit's header stays
 * `edge;dur=…`. Milliseconds are reported, never asserted (workerd's clock moves on I/O only).
 */

export type Phase = "tier" | "shield" | "origin" | "store";

/** The order entries are written in: the client's path, outermost first. */
const PHASE_ORDER: readonly Phase[] = ["tier", "shield", "origin", "store"];

export interface Phases {
  add(phase: Phase, ms: number): void;
  /** The recorded phases in PHASE_ORDER; empty when nothing was recorded. */
  entries(): [Phase, number][];
  /** Whether the request filled (asked its shield or the origin for a value). */
  filled(): boolean;
}

export function createPhases(): Phases {
  const spent = new Map<Phase, number>();
  return {
    add(phase, ms) {
      spent.set(phase, (spent.get(phase) ?? 0) + Math.max(0, ms));
    },
    entries: () => PHASE_ORDER.filter((phase) => spent.has(phase)).map((phase) => [phase, spent.get(phase) ?? 0]),
    filled: () => spent.has("shield") || spent.has("origin"),
  };
}

/** Runs `run`, adding its wall-clock time to `phase` when there is a recorder. */
export async function timed<T>(phases: Phases | undefined, phase: Phase, run: () => Promise<T>): Promise<T> {
  if (phases === undefined) return run();
  const startedAt = Date.now();
  try {
    return await run();
  } finally {
    phases.add(phase, Date.now() - startedAt);
  }
}

/** The `Server-Timing` value: the edge's own `edge;dur=` first, then a fill's phases. */
export function serverTiming(edgeMs: number, phases: Phases | undefined): string {
  const entries = phases?.filled() === true ? phases.entries() : [];
  return [`edge;dur=${Math.max(0, edgeMs)}`, ...entries.map(([phase, ms]) => `${phase};dur=${ms}`)].join(", ");
}
