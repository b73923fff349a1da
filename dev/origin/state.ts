/**
 * The dev origin's changeable state (docs/origin.md §8 "Test controls"): values a test sets in
 * place of the fixtures (an origin whose data changes), and gates that hold requests until the
 * test releases them (so a test decides when the origin answers, not the scheduler). Per isolate,
 * like the other controls; everything is keyed by value key or routed path, so parallel test files
 * using their own keys never see each other's state.
 */

/** What the origin holds for a key in place of its fixture. */
export type ValueOverride = { kind: "value"; bytes: Uint8Array; expiresAt?: number } | { kind: "absent" };

/** One value's cap: a few MiB renditions and the 25 MiB edge cap + 1 fit. */
export const MAX_OVERRIDE_BYTES = 48 * 1024 * 1024;
/** All overrides together: a long `npm start` session must not grow without end. */
export const MAX_OVERRIDE_TOTAL_BYTES = 256 * 1024 * 1024;

const overrides = new Map<string, ValueOverride>();
let overrideBytes = 0;

const sizeOf = (override: ValueOverride | undefined): number => (override?.kind === "value" ? override.bytes.byteLength : 0);

/** False when the total would pass MAX_OVERRIDE_TOTAL_BYTES (nothing is changed then). */
export function setOverride(key: string, override: ValueOverride): boolean {
  const total = overrideBytes - sizeOf(overrides.get(key)) + sizeOf(override);
  if (total > MAX_OVERRIDE_TOTAL_BYTES) return false;
  overrides.set(key, override);
  overrideBytes = total;
  return true;
}

export function clearOverride(key: string): void {
  overrideBytes -= sizeOf(overrides.get(key));
  overrides.delete(key);
}

export function overrideFor(key: string): ValueOverride | undefined {
  return overrides.get(key);
}

// ---- gates ----

/**
 * What a gate holds: values-endpoint requests for one key, or every request to one routed path —
 * or, when `target` has a `?`, to that path with exactly that query (so tests sharing a route
 * each hold only their own request).
 */
export type GateMatch = { key: string } | { target: string };

/**
 * When a gate holds its request: `request` (the default) before the body is read and the answer
 * made, so the answer reflects the origin at release; `answer` (values-endpoint gates only) after
 * the answer was made from the origin's values and faults at arrival, so a test can change the
 * origin while an old answer waits — a fill whose origin read happened before a write.
 */
export type GateHold = "request" | "answer";

/** A held request goes on by itself after this long, so a test that dies never wedges the origin. */
export const MAX_HOLD_MS = 60_000;
/** The longest `GET /__dev/gates/{id}?arrived=n` waits for arrivals. */
export const MAX_GATE_WAIT_MS = 10_000;
/** Gates left open by dead tests are dropped oldest first past this many. */
const MAX_GATES = 1000;

interface Gate {
  readonly id: string;
  readonly match: GateMatch;
  readonly hold: GateHold;
  /** Requests it may still catch. */
  remaining: number;
  arrived: number;
  released: number;
  readonly held: Array<() => void>;
  readonly watchers: Array<() => void>;
}

export interface GateState {
  gate: string;
  hold: GateHold;
  arrived: number;
  held: number;
  released: number;
  remaining: number;
}

const gates = new Map<string, Gate>();
let nextGate = 0;

function stateOf(gate: Gate): GateState {
  return { gate: gate.id, hold: gate.hold, arrived: gate.arrived, held: gate.held.length, released: gate.released, remaining: gate.remaining };
}

export function openGate(match: GateMatch, times: number, hold: GateHold = "request"): GateState {
  nextGate += 1;
  const gate: Gate = { id: `g${nextGate}`, match, hold, remaining: times, arrived: 0, released: 0, held: [], watchers: [] };
  gates.set(gate.id, gate);
  while (gates.size > MAX_GATES) {
    const oldest = gates.keys().next().value;
    if (oldest === undefined) break;
    closeGate(oldest);
  }
  return stateOf(gate);
}

export function gateState(id: string): GateState | undefined {
  const gate = gates.get(id);
  return gate === undefined ? undefined : stateOf(gate);
}

/** Waits until `arrived` requests reached the gate, or `ms` passed; the state then. */
export async function waitForArrivals(id: string, arrived: number, ms: number): Promise<GateState | undefined> {
  const gate = gates.get(id);
  if (gate === undefined) return undefined;
  const deadline = Date.now() + Math.min(ms, MAX_GATE_WAIT_MS);
  while (gate.arrived < arrived && Date.now() < deadline) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, deadline - Date.now());
      gate.watchers.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  return stateOf(gate);
}

/** Lets the oldest `count` held requests go on (all of them when undefined). */
export function releaseGate(id: string, count?: number): GateState | undefined {
  const gate = gates.get(id);
  if (gate === undefined) return undefined;
  const going = gate.held.splice(0, count ?? gate.held.length);
  gate.released += going.length;
  for (const go of going) go();
  return stateOf(gate);
}

/** Releases everything held and forgets the gate; later requests pass. */
export function closeGate(id: string): boolean {
  const gate = gates.get(id);
  if (gate === undefined) return false;
  releaseGate(id);
  gates.delete(id);
  return true;
}

/** A request as gates see it: its routed path, its raw query (`url.search`), its value key. */
export interface GatedRequest {
  key?: string;
  target: string;
  search: string;
}

function matches(match: GateMatch, request: GatedRequest): boolean {
  if ("key" in match) return request.key === match.key;
  return match.target.includes("?") ? `${request.target}${request.search}` === match.target : request.target === match.target;
}

/**
 * Where a request waits when a gate catches it (the oldest open gate of that `hold` that matches
 * and has uses left). With `request`: called before the request's body is read and before its
 * answer is produced, so a test may change values or faults while it is held and the answer
 * reflects the origin at release. With `answer`: called once the values endpoint made its answer.
 */
export async function passGates(request: GatedRequest, hold: GateHold = "request"): Promise<void> {
  for (const gate of gates.values()) {
    if (gate.hold !== hold || gate.remaining <= 0 || !matches(gate.match, request)) continue;
    gate.remaining -= 1;
    gate.arrived += 1;
    for (const watcher of gate.watchers.splice(0)) watcher();
    await new Promise<void>((resolve) => {
      let done = false;
      const go = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const at = gate.held.indexOf(go);
        if (at >= 0) gate.held.splice(at, 1);
        gate.released += 1;
        go();
      }, MAX_HOLD_MS);
      gate.held.push(go);
    });
    return;
  }
}
