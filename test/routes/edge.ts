/**
 * The edge through the Worker's own fetch (src/index.ts `createWorker` with an injected clock):
 * real KV and Cache API (miniflare), the real origin client talking to the dev origin over HTTP.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import { parseConfig } from "../../src/config";
import { callWorker } from "../helpers/worker";
import { parseKey } from "../../src/keys";
import { buildStoredValue, createTieredStore } from "../../src/storage";
import { createIsolate } from "../../src/isolate";

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
  const ctx = createExecutionContext();
  const store = createTieredStore({
    memory: createIsolate().storage, kv: env.CACHE,
    cache: caches.default,
    l1MaxAgeSeconds: cfg.l1MaxAgeSeconds,
    staleIfErrorSeconds: cfg.staleIfErrorSeconds,
    baseUrl: "https://edge.test",
    waitUntil: (promise) => ctx.waitUntil(promise),
  });
  for (const [key, raw] of Object.entries(values)) {
    const parsed = parseKey(key);
    if (!parsed.ok) throw new Error(parsed.failure.message);
    const bytes = typeof raw === "string" ? new TextEncoder().encode(raw) : raw;
    const value = await buildStoredValue(bytes, { family: parsed.value.family.name, codec: parsed.value.family.codec.name, expiresAt }, now);
    const written = await store.write(key, value, now);
    if (!written.ok) throw new Error(written.failure.message);
  }
  await waitOnExecutionContext(ctx);
}

export { armFaults, fillCount, originUrl } from "../helpers/dev-origin";
