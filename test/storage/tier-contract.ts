/**
 * The one contract every storage implementation must meet (STYLE: a shared suite catches what
 * per-tier tests miss, such as a back-fill that never runs). Run against the KV tier, the Cache
 * API tier and the tiered store (with and without L1) through a small adapter.
 */
import { describe, expect, it } from "vitest";
import { classifyFreshness } from "../../src/storage/envelope";
import { MAX_VALUE_BYTES } from "../../src/storage/limits";
import { streamOf } from "../../src/storage/streams";
import type { PutResult, StoredValue, StreamingTier, Tier } from "../../src/storage/tier";
import { readAll } from "../../src/util/bytes";
import { NOW, uniquePrefix, valueOf } from "./helpers";

export type ContractRead = { state: "fresh" | "stale" | "expired"; value: StoredValue } | undefined;

export interface ContractSubject {
  put(key: string, value: StoredValue, now: number): Promise<PutResult>;
  /** What a reader at `now` gets: the value with its freshness, or a miss. */
  read(key: string, now: number): Promise<ContractRead>;
  delete(key: string): Promise<void>;
  /**
   * How a value reads one second after `expiresAt`: a raw tier still returns it (expired), the
   * store serves it stale, L0 has forgotten it (gone).
   */
  readonly afterExpiry: "expired" | "stale" | "gone";
}

/** Adapts a raw tier: it returns values regardless of age, and the envelope says whether they are fresh. */
export function tierSubject(tier: Tier, afterExpiry: "expired" | "gone" = "expired"): ContractSubject {
  return {
    afterExpiry,
    put: (key, value, now) => tier.put(key, value, now),
    delete: (key) => tier.delete(key),
    async read(key, now) {
      const value = await tier.get(key, now);
      if (value === undefined) return undefined;
      const state = classifyFreshness(value.envelope, now, 0);
      return { state: state === "fresh" ? "fresh" : "expired", value };
    },
  };
}

export function describeTierContract(name: string, makeSubject: () => ContractSubject | Promise<ContractSubject>): void {
  describe(`tier contract: ${name}`, () => {
    const setup = async (label: string) => ({ subject: await makeSubject(), key: `${uniquePrefix(label)}k` });

    it("misses a key that was never stored", async () => {
      const { subject, key } = await setup("miss");
      expect(await subject.read(key, NOW)).toBeUndefined();
    });

    it("hits a stored value with its bytes and envelope", async () => {
      const { subject, key } = await setup("hit");
      const value = await valueOf("hello edge");
      expect(await subject.put(key, value, NOW)).toEqual({ ok: true });
      const read = await subject.read(key, NOW + 1);
      expect(read?.state).toBe("fresh");
      expect(new TextDecoder().decode(read?.value.bytes)).toBe("hello edge");
      expect(read?.value.envelope).toEqual(value.envelope);
    });

    it("decides expiry from the envelope with the injected clock", async () => {
      const { subject, key } = await setup("expiry");
      await subject.put(key, await valueOf("soon stale", { expiresAt: NOW + 100 }), NOW);
      expect((await subject.read(key, NOW + 99))?.state).toBe("fresh");
      const after = await subject.read(key, NOW + 101);
      if (subject.afterExpiry === "gone") {
        expect(after).toBeUndefined();
      } else {
        expect(after?.state).toBe(subject.afterExpiry);
        expect(new TextDecoder().decode(after?.value.bytes)).toBe("soon stale");
      }
    });

    it("overwrites a value", async () => {
      const { subject, key } = await setup("overwrite");
      await subject.put(key, await valueOf("first"), NOW);
      const second = await valueOf("second", { expiresAt: NOW + 200 }, NOW + 2);
      expect(await subject.put(key, second, NOW + 2)).toEqual({ ok: true });
      const read = await subject.read(key, NOW + 3);
      expect(new TextDecoder().decode(read?.value.bytes)).toBe("second");
      expect(read?.value.envelope).toEqual(second.envelope);
    });

    it("deletes, idempotently", async () => {
      const { subject, key } = await setup("delete");
      await subject.put(key, await valueOf("doomed"), NOW);
      await subject.delete(key);
      expect(await subject.read(key, NOW)).toBeUndefined();
      await subject.delete(key);
      await subject.delete(`${key}-never-stored`);
      expect(await subject.read(key, NOW)).toBeUndefined();
    });

    it("round-trips every envelope field", async () => {
      const { subject, key } = await setup("metadata");
      const value = await valueOf("meta", {
        family: "journeys:external:{uid} with, comma/slash%25",
        codec: "gzip-json",
        expiresAt: NOW + 86_400,
      }, NOW - 7);
      await subject.put(key, value, NOW);
      const read = await subject.read(key, NOW);
      expect(read?.value.envelope).toEqual({
        family: "journeys:external:{uid} with, comma/slash%25",
        storedAt: NOW - 7,
        expiresAt: NOW + 86_400,
        codec: "gzip-json",
        size: 4,
        sha256: value.envelope.sha256,
      });
    });

    it("stores binary values with all 256 byte values", async () => {
      const { subject, key } = await setup("binary");
      const bytes = new Uint8Array(512);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + 3) % 256;
      await subject.put(key, await valueOf(bytes), NOW);
      const read = await subject.read(key, NOW);
      expect(read?.value.bytes).toEqual(bytes);
      expect(new Set(read?.value.bytes).size).toBe(256);
    });

    it("stores an empty value", async () => {
      const { subject, key } = await setup("empty");
      await subject.put(key, await valueOf(new Uint8Array(0)), NOW);
      const read = await subject.read(key, NOW);
      expect(read?.state).toBe("fresh");
      expect(read?.value.bytes.byteLength).toBe(0);
      expect(read?.value.envelope.size).toBe(0);
    });

    it("accepts exactly 25 MiB (KV's limit is inclusive)", async () => {
      const { subject, key } = await setup("max");
      const bytes = new Uint8Array(MAX_VALUE_BYTES);
      bytes[0] = 1;
      bytes[MAX_VALUE_BYTES - 1] = 255;
      const value = await valueOf(bytes);
      expect(await subject.put(key, value, NOW)).toEqual({ ok: true });
      const read = await subject.read(key, NOW);
      expect(read?.value.bytes.byteLength).toBe(MAX_VALUE_BYTES);
      expect(read?.value.bytes[MAX_VALUE_BYTES - 1]).toBe(255);
      expect(read?.value.envelope.sha256).toBe(value.envelope.sha256);
    });

    it("refuses 25 MiB + 1 byte before writing anything", async () => {
      const { subject, key } = await setup("too-large");
      const result = await subject.put(key, await valueOf(new Uint8Array(MAX_VALUE_BYTES + 1)), NOW);
      expect(result).toMatchObject({ ok: false, failure: { reason: "too_large", size: MAX_VALUE_BYTES + 1, limit: MAX_VALUE_BYTES } });
      expect(await subject.read(key, NOW)).toBeUndefined();
      // …and an existing value is left as it was.
      await subject.put(key, await valueOf("kept"), NOW);
      await subject.put(key, await valueOf(new Uint8Array(MAX_VALUE_BYTES + 1)), NOW);
      expect(new TextDecoder().decode((await subject.read(key, NOW))?.value.bytes)).toBe("kept");
    });

    it("refuses an envelope whose size does not match the bytes", async () => {
      const { subject, key } = await setup("mismatch");
      const value = await valueOf("four");
      const result = await subject.put(key, { bytes: value.bytes, envelope: { ...value.envelope, size: 5 } }, NOW);
      expect(result).toMatchObject({ ok: false, failure: { reason: "invalid_envelope" } });
      expect(await subject.read(key, NOW)).toBeUndefined();
    });

    it("refuses a non-ASCII family or codec (metadata travels as a header)", async () => {
      const { subject, key } = await setup("non-ascii");
      const result = await subject.put(key, await valueOf("x", { family: "fam:✓" }), NOW);
      expect(result).toMatchObject({ ok: false, failure: { reason: "invalid_envelope" } });
      expect(await subject.read(key, NOW)).toBeUndefined();
    });

    it("refuses a key KV would refuse (over 512 bytes)", async () => {
      const { subject } = await setup("long-key");
      const key = "k".repeat(513);
      const result = await subject.put(key, await valueOf("x"), NOW);
      expect(result).toMatchObject({ ok: false, failure: { reason: "invalid_key" } });
      expect(await subject.read(key, NOW)).toBeUndefined();
    });
  });
}

/** What a streaming tier adds to the contract: streamed reads, byte ranges, checked streamed writes. */
export function describeStreamingContract(name: string, makeTier: () => StreamingTier | Promise<StreamingTier>): void {
  describe(`streaming tier contract: ${name}`, () => {
    const setup = async (label: string) => ({ tier: await makeTier(), key: `${uniquePrefix(label)}k` });
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

    it("streams a stored value with its envelope", async () => {
      const { tier, key } = await setup("stream");
      const value = await valueOf("streamed bytes");
      await tier.put(key, value, NOW);
      const read = await tier.getStream(key, NOW);
      expect(read?.envelope).toEqual(value.envelope);
      expect(read?.range).toBeUndefined();
      expect(text(await readAll(read!.body))).toBe("streamed bytes");
    });

    it("reads byte ranges, and misses a range past the end", async () => {
      const { tier, key } = await setup("range");
      await tier.put(key, await valueOf("0123456789"), NOW);
      const middle = await tier.getStream(key, NOW, { offset: 3, length: 4 });
      expect(middle?.range).toEqual({ offset: 3, length: 4 });
      expect(text(await readAll(middle!.body))).toBe("3456");
      const tail = await tier.getStream(key, NOW, { offset: 8 });
      expect(text(await readAll(tail!.body))).toBe("89");
      expect(middle?.envelope.size).toBe(10);
      expect(await tier.getStream(key, NOW, { offset: 10 })).toBeUndefined();
      expect(await tier.getStream(`${key}-never`, NOW)).toBeUndefined();
    });

    it("stores a streamed value whole", async () => {
      const { tier, key } = await setup("put-stream");
      const value = await valueOf("from a stream");
      expect(await tier.putStream(key, streamOf(value)!, NOW)).toEqual({ ok: true });
      expect(text((await tier.get(key, NOW))!.bytes)).toBe("from a stream");
    });

    it("refuses a streamed body that disagrees with its envelope, storing nothing", async () => {
      const { tier, key } = await setup("put-stream-bad");
      const value = await valueOf("honest");
      const other = await valueOf("liar!!");
      const swapped = await tier.putStream(key, { body: streamOf(other)!.body, envelope: value.envelope }, NOW);
      expect(swapped).toMatchObject({ ok: false, failure: { reason: "invalid_envelope" } });
      const short = await tier.putStream(key, { body: streamOf(await valueOf("hon"))!.body, envelope: value.envelope }, NOW);
      expect(short).toMatchObject({ ok: false, failure: { reason: "invalid_envelope" } });
      expect(await tier.get(key, NOW)).toBeUndefined();
    });
  });
}
