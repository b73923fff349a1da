/** Running the relay in a test against a real Redis and a real edge, and reading the edge back. */
import { Redis } from "ioredis";
import { inject } from "vitest";
import type { RelayConfig } from "../../relay/config";
import type { LogFields, LogLevel, Logger } from "../../relay/log";
import { startRelay, type Relay, type RelayCounters } from "../../relay/service";
import { mintAdminToken } from "../../shared/admin-client";

export interface LogLine {
  level: LogLevel;
  event: string;
  fields: LogFields;
}

export function adminToken(secret = inject("edgeAdminSecret")): Promise<string> {
  return mintAdminToken(secret, { now: Date.now() / 1000, sub: "test" });
}

/** `GET /_edge/v1/keys/{key}`: the status and, on 200, the stored bytes and envelope headers. */
export async function readKey(key: string, edgeUrl = inject("edgeUrl")): Promise<{ status: number; bytes: Uint8Array; expiresAt: number }> {
  const response = await fetch(`${edgeUrl}/_edge/v1/keys/${encodeURIComponent(key)}`, { headers: { Authorization: `bearer ${await adminToken()}` } });
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { status: response.status, bytes, expiresAt: Number(response.headers.get("X-Edge-Expires-At")) };
}

/** Key names under a prefix (`GET /_edge/v1/keys?prefix=`): how write-only families are observed. */
export async function listKeys(prefix: string, edgeUrl = inject("edgeUrl")): Promise<string[]> {
  const response = await fetch(`${edgeUrl}/_edge/v1/keys?prefix=${encodeURIComponent(prefix)}&limit=1000`, {
    headers: { Authorization: `bearer ${await adminToken()}` },
  });
  const body = (await response.json()) as { keys: { name: string }[] };
  return body.keys.map((k) => k.name);
}

/** Seeds a value through the admin API, as an earlier fill would have. */
export async function putKey(key: string, value: Uint8Array | string, edgeUrl = inject("edgeUrl")): Promise<void> {
  const response = await fetch(`${edgeUrl}/_edge/v1/keys/${encodeURIComponent(key)}`, {
    method: "PUT",
    headers: { Authorization: `bearer ${await adminToken()}` },
    body: value,
  });
  if (response.status !== 204) throw new Error(`seeding ${key}: ${response.status} ${await response.text()}`);
}

export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface TestRelay {
  relay: Relay;
  logs: LogLine[];
  counters(): RelayCounters;
  /**
   * Publishes one message and waits until the relay has received it and (unless `settle` is
   * false, e.g. while the edge is down) applied what it asks.
   */
  publish(channel: string, message: Uint8Array, options?: { settle?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestRelay(
  overrides: Partial<RelayConfig> = {},
  options: { purgeCollabOnStart?: boolean; now?: () => number } = {},
): Promise<TestRelay> {
  const config: RelayConfig = {
    redisUrl: inject("redisUrl"),
    edgeUrl: inject("edgeUrl"),
    edgeAdminSecret: inject("edgeAdminSecret"),
    healthHost: "127.0.0.1",
    healthPort: 0,
    maxQueue: 1000,
    edgeTimeoutMs: 5000,
    ...overrides,
  };
  const logs: LogLine[] = [];
  const log: Logger = (level, event, fields = {}) => logs.push({ level, event, fields });
  // Off by default: the shared edge holds other tests' collab keys.
  const purgeCollabOnStart = options.purgeCollabOnStart ?? false;
  const relay = await startRelay({
    config,
    log,
    retryInitialMs: 20,
    retryMaxMs: 200,
    reconnectMaxMs: 200,
    purgeCollabOnStart,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  await waitFor("the relay's subscription", () => relay.health().redis === "subscribed");
  const publisher = new Redis(config.redisUrl, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
  publisher.on("error", () => undefined); // a test that restarts Redis sees reconnect errors here

  return {
    relay,
    logs,
    counters: () => relay.health().counters,
    async publish(channel, message, options = {}) {
      const before = relay.health().counters.received;
      await publisher.publish(channel, Buffer.from(message));
      await waitFor(`delivery on ${channel}`, () => relay.health().counters.received > before);
      if (options.settle !== false) await relay.idle();
    },
    async stop() {
      publisher.disconnect();
      await relay.stop();
    },
  };
}
