import { describe, expect, it } from "vitest";
import { createKvTier, kvExpirationTtl } from "../../src/storage/kv-tier";
import { KV, NOW, noSleep, rateLimitedKv, recordingSleep, uniquePrefix, valueOf } from "./helpers";
import { describeTierContract, kvSubject } from "./tier-contract";

const GRACE = 300;

describeTierContract("KV tier", () => kvSubject(createKvTier(KV, { graceSeconds: GRACE, sleep: noSleep })));

describe("KV tier", () => {
  const tier = () => createKvTier(KV, { graceSeconds: GRACE, sleep: noSleep });

  it("uses the family key itself as the KV key, the bytes as the value and the envelope as metadata", async () => {
    const key = `${uniquePrefix("layout")}journeys:external:oseh_j_abc`;
    const value = await valueOf("raw bytes");
    await tier().put(key, value, NOW);
    const raw = await KV.getWithMetadata(key, { type: "text" });
    expect(raw.value).toBe("raw bytes");
    expect(raw.metadata).toEqual(value.envelope);
  });

  it("sets the GC backstop to max(60 s, expiresAt + grace − now) from KV's own clock", async () => {
    expect(kvExpirationTtl({ ...(await valueOf("x")).envelope, expiresAt: NOW + 100 }, NOW, GRACE)).toBe(400);
    expect(kvExpirationTtl({ ...(await valueOf("x")).envelope, expiresAt: NOW - 1000 }, NOW, GRACE)).toBe(60);
    expect(kvExpirationTtl({ ...(await valueOf("x")).envelope, expiresAt: NOW + 10 }, NOW, 0)).toBe(60);

    const prefix = uniquePrefix("ttl");
    // The injected clock is years away from KV's; the put must still succeed with a sane expiration.
    await tier().put(`${prefix}a`, await valueOf("a", { expiresAt: NOW + 100 }), NOW);
    await tier().put(`${prefix}b`, await valueOf("b", { expiresAt: NOW - 5000 }), NOW);
    const listed = await KV.list({ prefix });
    const realNow = Math.floor(Date.now() / 1000);
    const expiration = Object.fromEntries(listed.keys.map((k) => [k.name.slice(prefix.length), k.expiration ?? 0]));
    expect(expiration.a).toBeGreaterThanOrEqual(realNow + 400 - 5);
    expect(expiration.a).toBeLessThanOrEqual(realNow + 400 + 5);
    expect(expiration.b).toBeGreaterThanOrEqual(realNow + 60 - 5);
    expect(expiration.b).toBeLessThanOrEqual(realNow + 60 + 5);
  });

  it("stores a value whose expiry is decades away (the GC backstop is capped at a year)", async () => {
    const key = `${uniquePrefix("far")}k`;
    const far = 999_999_999_999; // the largest X-Edge-Expires-At the origin client accepts
    expect(kvExpirationTtl({ ...(await valueOf("x")).envelope, expiresAt: far }, NOW, GRACE)).toBe(365 * 24 * 3600);
    const value = await valueOf("far", { expiresAt: far });
    expect(await tier().put(key, value, NOW)).toEqual({ ok: true });
    expect((await tier().get(key, NOW))?.envelope.expiresAt).toBe(far);
  });

  it("refuses an envelope over 1024 bytes of metadata before writing", async () => {
    const key = `${uniquePrefix("meta-big")}k`;
    const result = await tier().put(key, await valueOf("x", { family: "f".repeat(1000) }), NOW);
    expect(result).toMatchObject({ ok: false, failure: { reason: "metadata_too_large", limit: 1024 } });
    expect(await KV.get(key)).toBeNull();
  });

  it("ignores values it did not write (no envelope) and values whose size disagrees", async () => {
    const prefix = uniquePrefix("foreign");
    await KV.put(`${prefix}plain`, "no metadata");
    const value = await valueOf("abc");
    await KV.put(`${prefix}short`, "ab", { metadata: value.envelope });
    expect(await tier().get(`${prefix}plain`, NOW)).toBeUndefined();
    expect(await tier().get(`${prefix}short`, NOW)).toBeUndefined();
  });

  it("reads the envelope alone", async () => {
    const key = `${uniquePrefix("envelope")}k`;
    const value = await valueOf(new Uint8Array(100_000));
    await tier().put(key, value, NOW);
    expect(await tier().getEnvelope(key)).toEqual(value.envelope);
    expect(await tier().getEnvelope(`${key}-missing`)).toBeUndefined();
  });

  it("retries KV's 429 with exponential backoff, then stores", async () => {
    const key = `${uniquePrefix("retry")}k`;
    const limited = rateLimitedKv(KV, 2);
    const { sleep, delays } = recordingSleep();
    const retries: number[] = [];
    const kvTier = createKvTier(limited.kv, { graceSeconds: GRACE, sleep, onRetry: ({ attempt }) => retries.push(attempt) });
    expect(await kvTier.put(key, await valueOf("after 429s"), NOW)).toEqual({ ok: true });
    expect(delays).toEqual([1000, 2000]);
    expect(retries).toEqual([1, 2]);
    expect(await KV.get(key)).toBe("after 429s");
  });

  it("gives up after a bounded number of attempts with a typed failure", async () => {
    const key = `${uniquePrefix("retry-exhausted")}k`;
    const { sleep, delays } = recordingSleep();
    const kvTier = createKvTier(rateLimitedKv(KV, 100).kv, { graceSeconds: GRACE, sleep });
    const result = await kvTier.put(key, await valueOf("never"), NOW);
    expect(result).toMatchObject({ ok: false, failure: { reason: "rate_limited", attempts: 4 } });
    expect(delays).toEqual([1000, 2000, 4000]);
    expect(await KV.get(key)).toBeNull();
  });

  it("retries 429 on delete too", async () => {
    const key = `${uniquePrefix("retry-delete")}k`;
    await tier().put(key, await valueOf("x"), NOW);
    const { sleep, delays } = recordingSleep();
    await createKvTier(rateLimitedKv(KV, 1).kv, { graceSeconds: GRACE, sleep }).delete(key);
    expect(delays).toEqual([1000]);
    expect(await KV.get(key)).toBeNull();
  });
});

