/**
 * The README walkthrough as a test: the Worker's own fetch in front of the dev origin (real HTTP),
 * real KV and Cache API. Each step is what a newcomer sees after `npm start`.
 */
import { describe, expect, it } from "vitest";
import { AUTH_BODIES } from "../../src/auth/bearer";
import { callWorker, uniqueId } from "../helpers/worker";
import { adminToken, idToken, signToken, TEST_SECRETS } from "../helpers/tokens";

const EDGE = "http://edge.test";
const USER = "oseh_u_devUser00000000000001";
const BOSS = "oseh_u_devAdmin0000000000001";
/** The dev origin checks id tokens against its own (wall) clock, so the edge runs on it too. */
const now = (): number => Date.now() / 1000;

async function startJourney(uid: string, token: string): Promise<Response> {
  return callWorker(
    `${EDGE}/api/1/users/me/start_journey_from_history`,
    {
      method: "POST",
      headers: { authorization: `bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ journey_uid: uid }),
    },
    { now },
  );
}

describe("walkthrough", () => {
  it("journey start: delegated render, miss → hit, purge → miss", async () => {
    const token = await idToken(USER, now());
    // A generated journey of its own, so other test files' purges and fills never interfere.
    const uid = `oseh_j_gen${uniqueId("walk")}`;

    const first = await startJourney(uid, token);
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(first.headers.get("cache-control")).toBe("no-store");
    expect(first.headers.get("cache-status")).toMatch(/fwd=miss/);
    // The template's fill: its phases follow the edge's own time (src/cache/phases.ts).
    expect(first.headers.get("server-timing")).toMatch(/^edge;dur=\d+, tier;dur=\d+, shield;dur=\d+, origin;dur=\d+, store;dur=\d+$/);
    const body = JSON.parse(await first.text()) as { uid: string; jwt: string };
    expect(body.uid).toBe(uid);
    expect(body.jwt.split(".")).toHaveLength(3);

    const second = await startJourney(uid, token);
    expect(second.headers.get("cache-status")).toMatch(/; hit/);

    const purge = await callWorker(
      `${EDGE}/_edge/v1/purge`,
      {
        method: "POST",
        headers: { authorization: `bearer ${await adminToken(now())}`, "content-type": "application/json" },
        body: JSON.stringify({ keys: [`journeys:external:${uid}`] }),
      },
      { now },
    );
    expect(purge.status).toBe(200);
    expect(await purge.json()).toMatchObject({ purged: 1, cursor: null });

    const third = await startJourney(uid, token);
    expect(third.status).toBe(200);
    expect(third.headers.get("cache-status")).toMatch(/fwd=miss/);
  });

  it("transcript: the stored blob with Content-Length from its prefix", async () => {
    const uid = "oseh_t_devTranscript00000000001";
    const token = await signToken({
      secret: TEST_SECRETS.transcript,
      claims: { sub: uid, iss: "oseh", aud: "oseh-transcript", iat: Math.floor(now()) - 1, exp: Math.floor(now()) + 1800 },
    });
    const res = await callWorker(`${EDGE}/api/1/transcripts/${uid}`, { headers: { authorization: `bearer ${token}` } }, { now });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ uid });
    expect(Number(res.headers.get("content-length"))).toBe(new TextEncoder().encode(text).byteLength);
  });

  it("admin charts: admins get the stored bytes (gzip families as stored), others the backend's 403", async () => {
    const boss = await callWorker(
      `${EDGE}/api/1/admin/daily_active_users`,
      { headers: { authorization: `bearer ${await idToken(BOSS, now())}` } },
      { now },
    );
    expect(boss.status).toBe(200);
    expect(boss.headers.get("content-encoding")).toBeNull(); // A #12: plain compact JSON
    expect(boss.headers.get("cache-control")).toBe("private, max-age=300, stale-while-revalidate=600, stale-if-error=86400");
    expect(JSON.parse(await boss.text())).toHaveProperty("labels");

    const gz = await callWorker(
      `${EDGE}/api/1/admin/sms/daily_sms_sends`,
      { headers: { authorization: `bearer ${await idToken(BOSS, now())}` } },
      { now },
    );
    expect(gz.status).toBe(200);
    expect(gz.headers.get("content-encoding")).toBe("gzip"); // gz-json families are sent as stored (docs/families.md)
    const bytes = new Uint8Array(await gz.arrayBuffer());
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);

    const user = await callWorker(
      `${EDGE}/api/1/admin/daily_active_users`,
      { headers: { authorization: `bearer ${await idToken(USER, now())}` } },
      { now },
    );
    expect(user.status).toBe(403);
    expect(await user.text()).toBe(AUTH_BODIES.invalid);
  });

  it("profile pictures: the prompt's 2-second bin from the cache, each picture with a fresh image JWT", async () => {
    const prompt = "oseh_ip_devWord00000000000001";
    const seconds = Math.floor(now());
    const promptJwt = await signToken({
      secret: TEST_SECRETS.interactivePrompt,
      claims: { sub: prompt, iss: "oseh", aud: "oseh-interactive-prompt", iat: seconds - 1, exp: seconds + 1800 },
    });
    const userToken = await idToken(USER, seconds);
    const pictures = () =>
      callWorker(
        `${EDGE}/api/1/interactive_prompts/profile_pictures`,
        {
          method: "POST",
          headers: { authorization: `bearer ${userToken}`, "content-type": "application/json" },
          body: JSON.stringify({ uid: prompt, jwt: promptJwt, prompt_time: 4.5, limit: 5 }),
        },
        { now: () => seconds },
      );
    const first = await pictures();
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("private, max-age=120");
    expect(first.headers.get("cache-status")).toMatch(/fwd=miss/);
    const items = ((await first.json()) as { items: { picture: { uid: string; jwt: string } }[] }).items;
    expect(items).toHaveLength(5);
    for (const { picture } of items) expect(picture.uid).toMatch(/^oseh_if_devPicture\d\d$/);
    const second = await pictures();
    expect(second.headers.get("cache-status")).toMatch(/; hit/);
  });

  it("admins' id tokens open /_edge/v1; other users' do not", async () => {
    const boss = await callWorker(
      `${EDGE}/_edge/v1/families`,
      { headers: { authorization: `bearer ${await idToken(BOSS, now())}` } },
      { now },
    );
    expect(boss.status).toBe(200);
    const user = await callWorker(
      `${EDGE}/_edge/v1/families`,
      { headers: { authorization: `bearer ${await idToken(USER, now())}` } },
      { now },
    );
    expect(user.status).toBe(403);
    expect(await user.json()).toEqual({ type: "invalid", message: "token is invalid: not an admin" });
  });

  it("anything else is proxied unchanged", async () => {
    const res = await callWorker(`${EDGE}/api/1/dev/teapot`, {}, { now });
    expect(res.status).toBe(418);
    expect(res.headers.get("cache-status")).toBe("oseh-edge; fwd=bypass");
    expect(res.headers.get("server-timing")).toMatch(/^edge;dur=\d+$/);
  });
});
