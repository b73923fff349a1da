/**
 * The one way tests reach the dev origin's controls (`/__dev/…`, `/api/1/dev/delegate`): every
 * control needs `Authorization: Bearer <DEV_CONTROL_SECRET>`, a secret the global setup gives the
 * dev origin and the tests, never the edge. Fill counters, faults (keyed, or armed for reserved
 * uid fragments), and the log of edge tokens the origin has seen per request target.
 */
import { inject } from "vitest";
import type { Fault, SeenRequest } from "../../dev/origin/controls";

export type { SeenRequest };

/** A fault the dev origin plays on its values endpoint for one key. */
export type DevFault = Fault;

export function originUrl(path = ""): string {
  return `${inject("originUrl")}${path}`;
}

/** The control bearer, for a request a test sends (directly or through the edge) to a control. */
export function devControlHeaders(): Record<string, string> {
  return { Authorization: `Bearer ${inject("devControlSecret")}` };
}

/** A control request straight to the dev origin, with the bearer added. */
export function devControl(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  for (const [name, value] of Object.entries(devControlHeaders())) headers.set(name, value);
  return fetch(originUrl(path), { ...init, headers });
}

async function expectStatus(response: Response, status: number, what: string): Promise<Response> {
  if (response.status !== status) throw new Error(`${what}: ${response.status} ${await response.text()}`);
  return response;
}

export async function fillCount(key: string): Promise<number> {
  const response = await expectStatus(await devControl(`/__dev/counters?key=${encodeURIComponent(key)}`), 200, "fillCount");
  return ((await response.json()) as { fills: number }).fills;
}

export async function setFault(key: string, fault: DevFault | Record<string, unknown>, times?: number): Promise<void> {
  const body = JSON.stringify(times === undefined ? { key, fault } : { key, fault, times });
  await expectStatus(await devControl("/__dev/faults", { method: "POST", headers: { "Content-Type": "application/json" }, body }), 204, "setFault");
}

export async function clearFault(key: string): Promise<void> {
  await expectStatus(await devControl(`/__dev/faults?key=${encodeURIComponent(key)}`, { method: "DELETE" }), 204, "clearFault");
}

/**
 * Arms the reserved fault fragments (`fault-500`, `fault-slow-<ms>`, …) for every key containing
 * `match` (a fresh id, at least 8 characters): unarmed fragments do nothing.
 */
export async function armFaults(match: string): Promise<void> {
  const body = JSON.stringify({ match });
  await expectStatus(await devControl("/__dev/faults", { method: "POST", headers: { "Content-Type": "application/json" }, body }), 204, "armFaults");
}


/** The requests the dev origin received for a raw target (path + query, escapes as sent). */
export async function seenRequests(target: string): Promise<SeenRequest[]> {
  const response = await expectStatus(await devControl(`/__dev/seen?target=${encodeURIComponent(target)}`), 200, "seenRequests");
  return ((await response.json()) as { requests: SeenRequest[] }).requests;
}

// ---- values in place of the fixtures, and gates (docs/origin.md §8) ----

/** From now on the origin holds `bytes` for `key` (the values endpoint and its own routes). */
export async function setOriginValue(key: string, bytes: Uint8Array | string, options: { expiresAt?: number } = {}): Promise<void> {
  const body = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const headers: Record<string, string> = options.expiresAt === undefined ? {} : { "X-Edge-Expires-At": String(options.expiresAt) };
  await expectStatus(await devControl(`/__dev/values/${encodeURIComponent(key)}`, { method: "PUT", headers, body }), 204, "setOriginValue");
}

/** From now on the origin has no value for `key` (404 + `X-Edge-Value: absent`). */
export async function setOriginAbsent(key: string): Promise<void> {
  await expectStatus(await devControl(`/__dev/values/${encodeURIComponent(key)}`, { method: "PUT", headers: { "X-Dev-Value": "absent" } }), 204, "setOriginAbsent");
}

/** Back to the fixture for `key`. */
export async function restoreOriginValue(key: string): Promise<void> {
  await expectStatus(await devControl(`/__dev/values/${encodeURIComponent(key)}`, { method: "DELETE" }), 204, "restoreOriginValue");
}

export interface GateState {
  gate: string;
  hold: "request" | "answer";
  arrived: number;
  held: number;
  released: number;
  remaining: number;
}

/** A gate at the dev origin: holds the next `times` matching requests until released. */
export interface OriginGate {
  readonly id: string;
  /** Waits (at most 10 s at the origin) until `n` requests have arrived; throws if they did not. */
  arrived(n?: number): Promise<GateState>;
  /** Lets the oldest `count` held requests go on (all when omitted). */
  release(count?: number): Promise<GateState>;
  /** Releases everything held and closes the gate. */
  close(): Promise<void>;
  state(): Promise<GateState>;
}

/**
 * Opens a gate for the values-endpoint requests of `{key}`, or for every request to `{target}`
 * (the routed, percent-decoded path without the query; with a `?`, that path with exactly that
 * raw query). The held request's answer is made when it is released, from the origin's values
 * and faults at that moment — or, with `hold: "answer"` (values requests only), when it arrives:
 * the origin may then change while that older answer waits.
 */
export async function gateOrigin(match: { key: string } | { target: string }, times = 1, options: { hold?: "request" | "answer" } = {}): Promise<OriginGate> {
  const opened = await expectStatus(
    await devControl("/__dev/gates", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ...match, times, ...options }) }),
    201,
    "gateOrigin",
  );
  const { gate: id } = (await opened.json()) as GateState;
  const read = async (response: Response, what: string) => (await (await expectStatus(response, 200, what)).json()) as GateState;
  return {
    id,
    async arrived(n = 1) {
      const state = await read(await devControl(`/__dev/gates/${id}?arrived=${n}`), "gate arrived");
      if (state.arrived < n) throw new Error(`gate ${id}: ${state.arrived} of ${n} requests arrived`);
      return state;
    },
    release: async (count) =>
      read(await devControl(`/__dev/gates/${id}/release`, { method: "POST", ...(count === undefined ? {} : { body: JSON.stringify({ count }) }) }), "gate release"),
    async close() {
      await expectStatus(await devControl(`/__dev/gates/${id}`, { method: "DELETE" }), 204, "gate close");
    },
    state: async () => read(await devControl(`/__dev/gates/${id}`), "gate state"),
  };
}
