/**
 * Test controls (`/__dev/…`): per-key fill counters and per-key fault injection. State is per
 * isolate (one isolate under `wrangler dev` and Miniflare). Everything is keyed by the value key,
 * so parallel test files that use their own keys never see each other's faults or counts.
 *
 * A fault can be set by request (`POST /__dev/faults`) or by a reserved uid fragment in the key
 * itself (`fault-500`, `fault-404`, `fault-501`, `fault-garbage`, `fault-slow-<ms>`), e.g.
 * `journeys:external:oseh_j_genfault-500-x1` — no set-up request needed.
 */

export type Fault =
  | { kind: "slow"; ms: number }
  | { kind: "status"; status: number }
  | { kind: "garbage" }
  | { kind: "absent" }
  | { kind: "unsupported" };

export interface FaultRule {
  fault: Fault;
  /** Remaining uses; undefined = until cleared. */
  remaining?: number;
}

const MAX_SLOW_MS = 60_000; // a typo in a test must not hang the dev origin forever

const fills = new Map<string, number>();
const faults = new Map<string, FaultRule>();

export function countFill(key: string): void {
  fills.set(key, (fills.get(key) ?? 0) + 1);
}

export function fillCount(key: string): number {
  return fills.get(key) ?? 0;
}

export function resetCounter(key: string): void {
  fills.delete(key);
}

export function setFault(key: string, rule: FaultRule): void {
  faults.set(key, rule);
}

export function clearFault(key: string): void {
  faults.delete(key);
}

/** The fault for this request, consuming one use of a counted rule. */
export function takeFault(key: string): Fault | undefined {
  const rule = faults.get(key);
  if (rule !== undefined) {
    if (rule.remaining !== undefined) {
      rule.remaining -= 1;
      if (rule.remaining <= 0) faults.delete(key);
    }
    return rule.fault;
  }
  return reservedFault(key);
}

function reservedFault(key: string): Fault | undefined {
  const slow = /fault-slow-(\d+)/.exec(key);
  if (slow !== null) return { kind: "slow", ms: Math.min(Number(slow[1]), MAX_SLOW_MS) };
  if (key.includes("fault-garbage")) return { kind: "garbage" };
  if (key.includes("fault-404")) return { kind: "absent" };
  if (key.includes("fault-501")) return { kind: "unsupported" };
  const status = /fault-(5\d\d)/.exec(key);
  if (status !== null) return { kind: "status", status: Number(status[1]) };
  return undefined;
}

/** Parses a `POST /__dev/faults` body: `{"key": "...", "fault": {...}, "times"?: n}`. */
export function parseFaultRequest(body: unknown): { key: string; rule: FaultRule } | string {
  if (typeof body !== "object" || body === null) return "body must be a JSON object";
  const { key, fault, times } = body as { key?: unknown; fault?: unknown; times?: unknown };
  if (typeof key !== "string" || key === "") return "key must be a non-empty string";
  if (times !== undefined && (typeof times !== "number" || !Number.isInteger(times) || times < 1)) return "times must be a positive integer";
  if (typeof fault !== "object" || fault === null) return "fault must be an object";
  const f = fault as { kind?: unknown; ms?: unknown; status?: unknown };
  let parsed: Fault;
  switch (f.kind) {
    case "slow":
      if (typeof f.ms !== "number" || f.ms < 0) return "slow needs ms >= 0";
      parsed = { kind: "slow", ms: Math.min(f.ms, MAX_SLOW_MS) };
      break;
    case "status":
      if (typeof f.status !== "number" || f.status < 200 || f.status > 599) return "status needs a status code";
      parsed = { kind: "status", status: f.status };
      break;
    case "garbage":
    case "absent":
    case "unsupported":
      parsed = { kind: f.kind };
      break;
    default:
      return "fault.kind must be slow, status, garbage, absent or unsupported";
  }
  return { key, rule: times === undefined ? { fault: parsed } : { fault: parsed, remaining: times } };
}

/**
 * Bytes no codec accepts: invalid UTF-8 (json/text/float/flag), not gzip (0x1f8b), a block
 * header claiming ~4 GiB, a u64 length that does not match, and not 32 bytes long.
 */
export const GARBAGE_BYTES = Uint8Array.of(0xff, 0xfe, 0x00, 0x01, 0x7b, 0xc3, 0x28, 0x00, 0x00);
