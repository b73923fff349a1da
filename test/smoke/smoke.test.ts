import { env, exports } from "cloudflare:workers";
import { expect, it } from "vitest";

it("serves and has KV + cache", async () => {
  const res = await exports.default.fetch("http://edge.test/x");
  expect(res.status).toBe(200);
  await env.CACHE.put("a", "b");
  expect(await env.CACHE.get("a")).toBe("b");
  await caches.default.put("http://edge.test/l1", new Response("hi", { headers: { "cache-control": "max-age=30" } }));
  const m = await caches.default.match("http://edge.test/l1");
  expect(await m?.text()).toBe("hi");
});
