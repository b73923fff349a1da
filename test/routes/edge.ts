/**
 * The edge through the Worker's own fetch (src/index.ts `createWorker` with an injected clock):
 * real KV and Cache API (miniflare), the real origin client talking to the dev origin over HTTP.
 */
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import { parseConfig } from "../../src/config";
import { callWorker, productionEnv as productionTopology } from "../helpers/worker";
import { parseKey } from "../../src/keys";
import { buildStoredValue, createTieredStore } from "../../src/storage";
import { createIsolate } from "../../src/isolate";
import { seenRequests, type SeenRequest } from "../helpers/dev-origin";

export const wallNow = (): number => Math.floor(Date.now() / 1000);

function config() {
  return parseConfig({ ...(env as unknown as Record<string, unknown>), ORIGIN_URL: inject("originUrl") });
}

export interface EdgeResult {
  response: Response;
  bytes: Uint8Array;
  text: string;
}

export async function edgeFetch(request: Request, now: number): Promise<EdgeResult> {
  const response = await callWorker(request, undefined, { now });
  const bytes = new Uint8Array(await response.clone().arrayBuffer());
  return { response, bytes, text: new TextDecoder().decode(bytes) };
}

/** Seeds values straight into the tiers (a hit needs no origin, so any clock works). */
export async function seed(values: Record<string, Uint8Array | string>, now: number, expiresAt = now + 2 * 86_400): Promise<void> {
  const cfg = config();
  const store = createTieredStore({
    memory: createIsolate().storage, kv: env.CACHE,
    cache: caches.default,
    l1MaxAgeSeconds: cfg.l1MaxAgeSeconds,
    staleIfErrorSeconds: cfg.staleIfErrorSeconds,
    baseUrl: "https://edge.test",
  });
  for (const [key, raw] of Object.entries(values)) {
    const parsed = parseKey(key);
    if (!parsed.ok) throw new Error(parsed.failure.message);
    const bytes = typeof raw === "string" ? new TextEncoder().encode(raw) : raw;
    const value = await buildStoredValue(bytes, { family: parsed.value.family.name, codec: parsed.value.family.codec.name, expiresAt }, now);
    const written = await store.write(key, value, now);
    if (!written.ok) throw new Error(written.failure.message);
  }
}

export { armFaults, fillCount, originUrl } from "../helpers/dev-origin";

/**
 * The production topology (test/helpers/worker.ts `productionEnv`: the shield bound, L0 on, every
 * setting a test relies on pinned) with the Worker's own shield value limit at its default (the
 * suite's bindings shrink it to 64 bytes) and no request log.
 */
export function productionEnv(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return productionTopology({ SHIELD_MAX_VALUE_BYTES: undefined, REQUEST_LOG: "off", ...overrides });
}

export async function sha256Hex(bytes: Uint8Array | string): Promise<string> {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", data))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The requests the dev origin received at `target` whose body was exactly `body` (its request
 * log keeps each unrouted request's body length and sha256, docs/origin.md §8): how a test shows
 * that a request went through to the origin unchanged — or never reached it.
 */
export async function originReceived(target: string, body: Uint8Array | string): Promise<SeenRequest[]> {
  const digest = await sha256Hex(body);
  return (await seenRequests(target)).filter((seen) => seen.bodySha256 === digest);
}
