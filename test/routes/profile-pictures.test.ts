/**
 * `POST /api/1/interactive_prompts/profile_pictures` (docs/routes.md, "Interactive prompt profile
 * pictures"): the pure body planning and stored-value reading, then end to end through the
 * Worker's own fetch against the dev origin, in the production topology (shield bound, L0 on).
 *
 * Bodies are compared byte for byte with what the backend sends: `ReadInteractivePromptProfilePicturesResponse
 * .model_dump_json()` (profile_pictures.py:156-178) is compact JSON, fields in model order, each
 * picture's `jwt` from `image_files.auth.create_jwt` (PyJWT: header `{"alg":"HS256","typ":"JWT"}`,
 * claims `sub, iss, aud, iat = now − 1, exp = now + 1800`), built here by hand, not by the edge's encoder.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { planProfilePictures, readStoredPictures } from "../../src/routes/profile-pictures-plan";
import { idToken, signToken, TEST_SECRETS } from "../helpers/tokens";
import { callWorker, uniqueId } from "../helpers/worker";
import { fillCount, setOriginValue } from "../helpers/dev-origin";
import { AUTH_BODY } from "./helpers";
import { originReceived, productionEnv, wallNow } from "./edge";

const EDGE = "https://edge.test";
const PATH = "/api/1/interactive_prompts/profile_pictures";
const USER = "oseh_u_devUser00000000000001";
const ENV = productionEnv();
const NOT_FOUND = '{"detail":"Not Found"}'; // the dev origin answers an unrouted request like FastAPI

/** A generated prompt of the dev origin (10–60 s long, dev/origin/fixtures/content.ts), fresh per test. */
const freshPrompt = () => `oseh_ip_gen${uniqueId("pp")}`;

function promptJwt(uid: string, now: number, overrides: Record<string, unknown> = {}, secret: string = TEST_SECRETS.interactivePrompt): Promise<string> {
  return signToken({ secret, claims: { sub: uid, iss: "oseh", aud: "oseh-interactive-prompt", iat: now - 1, exp: now + 1800, ...overrides } });
}

/** `image_files.auth.create_jwt(uid)` at `now`, as PyJWT writes it. */
function imageJwt(uid: string, now: number): Promise<string> {
  return signToken({ secret: TEST_SECRETS.image, claims: { sub: uid, iss: "oseh", aud: "oseh-image", iat: now - 1, exp: now + 1800 } });
}

/** `{"items":[{"picture":{"uid":…,"jwt":…}}]}` as pydantic's `model_dump_json` writes it. */
async function expectedBody(uids: readonly string[], now: number): Promise<string> {
  const items = await Promise.all(uids.map(async (uid) => `{"picture":{"uid":"${uid}","jwt":"${await imageJwt(uid, now)}"}}`));
  return `{"items":[${items.join(",")}]}`;
}

async function post(body: string | Uint8Array, headers: Record<string, string>, now: number): Promise<{ response: Response; text: string }> {
  const response = await callWorker(`${EDGE}${PATH}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body }, { now, env: ENV });
  return { response, text: await response.clone().text() };
}

async function userAuth(now: number): Promise<Record<string, string>> {
  return { authorization: `bearer ${await idToken(USER, now)}` };
}

/** The stored `StandardUserProfilePictures` the test puts at the origin, as `__pydantic_serializer__.to_json` writes it (profile_pictures.py:375). */
function storedPictures(uid: string, promptTime: number, imageUids: readonly string[]): string {
  const refs = imageUids.map((image, i) => `{"user_sub":"oseh_u_pictureUser${i}","image_file_uid":"${image}"}`);
  return `{"interactive_prompt_uid":"${uid}","prompt_time":${promptTime},"fetched_at":1700000000.25,"profile_pictures":[${refs.join(",")}]}`;
}

const TWELVE = Array.from({ length: 12 }, (_, i) => `oseh_if_pp${String(i).padStart(2, "0")}Aaaaaaaaaaaaaaaaaa`);

describe("the body, as FastAPI and pydantic read it (pure)", () => {
  const body = (fields: Record<string, unknown>) => JSON.stringify({ uid: "oseh_ip_a", jwt: "a.b.c", prompt_time: 4, limit: 5, ...fields });

  it.each([
    [4, "4"],
    [5.9, "4"],
    [3.999, "2"],
    [0, "0"],
    [1.5, "0"],
    [1e1, "10"],
    [123456789.5, "123456788"],
  ])("prompt_time %s is the bin %s (int(t / 2) * 2)", (time, bin) => {
    expect(planProfilePictures(body({ prompt_time: time }), "application/json")).toEqual({ kind: "serve", uid: "oseh_ip_a", jwt: "a.b.c", promptTime: bin, limit: 5 });
  });

  it("reads exponent spellings and ignores extra fields, as pydantic does", () => {
    const text = '{"uid":"oseh_ip_a","jwt":"a.b.c","prompt_time":2.5E1,"limit":10,"extra":{"x":[1,2]}}';
    expect(planProfilePictures(text, null)).toEqual({ kind: "serve", uid: "oseh_ip_a", jwt: "a.b.c", promptTime: "24", limit: 10 });
    expect(planProfilePictures(text, "application/vnd.oseh+json; charset=utf-8")).toMatchObject({ kind: "serve" });
  });

  it.each([
    ["a boolean time", body({ prompt_time: true })],
    ["a null time", body({ prompt_time: null })],
    ["a string time", body({ prompt_time: "4" })],
    ["a list time", body({ prompt_time: [4] })],
    ["a string limit", body({ limit: "5" })],
    ["a float limit", '{"uid":"oseh_ip_a","jwt":"a.b.c","prompt_time":4,"limit":5.0}'],
    ["an exponent limit", '{"uid":"oseh_ip_a","jwt":"a.b.c","prompt_time":4,"limit":5e0}'],
    ["a boolean limit", body({ limit: true })],
    ["a number uid", body({ uid: 123 })],
    ["a null jwt", body({ jwt: null })],
    ["a lone surrogate in the uid", '{"uid":"oseh_ip_\\ud800","jwt":"a.b.c","prompt_time":4,"limit":5}'],
    ["limit 0", body({ limit: 0 })],
    ["limit 11", body({ limit: 11 })],
    ["a negative time", body({ prompt_time: -2 })],
    ["minus zero", '{"uid":"oseh_ip_a","jwt":"a.b.c","prompt_time":-0,"limit":5}'],
    ["a halved time past 2^53", body({ prompt_time: 2e16 })],
    ["a time past the double range", '{"uid":"oseh_ip_a","jwt":"a.b.c","prompt_time":1e400,"limit":5}'],
    ["duplicate keys", '{"uid":"oseh_ip_a","jwt":"a.b.c","prompt_time":4,"limit":5,"limit":5}'],
    ["duplicate keys after unescaping", '{"uid":"oseh_ip_a","jwt":"a.b.c","prompt_time":4,"limit":5,"\\u006cimit":5}'],
    ["a missing limit", JSON.stringify({ uid: "oseh_ip_a", jwt: "a.b.c", prompt_time: 4 })],
    ["not JSON", "{uid: 1}"],
    ["NaN, which json.loads reads", '{"uid":"oseh_ip_a","jwt":"a.b.c","prompt_time":NaN,"limit":5}'],
    ["an array", "[]"],
    ["an empty body", ""],
    ["nesting past the cap", `{"uid":"oseh_ip_a","jwt":"a.b.c","prompt_time":4,"limit":5,"x":${"[".repeat(40)}${"]".repeat(40)}}`],
  ])("%s passes through", (_name, text) => {
    expect(planProfilePictures(text, "application/json").kind).toBe("passthrough");
  });

  it("a body that is not JSON to FastAPI (another Content-Type) passes through", () => {
    expect(planProfilePictures(body({}), "text/plain").kind).toBe("passthrough");
  });

  it("the halving rule, stated: past 2^53 the key would not be the backend's int", () => {
    expect(planProfilePictures(body({ prompt_time: 2 ** 54 }), null)).toMatchObject({ kind: "serve", promptTime: String(2 ** 54) });
    expect(planProfilePictures(body({ prompt_time: 2 ** 54 + 4 }), null)).toEqual({ kind: "passthrough", reason: "prompt_time's halving is past 2^53" });
  });
});

describe("the stored value (pure)", () => {
  it("reads the image uids in stored order", () => {
    const read = readStoredPictures(new TextEncoder().encode(storedPictures("oseh_ip_a", 4, ["oseh_if_b", "oseh_if_a"])));
    expect(read).toEqual({ ok: true, imageUids: ["oseh_if_b", "oseh_if_a"] });
  });

  it.each([
    ["not JSON", "{"],
    ["no profile_pictures", '{"interactive_prompt_uid":"oseh_ip_a","prompt_time":4,"fetched_at":1.5}'],
    ["no fetched_at", '{"interactive_prompt_uid":"oseh_ip_a","prompt_time":4,"profile_pictures":[]}'],
    ["a picture without its image", '{"interactive_prompt_uid":"oseh_ip_a","prompt_time":4,"fetched_at":1.5,"profile_pictures":[{"user_sub":"oseh_u_a"}]}'],
    ["an image uid that is not url-safe", '{"interactive_prompt_uid":"oseh_ip_a","prompt_time":4,"fetched_at":1.5,"profile_pictures":[{"user_sub":"oseh_u_a","image_file_uid":"oseh_if_é"}]}'],
  ])("%s is not served", (_name, text) => {
    expect(readStoredPictures(new TextEncoder().encode(text)).ok).toBe(false);
  });
});

describe("end to end, production topology", () => {
  it("runs with the shield bound and L0 on", () => {
    expect((env as unknown as Record<string, unknown>).FAMILY_SHIELD).toBeDefined();
    expect(ENV.L0_MAX_BYTES).toBe("8388608");
  });

  it("a miss fills; the hit does not reach the origin; both byte for byte with fresh image JWTs", async () => {
    const uid = freshPrompt();
    const key = `interactive_prompts:profile_pictures:${uid}:4`;
    await setOriginValue(key, storedPictures(uid, 4, TWELVE));
    const now = wallNow();
    const body = JSON.stringify({ uid, jwt: await promptJwt(uid, now), prompt_time: 5.5, limit: 5 });

    const miss = await post(body, await userAuth(now), now);
    expect(miss.response.status).toBe(200);
    expect(miss.text).toBe(await expectedBody(TWELVE.slice(0, 5), now));
    expect(miss.response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(miss.response.headers.get("cache-control")).toBe("private, max-age=120");
    expect(miss.response.headers.get("content-length")).toBe(String(new TextEncoder().encode(miss.text).byteLength));
    expect(miss.response.headers.get("cache-status")).toBe("oseh-edge; fwd=miss; stored");
    // A fill's phases follow the edge's own time (src/cache/phases.ts).
    expect(miss.response.headers.get("server-timing")).toMatch(/^edge;dur=\d+, tier;dur=\d+, shield;dur=\d+, origin;dur=\d+, store;dur=\d+$/);
    expect(await fillCount(key)).toBe(1);

    // A second later, limit 10: new tokens (the per-second cache), the same stored value.
    const later = now + 1;
    const hit = await post(JSON.stringify({ uid, jwt: await promptJwt(uid, later), prompt_time: 4, limit: 10 }), await userAuth(later), later);
    expect(hit.response.status).toBe(200);
    expect(hit.text).toBe(await expectedBody(TWELVE.slice(0, 10), later));
    expect(hit.response.headers.get("cache-status")).toBe("oseh-edge; hit; detail=l0");
    expect(await fillCount(key)).toBe(1);
    expect(await originReceived(PATH, body)).toEqual([]);
  });

  it("the dev origin's fixture (what `npm start` serves): the first `limit` stored pictures, or all when fewer", async () => {
    const uid = freshPrompt();
    const now = wallNow();
    const auth = await userAuth(now);
    const jwt = await promptJwt(uid, now);
    const five = await post(JSON.stringify({ uid, jwt, prompt_time: 2, limit: 5 }), auth, now);
    expect(five.response.status).toBe(200);
    const stored = JSON.parse((await env.CACHE.get(`interactive_prompts:profile_pictures:${uid}:2`)) ?? "null") as { profile_pictures: { image_file_uid: string }[] };
    const uids = stored.profile_pictures.map((p) => p.image_file_uid);
    expect(uids).toHaveLength(5); // 3 at the start, one more each second (docs/origin.md §8)
    expect(five.text).toBe(await expectedBody(uids, now));
    const ten = await post(JSON.stringify({ uid, jwt, prompt_time: 3.9, limit: 10 }), auth, now);
    expect(ten.text).toBe(await expectedBody(uids, now));
  });

  describe("auth failures: the backend's bodies, before the cache is read", () => {
    const cases: Array<[string, (uid: string, now: number) => Promise<Record<string, string>>, keyof typeof AUTH_BODY]> = [
      ["no Authorization", async () => ({}), "not_set"],
      ["another scheme", async (_uid, now) => ({ authorization: `Bearer ${await idToken(USER, now)}` }), "bad_format"],
      ["an id token with another secret", async (_uid, now) => ({ authorization: `bearer ${await signToken({ secret: "not-the-id-secret", claims: { sub: USER, iss: "oseh", aud: "oseh-id", iat: now - 1, exp: now + 60, jti: "j" } })}` }), "invalid"],
      ["an expired id token", async (_uid, now) => ({ authorization: `bearer ${await idToken(USER, now, { iat: now - 100, exp: now })}` }), "invalid"],
      ["an id token without jti", async (_uid, now) => ({ authorization: `bearer ${await idToken(USER, now, { jti: undefined })}` }), "invalid"],
      ["an id token issued before 1679589900", async (_uid, now) => ({ authorization: `bearer ${await idToken(USER, now, { iat: 1679589899 })}` }), "invalid"],
      ["a prompt token as the id token", async (uid, now) => ({ authorization: `bearer ${await promptJwt(uid, now)}` }), "invalid"],
    ];
    it.each(cases)("%s", async (_name, headers, failure) => {
      const uid = freshPrompt();
      const now = wallNow();
      const body = JSON.stringify({ uid, jwt: await promptJwt(uid, now), prompt_time: 4, limit: 5 });
      const { response, text } = await post(body, await headers(uid, now), now);
      expect([response.status, text]).toEqual([failure === "invalid" ? 403 : 401, AUTH_BODY[failure]]);
      expect(response.headers.get("cache-status")).toBe("oseh-edge; fwd=bypass; detail=not-consulted");
      expect(await fillCount(`interactive_prompts:profile_pictures:${uid}:4`)).toBe(0);
      expect(await originReceived(PATH, body)).toEqual([]);
    });

    const promptCases: Array<[string, (uid: string, now: number) => Promise<string>]> = [
      ["a prompt JWT with another secret", (uid, now) => promptJwt(uid, now, {}, "not-the-prompt-secret")],
      ["a prompt JWT for another prompt", (_uid, now) => promptJwt("oseh_ip_devWord00000000000001", now)],
      ["an expired prompt JWT", (uid, now) => promptJwt(uid, now, { iat: now - 1801, exp: now })],
      ["a prompt JWT issued in the future", (uid, now) => promptJwt(uid, now, { iat: now + 5 })],
      ["an image JWT in place of the prompt JWT", (uid, now) => imageJwt(uid, now)],
      ["an id token in place of the prompt JWT", (_uid, now) => idToken(USER, now)],
    ];
    it.each(promptCases)("%s: 403 invalid", async (_name, token) => {
      const uid = freshPrompt();
      const now = wallNow();
      const body = JSON.stringify({ uid, jwt: await token(uid, now), prompt_time: 4, limit: 5 });
      const { response, text } = await post(body, await userAuth(now), now);
      expect([response.status, text]).toEqual([403, AUTH_BODY.invalid]);
      expect(await fillCount(`interactive_prompts:profile_pictures:${uid}:4`)).toBe(0);
      expect(await originReceived(PATH, body)).toEqual([]);
    });
  });

  describe("pass-through: the origin gets the request as sent and answers it", () => {
    /** Posts through the edge and checks the origin received exactly these bytes and its answer came back. */
    async function expectPassedThrough(body: string | Uint8Array, headers: Record<string, string>, now: number): Promise<void> {
      const { response, text } = await post(body, headers, now);
      expect([response.status, text]).toEqual([404, NOT_FOUND]);
      expect(response.headers.get("cache-status")).toBe("oseh-edge; fwd=bypass");
      const received = await originReceived(PATH, body);
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ method: "POST", bodyLength: typeof body === "string" ? new TextEncoder().encode(body).byteLength : body.byteLength });
      expect(received[0]?.edgeToken).toMatch(/^eyJ/); // the proxy token every forwarded request carries
    }

    const bodies: Array<[string, (uid: string, jwt: string) => string]> = [
      ["a boolean time", (uid, jwt) => JSON.stringify({ uid, jwt, prompt_time: true, limit: 5 })],
      ["a string number time", (uid, jwt) => JSON.stringify({ uid, jwt, prompt_time: "4", limit: 5 })],
      ["a string number limit", (uid, jwt) => JSON.stringify({ uid, jwt, prompt_time: 4, limit: "5" })],
      ["a float limit", (uid, jwt) => `{"uid":"${uid}","jwt":"${jwt}","prompt_time":4,"limit":5.0}`],
      ["an object uid", (uid, jwt) => JSON.stringify({ uid: { uid }, jwt, prompt_time: 4, limit: 5 })],
      ["duplicate keys", (uid, jwt) => `{"uid":"${uid}","jwt":"${jwt}","prompt_time":4,"limit":5,"prompt_time":6}`],
      ["limit 0", (uid, jwt) => JSON.stringify({ uid, jwt, prompt_time: 4, limit: 0 })],
      ["limit 11", (uid, jwt) => JSON.stringify({ uid, jwt, prompt_time: 4, limit: 11 })],
      ["a negative time", (uid, jwt) => JSON.stringify({ uid, jwt, prompt_time: -4, limit: 5 })],
      ["a halved time past 2^53", (uid, jwt) => JSON.stringify({ uid, jwt, prompt_time: 2e16, limit: 5 })],
      ["not JSON", (uid, jwt) => `{"uid":"${uid}","jwt":"${jwt}",`],
      ["a prompt JWT with characters PyJWT may skip", (uid, jwt) => JSON.stringify({ uid, jwt: `${jwt}!`, prompt_time: 4, limit: 5 })],
    ];
    it.each(bodies)("%s", async (_name, build) => {
      const uid = freshPrompt();
      const now = wallNow();
      await expectPassedThrough(build(uid, await promptJwt(uid, now)), await userAuth(now), now);
      expect(await fillCount(`interactive_prompts:profile_pictures:${uid}:4`)).toBe(0);
    });

    it("a body FastAPI refuses is the origin's even without Authorization (validation comes before auth)", async () => {
      const uid = freshPrompt();
      const now = wallNow();
      await expectPassedThrough(JSON.stringify({ uid, jwt: await promptJwt(uid, now), prompt_time: 4, limit: 50 }), {}, now);
    });

    it("a body that is not JSON to FastAPI (Content-Type text/plain)", async () => {
      const uid = freshPrompt();
      const now = wallNow();
      await expectPassedThrough(JSON.stringify({ uid, jwt: await promptJwt(uid, now), prompt_time: 4, limit: 5 }), { ...(await userAuth(now)), "content-type": "text/plain" }, now);
    });

    it("a body over the cap goes on whole, streamed", async () => {
      const uid = freshPrompt();
      const now = wallNow();
      await expectPassedThrough(JSON.stringify({ uid, jwt: await promptJwt(uid, now), prompt_time: 4, limit: 5, pad: "x".repeat(5000) }), await userAuth(now), now);
    });

    it("a body that is not UTF-8", async () => {
      const uid = freshPrompt();
      const now = wallNow();
      const body = new Uint8Array([...new TextEncoder().encode(`{"uid":"${uid}","pad":"`), 0xff, 0xfe, ...new TextEncoder().encode('"}')]);
      await expectPassedThrough(body, await userAuth(now), now);
    });

    it("a user token (`bearer oseh_ut_…`): the origin looks it up", async () => {
      const uid = freshPrompt();
      const now = wallNow();
      await expectPassedThrough(JSON.stringify({ uid, jwt: await promptJwt(uid, now), prompt_time: 4, limit: 5 }), { authorization: "bearer oseh_ut_devUser00000000000001" }, now);
      expect(await fillCount(`interactive_prompts:profile_pictures:${uid}:4`)).toBe(0);
    });

    it("a key the origin does not have: a time past the prompt's end, a prompt that does not exist", async () => {
      const now = wallNow();
      const uid = freshPrompt();
      await expectPassedThrough(JSON.stringify({ uid, jwt: await promptJwt(uid, now), prompt_time: 1000, limit: 5 }), await userAuth(now), now);
      expect(await fillCount(`interactive_prompts:profile_pictures:${uid}:1000`)).toBe(1);
      const nowhere = `oseh_ip_nowhere${uniqueId("pp")}`;
      await expectPassedThrough(JSON.stringify({ uid: nowhere, jwt: await promptJwt(nowhere, now), prompt_time: 4, limit: 5 }), await userAuth(now), now);
      expect(await fillCount(`interactive_prompts:profile_pictures:${nowhere}:4`)).toBe(1);
    });

    it("a stored value the backend would fail to read", async () => {
      const uid = freshPrompt();
      const key = `interactive_prompts:profile_pictures:${uid}:4`;
      await setOriginValue(key, `{"interactive_prompt_uid":"${uid}","prompt_time":4,"profile_pictures":[]}`);
      const now = wallNow();
      await expectPassedThrough(JSON.stringify({ uid, jwt: await promptJwt(uid, now), prompt_time: 4, limit: 5 }), await userAuth(now), now);
    });
  });
});
