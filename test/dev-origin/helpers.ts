/** Talking to the dev origin (started by test/global-setup.ts) over real HTTP. */
import { inject } from "vitest";
import { TEST_SECRETS, idToken, signToken } from "../helpers/tokens";

export function originUrl(path = ""): string {
  return `${inject("originUrl")}${path}`;
}

/** The dev origin checks tokens against the wall clock (it plays a real backend). */
export const wallNow = (): number => Math.floor(Date.now() / 1000);

export function edgeToken(overrides: Record<string, unknown> = {}, secret: string = TEST_SECRETS.edgeOrigin): Promise<string> {
  const now = wallNow();
  return signToken({ secret, claims: { sub: "oseh-edge", iss: "oseh", aud: "oseh-origin", iat: now - 1, exp: now + 300, ...overrides } });
}

export function userIdToken(sub = "oseh_u_devUser00000000000001"): Promise<string> {
  return idToken(sub, wallNow());
}

export async function getValue(key: string, token?: string): Promise<Response> {
  const headers: Record<string, string> = {};
  const edge = token ?? (await edgeToken());
  if (edge !== "") headers["X-Oseh-Edge"] = edge;
  return fetch(originUrl(`/api/1/edge/values/${encodeURIComponent(key)}`), { headers });
}

export async function fillCount(key: string): Promise<number> {
  const response = await fetch(originUrl(`/__dev/counters?key=${encodeURIComponent(key)}`));
  const body = (await response.json()) as { fills: number };
  return body.fills;
}

export async function setFault(key: string, fault: Record<string, unknown>, times?: number): Promise<void> {
  const response = await fetch(originUrl("/__dev/faults"), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(times === undefined ? { key, fault } : { key, fault, times }),
  });
  if (response.status !== 204) throw new Error(`setFault: ${response.status} ${await response.text()}`);
}

export async function clearFault(key: string): Promise<void> {
  await fetch(originUrl(`/__dev/faults?key=${encodeURIComponent(key)}`), { method: "DELETE" });
}

let counter = 0;
/** A fresh url-safe suffix, so counters and faults (keyed by value key) never collide across files. */
export function freshId(label: string): string {
  counter += 1;
  return `${label}${Date.now().toString(36)}${counter}${Math.floor(Math.random() * 1e9).toString(36)}`;
}

export function decodeJwtPayload(token: string): Record<string, unknown> {
  const part = token.split(".")[1] ?? "";
  return JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
}
