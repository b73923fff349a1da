import { describe, expect, it } from "vitest";
import { createCacheApiTier, familyCacheTag, l1MaxAge } from "../../src/storage/cache-api-tier";
import { BASE_URL, NOW, uniquePrefix, valueOf } from "./helpers";
import { describeTierContract, generationalSubject } from "./tier-contract";

/** The generation these tests store under (the tiered store passes the family's). */
const G = "0";

const MAX_AGE = 30;

describeTierContract("Cache API tier", async () =>
  generationalSubject(createCacheApiTier(await caches.open("oseh-edge-test"), { baseUrl: BASE_URL, maxAgeSeconds: MAX_AGE })),
);

describe("Cache API tier", () => {
  const open = () => caches.open("oseh-edge-test");

  it("stores under a synthetic GET URL on the Worker's own host, envelope as X-Edge-* headers", async () => {
    const cache = await open();
    const tier = createCacheApiTier(cache, { baseUrl: "https://edge.test/some/request?x=1", maxAgeSeconds: MAX_AGE });
    const key = `${uniquePrefix("layout")}journeys:external:oseh_j_a/b?c`;
    const value = await valueOf("bytes", { family: "journeys:external:{uid}", codec: "blocks", expiresAt: NOW + 100 });
    await tier.putAt(key, value, NOW, G);

    const url = `https://edge.test/_edge/l1/0/${encodeURIComponent(key)}`;
    expect(tier.urlFor(key, "0")).toBe(url);
    const raw = await cache.match(url);
    expect(raw).toBeDefined();
    expect(new TextDecoder().decode(await raw?.arrayBuffer())).toBe("bytes");
    const h = raw?.headers;
    expect(h?.get("cache-control")).toBe("max-age=30");
    expect(h?.get("cache-tag")).toBe("oseh-edge:journeys:external:{uid}");
    expect(h?.get("x-edge-family")).toBe(encodeURIComponent("journeys:external:{uid}"));
    expect(h?.get("x-edge-stored-at")).toBe(String(NOW));
    expect(h?.get("x-edge-expires-at")).toBe(String(NOW + 100));
    expect(h?.get("x-edge-codec")).toBe("blocks");
    expect(h?.get("x-edge-size")).toBe("5");
    expect(h?.get("x-edge-sha256")).toBe(value.envelope.sha256);
  });

  it("caps max-age at the seconds left before expiresAt, and never stores an expired value", async () => {
    const envelope = (await valueOf("x")).envelope;
    expect(l1MaxAge({ ...envelope, expiresAt: NOW + 100 }, NOW, 30)).toBe(30);
    expect(l1MaxAge({ ...envelope, expiresAt: NOW + 7 }, NOW, 30)).toBe(7);

    const cache = await open();
    const tier = createCacheApiTier(cache, { baseUrl: BASE_URL, maxAgeSeconds: MAX_AGE });
    const key = `${uniquePrefix("short")}k`;
    await tier.putAt(key, await valueOf("short", { expiresAt: NOW + 7 }), NOW, G);
    expect((await cache.match(tier.urlFor(key, "0")))?.headers.get("cache-control")).toBe("max-age=7");

    // An expired write removes the older copy rather than leaving it to be served.
    await tier.putAt(key, await valueOf("late", { expiresAt: NOW }), NOW, G);
    expect(await tier.getAt(key, G, NOW)).toBeUndefined();
  });

  it("puts the generation in the URL, so a new generation cannot see older entries", async () => {
    const cache = await open();
    const tier = createCacheApiTier(cache, { baseUrl: BASE_URL, maxAgeSeconds: MAX_AGE });
    const key = `${uniquePrefix("gen")}k`;
    await tier.putAt(key, await valueOf("old generation"), NOW, "g1");
    expect(tier.urlFor(key, "g1")).not.toBe(tier.urlFor(key, "g2"));
    expect(await tier.getAt(key, "g2", NOW)).toBeUndefined();
    expect(new TextDecoder().decode((await tier.getAt(key, "g1", NOW))?.bytes)).toBe("old generation");
    await tier.deleteAt(key, "g1");
    expect(await tier.getAt(key, "g1", NOW)).toBeUndefined();
  });

  it("returns fresh bytes on every read (no body shared between requests)", async () => {
    const tier = createCacheApiTier(await open(), { baseUrl: BASE_URL, maxAgeSeconds: MAX_AGE });
    const key = `${uniquePrefix("copies")}k`;
    await tier.putAt(key, await valueOf("abc"), NOW, G);
    const a = await tier.getAt(key, G, NOW);
    const b = await tier.getAt(key, G, NOW);
    expect(a?.bytes).toBeInstanceOf(Uint8Array);
    expect(a?.bytes.buffer).not.toBe(b?.bytes.buffer);
    a?.bytes.fill(0);
    expect(new TextDecoder().decode(b?.bytes)).toBe("abc");
    expect(new TextDecoder().decode((await tier.getAt(key, G, NOW))?.bytes)).toBe("abc");
  });

  it("works on caches.default too", async () => {
    const tier = createCacheApiTier(caches.default, { baseUrl: BASE_URL, maxAgeSeconds: MAX_AGE });
    const key = `${uniquePrefix("default")}k`;
    await tier.putAt(key, await valueOf("in default"), NOW, G);
    expect(new TextDecoder().decode((await tier.getAt(key, G, NOW))?.bytes)).toBe("in default");
  });

  it("makes Cache-Tag values printable ASCII without commas", () => {
    expect(familyCacheTag("daily_active_users:{unix_date}")).toBe("oseh-edge:daily_active_users:{unix_date}");
    expect(familyCacheTag("a, b")).toBe("oseh-edge:a%2C%20b");
  });
});
