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
