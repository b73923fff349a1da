/**
 * The read-through core against the dev origin over real HTTP (docs/design.md §3, §4.2): miss →
 * fill → hit, coalescing, origin down / slow / 500 / garbage, stale-if-error within the window.
 */
import { describe, expect, it, vi } from "vitest";
import { cacheStatusOf, type CacheResult } from "../../src/cache";
import { armFaults, clearFault, fillCount, freshId, setFault } from "../dev-origin/helpers";
import { createHarness, family, familyOf, wallNow } from "./helpers";
import { captureConsoleErrors } from "../helpers/console";

const statusOf = (result: CacheResult) => cacheStatusOf({ kind: "cache", result });

const JOURNEY = family("journeys:external:{uid}");
const JOURNEY_TTL_SECONDS = 172800; // docs/block-format.md §2.5

const journeyKey = (label: string) => `journeys:external:oseh_j_gen${freshId(label)}`;

describe("read-through", () => {
  it("miss → fill (stored) → hit from L2 → hit from L1", async () => {
    const h = createHarness();
    const key = journeyKey("m");
    const now = wallNow();

    const first = await h.read(key, JOURNEY, now);
    expect(first).toMatchObject({ kind: "value", state: "miss", tier: "origin", stored: true });
    expect(statusOf(first)).toBe("oseh-edge; fwd=miss; stored");
    await h.settle();
    expect(await fillCount(key)).toBe(1);
    if (first.kind !== "value") return;
    expect(first.value.envelope.expiresAt).toBe(now + JOURNEY_TTL_SECONDS);

    // The fill wrote KV and L1; a store without L1 sees the KV copy.
    const l2Only = createHarness({ l1: false });
    const second = await l2Only.read(key, JOURNEY, now + 1);
    expect(second).toMatchObject({ kind: "value", state: "hit", tier: "l2" });
    expect(statusOf(second)).toBe("oseh-edge; hit; detail=l2");

    const third = await h.read(key, JOURNEY, now + 2);
    expect(third).toMatchObject({ kind: "value", state: "hit", tier: "l1" });
    expect(statusOf(third)).toBe("oseh-edge; hit; detail=l1");
    if (second.kind === "value" && third.kind === "value") expect(third.value.bytes).toEqual(first.value.bytes);
    expect(await fillCount(key)).toBe(1);
  });

  it("a forced refresh that finds the value gone removes the stored copy", async () => {
    const h = createHarness();
    const key = journeyKey("r");
    const now = wallNow();
    expect(await h.read(key, JOURNEY, now)).toMatchObject({ state: "miss", stored: true });
    await h.settle();
    await setFault(key, { kind: "absent" });
    try {
      expect(await h.read(key, JOURNEY, now + 1, { refresh: true })).toEqual({ kind: "absent", remembered: false });
      await h.settle();
      expect(await h.store.read(key, now + 2, h.waitUntil)).toEqual({ state: "miss" });
    } finally {
      await clearFault(key);
    }
  });

  it("takes a fractional platform clock (stores whole seconds)", async () => {
    const h = createHarness();
    const key = journeyKey("f");
    const now = Date.now() / 1000;
    expect(await h.read(key, JOURNEY, now)).toMatchObject({ state: "miss", stored: true });
    await h.settle();
    const hit = await h.read(key, JOURNEY, now + 0.5);
    expect(hit).toMatchObject({ state: "hit" });
    if (hit.kind === "value") expect(hit.value.envelope.storedAt).toBe(Math.floor(now));
  });

  it("an L2 hit back-fills L1", async () => {
    const h = createHarness();
    const key = journeyKey("b");
    const now = wallNow();
    const noL1 = createHarness({ l1: false });
    await noL1.read(key, JOURNEY, now); // stored in KV only
    await noL1.settle();
    expect(await h.read(key, JOURNEY, now + 1)).toMatchObject({ state: "hit", tier: "l2" });
    await h.settle();
    expect(await h.read(key, JOURNEY, now + 2)).toMatchObject({ state: "hit", tier: "l1" });
  });

  it("coalesces concurrent misses into one origin fill", async () => {
    const h = createHarness();
    const key = journeyKey("c");
    // Slow the fill so every caller arrives while it is in flight.
    await setFault(key, { kind: "slow", ms: 200 });
    const now = wallNow();
    const results = await Promise.all(Array.from({ length: 12 }, () => h.read(key, JOURNEY, now)));
    await h.settle();
    expect(await fillCount(key)).toBe(1);
    expect(results.every((r) => r.kind === "value")).toBe(true);
    await clearFault(key);
  });

  it("honours X-Edge-Expires-At for the absolute family", async () => {
    const h = createHarness();
    const key = "interactive_prompts:special:notification-time:info";
    const now = wallNow();
    const result = await h.read(key, familyOf(key), now, { refresh: true });
    expect(result).toMatchObject({ kind: "value", state: "miss", requested: true });
    expect(statusOf(result)).toBe("oseh-edge; fwd=request; stored");
    if (result.kind !== "value") return;
    const lifetime = 60 * 60 * 24 * 28;
    expect(result.value.envelope.expiresAt).toBe((Math.floor(now / lifetime) + 1) * lifetime);
  });

  it("absent (404 + X-Edge-Value: absent) and unsupported (501) are told apart", async () => {
    const h = createHarness();
    const absent = await h.read("journeys:external:oseh_j_missing", JOURNEY, wallNow());
    expect(absent).toEqual({ kind: "absent", remembered: false });
    const lock = "updater-lock-key";
    const unsupported = await h.read(lock, familyOf(lock), wallNow());
    expect(unsupported).toMatchObject({ kind: "unavailable", reason: "unsupported" });
  });
});

describe("stored envelopes", () => {
  it("a stored value whose envelope names another codec or family is a miss, refilled from the origin", async () => {
    const h = createHarness();
    const now = wallNow();
    const { buildStoredValue } = await import("../../src/storage");
    for (const fields of [
      { family: JOURNEY.name, codec: "json", expiresAt: now + 3600 },
      { family: "interactive_prompts:external:{uid}", codec: JOURNEY.codec.name, expiresAt: now + 3600 },
    ]) {
      const key = journeyKey("f");
      const foreign = await buildStoredValue(new TextEncoder().encode('{"not":"blocks"}'), fields, now);
      expect(await h.store.write(key, foreign, now)).toMatchObject({ ok: true });
      const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
      const result = await h.read(key, JOURNEY, now + 1);
      errors.mockRestore();
      expect(result).toMatchObject({ kind: "value", state: "miss", tier: "origin", stored: true });
      if (result.kind === "value") expect(result.value.envelope).toMatchObject({ family: JOURNEY.name, codec: "blocks" });
      await h.settle();
      expect(await fillCount(key)).toBe(1);
    }
  });
});

describe("origin failures", () => {
  // Each fault makes the fill log why it failed; captured and checked, not printed.
  const logged = captureConsoleErrors(/^\{"msg":"(origin fill failed|store read failed|passthrough failed)"/);
  it("a failing store read (KV error) is a miss filled from the origin, not a thrown request", async () => {
    const key = journeyKey("r");
    const failing = createHarness({ store: (store) => ({ ...store, read: async () => Promise.reject(new Error("KV GET failed: 500 Internal Server Error")) }) });
    const result = await failing.read(key, JOURNEY, wallNow());
    expect(logged.lines()).toEqual([expect.stringMatching(/^\{"msg":"store read failed".*KV GET failed/)]);
    expect(result).toMatchObject({ kind: "value", state: "miss", tier: "origin" });
    await failing.settle();
    expect(await fillCount(key)).toBe(1);
  });

  it("origin down (closed port) → 502, nothing stored", async () => {
    const h = createHarness({ originUrl: "http://127.0.0.1:9" });
    const key = journeyKey("d");
    const result = await h.read(key, JOURNEY, wallNow());
    expect(result).toMatchObject({ kind: "unavailable", reason: "origin_error", originError: { status: 502 } });
    expect(statusOf(result)).toBe("oseh-edge; fwd=miss; fwd-status=502; detail=origin-error");
    expect(logged.lines()).toEqual([expect.stringMatching(/^\{"msg":"origin fill failed".*"status":502,"message":"values endpoint unreachable/)]);
    await h.settle();
    expect(await h.store.read(key, wallNow(), h.waitUntil)).toEqual({ state: "miss" });
  });

  it("slow origin → 504 after ORIGIN_TIMEOUT_MS", async () => {
    const h = createHarness({ originTimeoutMs: 150 });
    const key = journeyKey("s");
    await setFault(key, { kind: "slow", ms: 1500 });
    const started = Date.now();
    const result = await h.read(key, JOURNEY, wallNow());
    expect(result).toMatchObject({ kind: "unavailable", reason: "origin_error", originError: { status: 504 } });
    expect(Date.now() - started).toBeLessThan(1200);
    await clearFault(key);
  });

  it("origin 500 → 502, not cached (the next load asks the origin again)", async () => {
    const h = createHarness();
    const key = journeyKey("e");
    await setFault(key, { kind: "status", status: 500 }, 1);
    expect(await h.read(key, JOURNEY, wallNow())).toMatchObject({ kind: "unavailable", reason: "origin_error", originError: { status: 502 } });
    await h.settle();
    expect(await h.store.read(key, wallNow(), h.waitUntil)).toEqual({ state: "miss" });
    expect(await h.read(key, JOURNEY, wallNow())).toMatchObject({ kind: "value", state: "miss" });
    expect(await fillCount(key)).toBe(2);
  });

  it("garbage bytes fail the codec → 502, nothing stored", async () => {
    const h = createHarness();
    const id = freshId("g");
    await armFaults(id);
    const key = `journeys:external:oseh_j_genfault-garbage-${id}`;
    const result = await h.read(key, JOURNEY, wallNow());
    expect(result).toMatchObject({ kind: "unavailable", reason: "origin_error", originError: { status: 502 } });
    if (result.kind === "unavailable" && result.reason === "origin_error") expect(result.originError.message).toMatch(/fails the blocks codec/);
    await h.settle();
    expect(await h.store.read(key, wallNow(), h.waitUntil)).toEqual({ state: "miss" });
  });

  it("gzip families are checked deeply: gzip magic on non-gzip is refused", async () => {
    const h = createHarness();
    const key = `image_files:playlist:oseh_if_gen${freshId("z")}`;
    await setFault(key, { kind: "garbage" });
    expect(await h.read(key, familyOf(key), wallNow())).toMatchObject({ kind: "unavailable", reason: "origin_error", originError: { status: 502 } });
    await clearFault(key);
  });
});

describe("stale-if-error", () => {
  const logged = captureConsoleErrors(/^\{"msg":"(origin fill failed|store read failed|passthrough failed)"/);
  it("serves the last good value within STALE_IF_ERROR_SECONDS when the origin fails, and marks it", async () => {
    const h = createHarness({ originTimeoutMs: 150 });
    const key = journeyKey("t");
    const now = wallNow();
    const filled = await h.read(key, JOURNEY, now);
    await h.settle();
    expect(filled.kind).toBe("value");

    const afterExpiry = now + JOURNEY_TTL_SECONDS + 10; // inside the 300 s window
    await setFault(key, { kind: "status", status: 500 });
    const stale = await h.read(key, JOURNEY, afterExpiry);
    expect(stale).toMatchObject({ kind: "value", state: "stale", tier: "l2" });
    expect(statusOf(stale)).toBe("oseh-edge; hit; detail=stale-if-error; fwd-status=502");
    if (stale.kind === "value" && filled.kind === "value") expect(stale.value.bytes).toEqual(filled.value.bytes);

    await setFault(key, { kind: "slow", ms: 1500 });
    expect(await h.read(key, JOURNEY, afterExpiry)).toMatchObject({ state: "stale", originError: { status: 504 } });

    // Past the window there is nothing to fall back on.
    await setFault(key, { kind: "status", status: 500 });
    const beyond = now + JOURNEY_TTL_SECONDS + h.config.staleIfErrorSeconds + 1;
    expect(await h.read(key, JOURNEY, beyond)).toMatchObject({ kind: "unavailable", reason: "origin_error", originError: { status: 502 } });

    // A healthy origin refills an expired value instead of serving it stale.
    await clearFault(key);
    expect(await h.read(key, JOURNEY, afterExpiry)).toMatchObject({ state: "miss", stored: true });
    expect(logged.lines().map((line) => /"status":(50\d),"message":"values endpoint/.exec(line)?.[1])).toEqual(["502", "504", "502"]);
  });
});
