/**
 * The one contract every storage implementation must meet (a shared suite catches what per-tier
 * tests miss, such as a back-fill that never runs). Run against each tier through the methods the
 * Worker calls on it — KV's get/put/delete, L0's and L1's under a generation, R2's object writer
 * and pointer — and against the tiered store (with and without L0 and L1), through a small adapter.
 */
import { describe, expect, it } from "vitest";
import { classifyFreshness } from "../../src/storage/envelope";
import { MAX_VALUE_BYTES } from "../../src/storage/limits";
import type { KvTier } from "../../src/storage/kv-tier";
import type { R2Tier } from "../../src/storage/r2-tier";
import type { GenerationalTier, PutResult, StoredValue } from "../../src/storage/tier";
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

/** A raw tier's read: the value regardless of age, with the envelope saying whether it is fresh. */
function rawRead(value: StoredValue | undefined, now: number): ContractRead {
  if (value === undefined) return undefined;
  const state = classifyFreshness(value.envelope, now, 0);
  return { state: state === "fresh" ? "fresh" : "expired", value };
}

/** KV, as the tiered store calls it. */
export function kvSubject(tier: KvTier): ContractSubject {
  return {
    afterExpiry: "expired",
    put: (key, value, now) => tier.put(key, value, now),
    delete: (key) => tier.delete(key),
    read: async (key, now) => rawRead(await tier.get(key, now), now),
  };
}

/** A local tier (L0, L1) under one generation, as the tiered store calls it. */
export function generationalSubject(tier: GenerationalTier, afterExpiry: "expired" | "gone" = "expired", generation = "0"): ContractSubject {
  return {
    afterExpiry,
    put: (key, value, now) => tier.putAt(key, value, now, generation),
    delete: (key) => tier.deleteAt(key, generation),
    read: async (key, now) => rawRead(await tier.getAt(key, generation, now), now),
  };
}

/** R2 as a fill and an admin PUT use it: the object streamed through its writer, then its pointer committed. */
export function r2Subject(tier: R2Tier): ContractSubject {
  return {
    afterExpiry: "expired",
    async put(key, value, now) {
      const { sha256: _learnt, ...pending } = value.envelope;
      const writer = tier.openObject(pending);
      if (!writer.ok) return writer;
      if (value.bytes.byteLength > 0) await writer.write(value.bytes);
      const written = await writer.close();
      return written.ok ? tier.commitPointer(key, written.pointer, now) : written;
    },
    delete: (key) => tier.delete(key),
    async read(key, now) {
      const pointer = await tier.readPointer(key);
      const body = pointer === undefined ? undefined : await tier.readObject(pointer);
      return body === undefined || pointer === undefined ? undefined : rawRead({ bytes: await readAll(body), envelope: pointer.envelope }, now);
    },
  };
}

/**
 * `checksWholeValues`: the subject checks a whole value before storing it (docs/storage-schema.md
 * "Checks before any write": KV's 25 MiB, the envelope against the bytes, header-safe metadata).
 * R2 does not: its objects stream through a writer bounded by their declared length and
 * MEDIA_MAX_OBJECT_BYTES (test/storage/r2-tier.test.ts tests those bounds).
 */
export function describeTierContract(name: string, makeSubject: () => ContractSubject | Promise<ContractSubject>, { checksWholeValues = true } = {}): void {
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

    if (checksWholeValues) {
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
    }

    it("refuses a key KV would refuse (over 512 bytes)", async () => {
      const { subject } = await setup("long-key");
      const key = "k".repeat(513);
      const result = await subject.put(key, await valueOf("x"), NOW);
      expect(result).toMatchObject({ ok: false, failure: { reason: "invalid_key" } });
      expect(await subject.read(key, NOW)).toBeUndefined();
    });
  });
}
