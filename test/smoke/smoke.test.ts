import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { loadBlocksVectors } from "../helpers/vectors";

it("has KV, the Cache API and the vectors", async () => {
  await env.CACHE.put("a", "b");
  expect(await env.CACHE.get("a")).toBe("b");
  await caches.default.put("http://edge.test/l1", new Response("hi", { headers: { "cache-control": "max-age=30" } }));
  const m = await caches.default.match("http://edge.test/l1");
  expect(await m?.text()).toBe("hi");
  expect(loadBlocksVectors().vectors.length).toBe(23);
});
