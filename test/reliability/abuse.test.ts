/**
 * Abuse (docs/reliability.md "Abuse"): failed admin-API authentication is rate-limited per client
 * with the Workers Rate Limiting binding, which miniflare runs locally (wrangler.toml
 * `[[env.dev.ratelimits]]`: 10 failures per 60 s).
 */
import { describe, expect, it } from "vitest";
import { adminToken } from "../helpers/tokens";
import { edge, wallNow } from "./helpers";

const LIMIT = 10; // wrangler.toml ADMIN_AUTH_LIMITER simple.limit

/** The binding counts in fixed windows of the wall clock: start well inside one. */
async function awayFromWindowEdge(periodSeconds = 60): Promise<void> {
  const intoWindow = (Date.now() / 1000) % periodSeconds;
  if (intoWindow > periodSeconds - 5) await new Promise((resolve) => setTimeout(resolve, (periodSeconds - intoWindow + 0.2) * 1000));
}

function families(headers: Record<string, string>): Promise<Response> {
  return edge("/_edge/v1/families", { headers });
}

describe("failed admin-API auth", () => {
  it("is rate-limited per client: past the limit, failures answer 429 rate_limited; other clients and valid tokens are unaffected", async () => {
    await awayFromWindowEdge();
    const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++) statuses.push((await families({ authorization: "bearer not.a.token", "CF-Connecting-IP": ip })).status);
    expect(statuses.slice(0, LIMIT)).toEqual(Array(LIMIT).fill(403));
    expect(statuses.slice(LIMIT)).toEqual([429, 429]);

    const limited = await families({ authorization: "bearer not.a.token", "CF-Connecting-IP": ip });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(((await limited.json()) as { type: string }).type).toBe("rate_limited");
    // A missing header is a failure too.
    expect((await families({ "CF-Connecting-IP": ip })).status).toBe(429);

    // The operator behind the same address still gets in; another client is judged on its own.
    expect((await families({ authorization: `bearer ${await adminToken(wallNow())}`, "CF-Connecting-IP": ip })).status).toBe(200);
    expect((await families({ authorization: "bearer not.a.token", "CF-Connecting-IP": `${ip}0` })).status).toBe(403);
  });
});
