/**
 * Media leases at the shield (docs/storage-schema.md §Shield "Leases") on the real Durable Object
 * and R2: renewed while the write makes progress, lapsing when it stops — and then the write's
 * object is removed and its commit refused, whoever comes back later.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import { getFamily } from "../../src/keys";
import { createShieldClient, type FamilyShield } from "../../src/shield";
import { newWriterObjectKey } from "../../src/storage";
import { freshId, wallNow } from "../dev-origin/helpers";

const config = parseConfig(env);
const binding = (env as unknown as { FAMILY_SHIELD: DurableObjectNamespace<FamilyShield> }).FAMILY_SHIELD;
const MEDIA = (env as unknown as { MEDIA: R2Bucket }).MEDIA;
const shield = createShieldClient(binding, { shards: config.shieldShards });
const S3 = getFamily("s3_files:{uid}");
if (S3 === undefined) throw new Error("s3_files is registered");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const freshKey = (label: string) => `s3_files:oseh_s3f_${freshId(label)}`;

/** Waits (bounded) until the object is gone; true if it went. */
async function goneWithin(objectKey: string, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
    if ((await MEDIA.head(objectKey)) === null) return true;
  }
  return (await MEDIA.head(objectKey)) === null;
}

describe("shield: media leases", () => {
  it("a writer that stops (its upload done, its commit never sent): the lease lapses, the object goes, a late commit is refused", async () => {
    const key = freshKey("lapse");
    const objectKey = newWriterObjectKey();
    const now = wallNow();
    const lease = await shield.lease(key, S3, now, { ttlMs: 200, objectKey });
    await MEDIA.put(objectKey, new Uint8Array(1000).fill(7));
    expect(await goneWithin(objectKey, 5000)).toBe(true);
    let published = 0;
    const publish = async () => {
      published += 1;
      return { ok: true as const };
    };
    expect(await lease.commit(publish, now)).toEqual({ committed: false });
    const write = await shield.lease(key, S3, now, { ttlMs: 200, objectKey: newWriterObjectKey() });
    await sleep(600);
    expect(await write.commitWrite(publish, now, { valueExpiresAt: now + 900 })).toEqual({ applied: false, reason: "overtaken" });
    expect(published).toBe(0);
  });

  it("a writer that keeps making progress renews its lease: it commits after three lease lengths, its object kept", async () => {
    const key = freshKey("renew");
    const objectKey = newWriterObjectKey();
    const now = wallNow();
    const lease = await shield.lease(key, S3, now, { ttlMs: 1000, objectKey });
    await MEDIA.put(objectKey, new Uint8Array(1000).fill(7));
    for (const end = Date.now() + 3000; Date.now() < end; ) {
      await sleep(200);
      lease.progress(); // bytes reached R2
    }
    let published = 0;
    expect(await lease.commit(async () => ((published += 1), { ok: true as const }), now)).toMatchObject({ committed: true });
    expect(published).toBe(1);
    expect(await MEDIA.head(objectKey)).not.toBeNull();
    await MEDIA.delete(objectKey);
  });

  it("a lapsed lease that names a content-addressed object leaves it (it may back other pointers)", async () => {
    const key = freshKey("shared");
    const now = wallNow();
    const shared = `objects/${"ab".repeat(32)}`;
    await MEDIA.put(shared, new Uint8Array(10).fill(1));
    await shield.lease(key, S3, now, { ttlMs: 200, objectKey: shared });
    // A lease taken after it, with the same length, lapses after it: once its object is gone,
    // the first lease has lapsed too.
    const later = newWriterObjectKey();
    await MEDIA.put(later, new Uint8Array(10).fill(2));
    await shield.lease(key, S3, now, { ttlMs: 200, objectKey: later });
    expect(await goneWithin(later, 5000)).toBe(true);
    expect(await MEDIA.head(shared)).not.toBeNull();
  });
});
