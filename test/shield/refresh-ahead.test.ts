/**
 * Refresh ahead (docs/storage-schema.md §Refresh ahead) on real Durable Objects, KV and Cache API,
 * with the dev origin over real HTTP: a hit in a value's last tenth of life or last 60 s starts one
 * background fill through the key's shield, which asks the origin once per (key, expires-at) for
 * the whole edge. The clock is injected (the dev origin checks tokens on the wall clock, which the
 * origin client signs with), so a value's fifteen minutes pass in a loop.
 */
import { describe, expect, it } from "vitest";
import { refreshAheadFrom, type CacheResult } from "../../src/cache";
import { freshId } from "../dev-origin/helpers";
import { clearFault, fillCount, setFault, setOriginValue } from "../helpers/dev-origin";
import { captureConsoleErrors } from "../helpers/console";
import { adminToken } from "../helpers/tokens";
import { callWorker } from "../helpers/worker";
import { config, EDGE, familyOf, KV, shieldRow, testIsolate, type TestIsolate } from "./helpers";

const NOW = Math.floor(Date.now() / 1000);
/** auth:is_admin and content_files:vods:…:m3u both live fifteen minutes (src/keys/registry.ts). */
const LIFE = 15 * 60;
/** Long enough for a purge to arrive while the origin still holds the refresh. */
const HOLD_MS = 3000;

const text = (result: CacheResult) => (result.kind === "value" ? new TextDecoder().decode(result.value.bytes) : result.kind);
const familyCounter = (stats: TestIsolate["stats"], key: string, name: "refreshes" | "refreshFailures" | "misses") =>
  stats.snapshot().families[familyOf(key).name]?.[name] ?? 0;

/** A key purge through the admin API, at `now` (a service token minted on that clock). */
const purgeKey = async (key: string, now: number) =>
  callWorker(
    `${EDGE}/_edge/v1/purge`,
    { method: "POST", headers: { authorization: `bearer ${await adminToken(now)}`, "content-type": "application/json" }, body: JSON.stringify({ keys: [key] }) },
    { now },
  );

/** The value's envelope as KV holds it, or undefined. */
async function kvExpiresAt(key: string): Promise<number | undefined> {
  const { metadata } = await KV.getWithMetadata<{ expiresAt?: number }>(key);
  return metadata?.expiresAt;
}

describe("refresh ahead through the shields", () => {
  // A small value the shield keeps, and one over SHIELD_MAX_VALUE_BYTES (vitest.config.ts) that
  // only KV holds: the shield's record of the refresh, not its copy, keeps the origin to one call.
  const cases = [
    { label: "a value the shield keeps", key: () => `auth:is_admin:oseh_u_${freshId("ra")}`, before: "1", after: "0" },
    {
      label: "a value too large for the shield's own storage",
      key: () => `content_files:vods:oseh_cfe_${freshId("ra")}:m3u`,
      before: `#EXTM3U\n${"#old\n".repeat(80)}`,
      after: `#EXTM3U\n${"#new\n".repeat(80)}`,
    },
  ];

  for (const { label, key: makeKey, before, after } of cases) {
    it(`a key read continuously across its expiry sees no miss and one origin fill (${label})`, async () => {
      const key = makeKey();
      expect(new TextEncoder().encode(after).byteLength > config.shieldMaxValueBytes).toBe(label.includes("too large"));
      await setOriginValue(key, before);
      // Two colos: `here` with the default colo's Cache API, `away` with KV only; each its own isolate.
      const here = testIsolate();
      const away = testIsolate({ l1: false });
      expect(await here.load(key, NOW)).toMatchObject({ kind: "value", state: "miss", stored: true });
      expect(await fillCount(key)).toBe(1);
      const missesBefore = familyCounter(here.stats, key, "misses");
      const refreshFrom = refreshAheadFrom({ storedAt: NOW, expiresAt: NOW + LIFE });
      expect(refreshFrom).toBe(NOW + LIFE - 60);

      // The origin's value changes; readers keep reading, every 7 s, until two lifetimes have passed.
      await setOriginValue(key, after);
      const seen = new Map([here, away].map((reader) => [reader, [] as string[]]));
      // A third isolate (another colo) that holds the old value in L0 when it enters the window,
      // after `here` refreshed it: its ask finds the lifetime recorded at the shield, which for a
      // value too large for the shield's storage is the only thing keeping the origin to one call.
      const late = testIsolate({ l1: false });
      for (let t = NOW + 1; t < NOW + 2 * LIFE; t += 7) {
        for (const reader of [here, away]) {
          const result = await reader.load(key, t);
          expect(result, `read at +${t - NOW} s`).toMatchObject({ kind: "value", state: "hit" });
          seen.get(reader)?.push(text(result));
        }
        if (t >= NOW + LIFE - 70 && t < NOW + LIFE - 36) {
          const result = await late.load(key, t);
          expect(result, `late read at +${t - NOW} s`).toMatchObject({ kind: "value", state: "hit" });
        }
      }
      expect(familyCounter(late.stats, key, "refreshes")).toBe(1);
      // One refresh per lifetime: the first value's last minute, then the new value's own.
      expect(await fillCount(key)).toBe(3);
      // Each reader: the old value until the refresh reached it, the new one from then on.
      for (const values of seen.values()) {
        expect(values[0]).toBe(before);
        const switched = values.indexOf(after);
        expect(switched).toBeGreaterThan(0);
        expect(values.slice(switched).every((value) => value === after)).toBe(true);
      }
      expect(familyCounter(here.stats, key, "misses") + familyCounter(away.stats, key, "misses")).toBe(missesBefore);
      // Each isolate asked once per lifetime; the shield asked the origin once per lifetime for both.
      expect(familyCounter(here.stats, key, "refreshes") + familyCounter(away.stats, key, "refreshes")).toBeGreaterThanOrEqual(2);
      expect(familyCounter(here.stats, key, "refreshFailures") + familyCounter(away.stats, key, "refreshFailures")).toBe(0);
    });
  }

  it("a key nobody reads in its last minute is not refreshed", async () => {
    const key = `auth:is_admin:oseh_u_${freshId("ra")}`;
    await setOriginValue(key, "1");
    const reader = testIsolate();
    await reader.load(key, NOW);
    // Read before the window, then not again until after the expiry: a plain miss and fill.
    expect(await reader.load(key, NOW + LIFE - 61)).toMatchObject({ kind: "value", state: "hit" });
    expect(await fillCount(key)).toBe(1);
    expect(await reader.load(key, NOW + LIFE + 1)).toMatchObject({ kind: "value", state: "miss" });
    expect(await fillCount(key)).toBe(2);
    expect(familyCounter(reader.stats, key, "refreshes")).toBe(0);
  });

  it("a purge during the refresh wins: the refresh's value is stored nowhere", async () => {
    const key = `auth:is_admin:oseh_u_${freshId("ra")}`;
    await setOriginValue(key, "1");
    const reader = testIsolate();
    await reader.load(key, NOW);
    await setOriginValue(key, "0");
    await setFault(key, { kind: "slow", ms: HOLD_MS }, 1);
    const at = NOW + LIFE - 30;
    // The hit answers at once, with the value it has; the refresh runs behind it.
    const hit = await reader.start(key, at);
    expect(hit).toMatchObject({ kind: "value", state: "hit" });
    expect(text(hit)).toBe("1");
    for (let i = 0; i < 500 && (await fillCount(key)) < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await fillCount(key)).toBe(2);
    expect((await purgeKey(key, at)).status).toBe(200);
    await reader.settle();
    // Nothing of the refresh anywhere: KV, the shield's storage, a reader in another colo.
    expect(await KV.get(key)).toBeNull();
    expect(await shieldRow(key)).toBeUndefined();
    expect(await testIsolate({ l1: false }).read(key, at + 1)).toEqual({ state: "miss" });
    expect(familyCounter(reader.stats, key, "refreshes")).toBe(1);
    expect(familyCounter(reader.stats, key, "refreshFailures")).toBe(0);
  });

  describe("a failing origin", () => {
    const logs = captureConsoleErrors(/"msg":"(refresh ahead failed|origin fill failed)"/);

    it("changes nothing for readers until the value would have expired anyway", async () => {
      const key = `auth:is_admin:oseh_u_${freshId("ra")}`;
      await setOriginValue(key, "1");
      const here = testIsolate();
      const away = testIsolate({ l1: false });
      await here.load(key, NOW);
      const expiresAt = await kvExpiresAt(key);
      expect(expiresAt).toBe(NOW + LIFE);
      await setFault(key, { kind: "status", status: 500 });
      try {
        for (let t = NOW + LIFE - 59; t < NOW + LIFE; t += 5) {
          for (const reader of [here, away]) {
            const result = await reader.load(key, t);
            expect(result, `read at +${t - NOW} s`).toMatchObject({ kind: "value", state: "hit" });
            expect(text(result)).toBe("1");
          }
        }
        // One refresh for the lifetime, edge-wide, failed; the other isolate's ask found it recorded.
        expect(await fillCount(key)).toBe(2);
        expect(await kvExpiresAt(key)).toBe(expiresAt);
        expect(familyCounter(here.stats, key, "refreshFailures") + familyCounter(away.stats, key, "refreshFailures")).toBe(1);
        // At the expiry, today's rule: the origin still failing, the last good value is served stale.
        expect(await here.load(key, NOW + LIFE)).toMatchObject({ kind: "value", state: "stale" });
        expect(await fillCount(key)).toBe(3);
      } finally {
        await clearFault(key);
      }
      expect(logs.lines().some((line) => line.includes("refresh ahead failed"))).toBe(true);
    });
  });
});
