/**
 * Test controls (`/__dev/…`): per-key fill counters, per-key fault injection, and a log of the
 * edge tokens each request target arrived with. State is per isolate (one isolate under
 * `wrangler dev` and Miniflare). Everything is keyed by the value key or the request target, so
 * parallel test files that use their own keys never see each other's faults or counts.
 *
 * A fault is set by request (`POST /__dev/faults` with a key and a fault), or armed for reserved
 * uid fragments (`fault-500`, `fault-404`, `fault-501`, `fault-garbage`, `fault-slow-<ms>`):
 * `POST /__dev/faults {"match": "<fragment>"}` makes every key containing `match` take the fault
 * its fragment names. Unarmed fragments do nothing, so a client that can choose a key (through an
 * edge route that fills by uid) cannot make the origin slow or failing; every control needs the
 * bearer DEV_CONTROL_SECRET (routes/dev-controls.ts).
 */

export type Fault =
  | { kind: "slow"; ms: number }
  | { kind: "status"; status: number }
  | { kind: "garbage" }
  | { kind: "absent" }
  | { kind: "unsupported" }
  /** 200 with the first half of the real value, as a complete response (a cut-off write). */
  | { kind: "truncated" }
  /** 200, the head and the first half of the real value, then nothing for `ms`, then the end. */
  | { kind: "stall"; ms: number }
  /** 200 with a body one byte over the edge's 25 MiB value cap, streamed. */
  | { kind: "oversized" }
  /** A streamed value (media) sent whole but slowly: a pause of `ms` before each 64 KiB chunk. */
  | { kind: "trickle"; ms: number };

export interface FaultRule {
  fault: Fault;
  /** Remaining uses; undefined = until cleared. */
  remaining?: number;
}

export const MAX_SLOW_MS = 60_000; // a typo in a test must not hang the dev origin forever

const fills = new Map<string, number>();
const faults = new Map<string, FaultRule>();
const armedMatches = new Set<string>();

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
  for (const match of armedMatches) if (key.includes(match)) return reservedFault(key);
  return undefined;
}

export function armMatch(match: string): void {
  armedMatches.add(match);
}

export function disarmMatch(match: string): void {
  armedMatches.delete(match);
}

/** What one request arrived with, for `GET /__dev/seen` (tests read the edge's tokens here). */
export interface SeenRequest {
  method: string;
  /** The raw path, escapes as received. */
  path: string;
  query: string;
  /** `X-Oseh-Edge` as received, or null. */
  edgeToken: string | null;
  /** For routes that read no body of their own: the body's length and sha256 (hex), once read. */
  bodyLength?: number;
  bodySha256?: string;
}

/** Bounded: a long `npm start` session must not grow without end. */
const MAX_SEEN_TARGETS = 2000;
const seen = new Map<string, SeenRequest[]>();

export function recordSeen(target: string, request: SeenRequest): void {
  const list = seen.get(target) ?? [];
  list.push(request);
  seen.delete(target);
  seen.set(target, list);
  if (seen.size > MAX_SEEN_TARGETS) {
    const oldest = seen.keys().next().value;
    if (oldest !== undefined) seen.delete(oldest);
  }
}

export function seenFor(target: string): SeenRequest[] {
  return seen.get(target) ?? [];
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

/**
 * Parses a `POST /__dev/faults` body: `{"key": "...", "fault": {...}, "times"?: n}`, or
 * `{"match": "..."}` to arm the reserved fragments in keys containing it.
 */
export function parseFaultRequest(body: unknown): { key: string; rule: FaultRule } | { match: string } | string {
  if (typeof body !== "object" || body === null) return "body must be a JSON object";
  const { key, fault, times, match } = body as { key?: unknown; fault?: unknown; times?: unknown; match?: unknown };
  if (match !== undefined) {
    if (typeof match !== "string" || match.length < 8) return "match must be a string of at least 8 characters";
    return { match };
  }
  if (typeof key !== "string" || key === "") return "key must be a non-empty string";
  if (times !== undefined && (typeof times !== "number" || !Number.isInteger(times) || times < 1)) return "times must be a positive integer";
  if (typeof fault !== "object" || fault === null) return "fault must be an object";
  const f = fault as { kind?: unknown; ms?: unknown; status?: unknown };
  let parsed: Fault;
  switch (f.kind) {
    case "slow":
    case "stall":
    case "trickle":
      if (typeof f.ms !== "number" || f.ms < 0) return `${f.kind} needs ms >= 0`;
      parsed = { kind: f.kind, ms: Math.min(f.ms, MAX_SLOW_MS) };
      break;
    case "status":
      if (typeof f.status !== "number" || f.status < 200 || f.status > 599) return "status needs a status code";
      parsed = { kind: "status", status: f.status };
      break;
    case "garbage":
    case "absent":
    case "unsupported":
    case "truncated":
    case "oversized":
      parsed = { kind: f.kind };
      break;
    default:
      return "fault.kind must be slow, stall, trickle, status, garbage, truncated, oversized, absent or unsupported";
  }
  return { key, rule: times === undefined ? { fault: parsed } : { fault: parsed, remaining: times } };
}

/**
 * Bytes no codec accepts: invalid UTF-8 (json/text/float/flag), not gzip (0x1f8b), a block
 * header claiming ~4 GiB, a u64 length that does not match, and not 32 bytes long.
 */
export const GARBAGE_BYTES = Uint8Array.of(0xff, 0xfe, 0x00, 0x01, 0x7b, 0xc3, 0x28, 0x00, 0x00);

/** The edge's value cap (KV's 25 MiB) plus one byte: the smallest body the edge must refuse. */
export const OVERSIZED_VALUE_BYTES = 26_214_400 + 1;

const OVERSIZED_CHUNK_BYTES = 1 << 20;

/** `total` zero bytes in 1 MiB chunks, produced on demand so the dev origin never holds them all. */
export function oversizedBody(total = OVERSIZED_VALUE_BYTES): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) {
        controller.close();
        return;
      }
      const size = Math.min(OVERSIZED_CHUNK_BYTES, total - sent);
      sent += size;
      controller.enqueue(new Uint8Array(size));
    },
  });
}

/** `body`'s chunks, each after a pause of `ms`: a slow peer that never stops for long. */
export function tricklingBody(body: ReadableStream<Uint8Array>, ms: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, ms));
        const next = await reader.read();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

/**
 * `head`, then nothing for `ms`, then the end: a peer that stalls mid-body. It ends rather than
 * erroring so the dev origin logs nothing when the edge has long given up on it.
 */
export function stallingBody(head: Uint8Array, ms: number): ReadableStream<Uint8Array> {
  let step = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (step++ === 0) {
        controller.enqueue(head);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, ms));
      controller.close();
    },
  });
}
