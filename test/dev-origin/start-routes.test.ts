/**
 * The start routes (docs/block-format.md §2.8, §3.8): std auth and status codes, the delegation document
 * with a valid `X-Oseh-Edge` (docs/design.md §4.3), and the dev origin's own rendering without one.
 */
import { describe, expect, it } from "vitest";
import { renderJourney, renderPrompt } from "../../dev/origin/render";
import type { DevOriginEnv } from "../../dev/origin/env";
import { base64ToBytes, loadBlocksVectors } from "../helpers/vectors";
import { TEST_SECRETS, signToken } from "../helpers/tokens";
import { decodeJwtPayload, originUrl, proxyToken, userIdToken, valuesToken, wallNow } from "./helpers";

const EDGE_RENDER = "application/vnd.oseh.edge-render+json";
const JSON_UTF8 = "application/json; charset=utf-8";

/** In a header map: replaced by a proxy token bound to the request `post` sends (POST + its path). */
const BOUND = "<proxy token for this request>";

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const sent = { ...headers };
  if (sent["X-Oseh-Edge"] === BOUND) sent["X-Oseh-Edge"] = await proxyToken("POST", path);
  return fetch(originUrl(path), { method: "POST", headers: sent, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function authed(edge: boolean): Promise<Record<string, string>> {
  const headers: Record<string, string> = { authorization: `bearer ${await userIdToken()}` };
  if (edge) headers["X-Oseh-Edge"] = BOUND;
  return headers;
}

describe("std auth", () => {
  it("401 not_set, 401 bad_format, 403 invalid with the backend's bodies", async () => {
    const path = "/api/1/users/me/start_ai_journey";
    const missing = await post(path, undefined);
    expect(missing.status).toBe(401);
    expect(await missing.text()).toBe('{"type":"not_set","message":"authorization header not set","markdown":"authorization header not set"}');
    const capital = await post(path, undefined, { authorization: `Bearer ${await userIdToken()}` });
    expect(capital.status).toBe(401);
    expect(((await capital.json()) as { type: string }).type).toBe("bad_format");
    const noJti = await signToken({ secret: TEST_SECRETS.id, claims: { sub: "oseh_u_x", iss: "oseh", aud: "oseh-id", iat: wallNow() - 1, exp: wallNow() + 60 } });
    expect((await post(path, undefined, { authorization: `bearer ${noJti}` })).status).toBe(403);
    // An edge token alone is not user auth.
    expect((await post(path, undefined, { "X-Oseh-Edge": BOUND })).status).toBe(401);
  });

  it("accepts the dev table's oseh_ut_ user tokens", async () => {
    const response = await post("/api/1/users/me/start_ai_journey", undefined, { authorization: "bearer oseh_ut_devUser00000000000001" });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  });
});

describe("journey routes", () => {
  const uid = "oseh_j_devUnicode00000000000001";

  it("delegates with a valid edge token: the document, no-store, nothing rendered", async () => {
    const response = await post("/api/1/users/me/start_journey_from_history", { journey_uid: uid }, await authed(true));
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe(EDGE_RENDER);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const doc = (await response.json()) as { key: string; jwt: string };
    expect(Object.keys(doc)).toEqual(["key", "jwt"]);
    expect(doc.key).toBe(`journeys:external:${uid}`);
    expect(decodeJwtPayload(doc.jwt)).toMatchObject({ sub: uid, iss: "oseh", aud: "oseh-journey" });
  });

  it("renders itself without one (a bad edge token counts as none)", async () => {
    const headers = { ...(await authed(false)), "X-Oseh-Edge": "forged" };
    const response = await post("/api/1/users/me/start_journey_from_history", { journey_uid: uid }, headers);
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe(JSON_UTF8);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(response.headers.has("Content-Length")).toBe(false);
    const body = await response.text();
    expect(/^[\x20-\x7e]*$/.test(body)).toBe(true); // journey bodies are pure ASCII (docs/block-format.md §2.4)
    const parsed = JSON.parse(body) as { uid: string; title: string; transcript: { jwt: string } };
    expect(parsed.uid).toBe(uid);
    expect(parsed.title).toBe("Café ☕ — «Ruhe» 日本語");
    expect(decodeJwtPayload(parsed.transcript.jwt)).toMatchObject({ aud: "oseh-transcript" });
  });

  it("delegates only to a proxy token bound to this method and raw path, at most 60 s, leeway 0", async () => {
    const path = "/api/1/users/me/start_journey_from_history";
    const user = { authorization: `bearer ${await userIdToken()}` };
    const delegates = async (token: string) => {
      const response = await post(path, { journey_uid: uid }, { ...user, "X-Oseh-Edge": token });
      expect(response.status).toBe(200);
      const type = response.headers.get("Content-Type");
      await response.arrayBuffer();
      return type === EDGE_RENDER;
    };
    expect(await delegates(await proxyToken("POST", path))).toBe(true);
    expect(await delegates(await proxyToken("GET", path))).toBe(false); // another method
    expect(await delegates(await proxyToken("POST", "/api/1/users/me/start_ai_journey"))).toBe(false); // another path
    expect(await delegates(await proxyToken("POST", `${path}/`))).toBe(false);
    expect(await delegates(await proxyToken("POST", path.replace("journey", "%6Aourney")))).toBe(false); // htu is the raw path
    expect(await delegates(await valuesToken())).toBe(false); // the values token delegates nothing
    expect(await delegates(await proxyToken("POST", path, { aud: "oseh-origin" }))).toBe(false);
    expect(await delegates(await proxyToken("POST", path, { exp: wallNow() + 120 }))).toBe(false); // lifetime over 60 s
    expect(await delegates(await proxyToken("POST", path, { exp: wallNow() }))).toBe(false); // expired (leeway 0)
    expect(await delegates(await proxyToken("POST", path, { iat: wallNow() + 5 }))).toBe(false); // iat in the future
    expect(await delegates(await proxyToken("POST", path, {}, TEST_SECRETS.edgeAdmin))).toBe(false); // another secret
  });

  it("404 journey_not_found, 422 on a missing body", async () => {
    expect((await post("/api/1/users/me/start_journey_from_history", { journey_uid: "oseh_j_nope" }, await authed(true))).status).toBe(404);
    expect((await post("/api/1/users/me/start_journey_from_history", undefined, await authed(true))).status).toBe(422);
  });

  it("start_ai_journey delegates and renders", async () => {
    const delegated = await post("/api/1/users/me/start_ai_journey", undefined, await authed(true));
    expect(delegated.headers.get("Content-Type")).toBe(EDGE_RENDER);
    expect(((await delegated.json()) as { key: string }).key).toBe("journeys:external:oseh_j_devFull0000000000000001");
    const rendered = await post("/api/1/users/me/start_ai_journey", undefined, await authed(false));
    expect(((await rendered.json()) as { sample: unknown }).sample).not.toBeNull();
  });

  it("public_links/start: wrapper prefix/suffix, Content-Type only, optional auth", async () => {
    const edge = { "X-Oseh-Edge": BOUND, visitor: "oseh_v_devVisitor1" };
    const delegated = await post("/api/1/journeys/public_links/start", { code: "devcode1", source: "browser" }, edge);
    expect(delegated.status).toBe(200);
    expect(delegated.headers.get("Content-Type")).toBe(EDGE_RENDER);
    expect(delegated.headers.has("Cache-Control")).toBe(false);
    expect(await delegated.json()).toMatchObject({ key: "journeys:external:oseh_j_devFull0000000000000001", prefix: '{"journey":', suffix: ',"visitor_uid":"oseh_v_devVisitor1"}' });

    const rendered = await post("/api/1/journeys/public_links/start", { code: "devcode1", source: "ios" }, { visitor: "oseh_v_devVisitor1" });
    expect(rendered.headers.get("Content-Type")).toBe(JSON_UTF8);
    expect(rendered.headers.has("Cache-Control")).toBe(false);
    const body = (await rendered.json()) as { journey: { uid: string }; visitor_uid: string };
    expect(body.journey.uid).toBe("oseh_j_devFull0000000000000001");
    expect(body.visitor_uid).toBe("oseh_v_devVisitor1");

    expect((await post("/api/1/journeys/public_links/start", { code: "nope", source: "ios" })).status).toBe(404);
    expect((await post("/api/1/journeys/public_links/start", { code: "devcode1", source: "ios" }, { authorization: "bearer junk" })).status).toBe(403);
  });
});

describe("prompt routes", () => {
  async function journeyJwt(sub: string): Promise<string> {
    const now = wallNow();
    return signToken({ secret: TEST_SECRETS.journey, claims: { sub, iss: "oseh", aud: "oseh-journey", iat: now - 1, exp: now + 1800 } });
  }

  it("start_interactive_prompt delegates with session uid and prompt jwt, and renders the same session", async () => {
    const journey = "oseh_j_devPlain000000000000001";
    const body = { journey_uid: journey, journey_jwt: await journeyJwt(journey) };
    const delegated = await post("/api/1/journeys/start_interactive_prompt", body, await authed(true));
    expect(delegated.status).toBe(200);
    expect(delegated.headers.get("Content-Type")).toBe(EDGE_RENDER);
    expect(delegated.headers.has("Cache-Control")).toBe(false);
    const doc = (await delegated.json()) as { key: string; session_uid: string; jwt: string };
    expect(Object.keys(doc)).toEqual(["key", "session_uid", "jwt"]);
    expect(doc.key).toBe("interactive_prompts:external:oseh_ip_devNumeric0000000000001");
    expect(doc.session_uid).toMatch(/^oseh_ips_[A-Za-z0-9_-]{22}$/);
    expect(decodeJwtPayload(doc.jwt)).toMatchObject({ sub: "oseh_ip_devNumeric0000000000001", aud: "oseh-interactive-prompt" });

    const rendered = await post("/api/1/journeys/start_interactive_prompt", body, await authed(false));
    expect(rendered.headers.get("Content-Type")).toBe(JSON_UTF8);
    expect(rendered.headers.has("Cache-Control")).toBe(false);
    const prompt = (await rendered.json()) as { uid: string; session_uid: string; journey_subcategory: null; prompt: { style: string } };
    expect(prompt).toMatchObject({ uid: "oseh_ip_devNumeric0000000000001", session_uid: doc.session_uid, journey_subcategory: null });
    expect(prompt.prompt.style).toBe("numeric");
  });

  it("403 when the journey JWT is for another journey, or carries a bearer prefix", async () => {
    const other = await journeyJwt("oseh_j_devFull0000000000000001");
    const mismatch = await post("/api/1/journeys/start_interactive_prompt", { journey_uid: "oseh_j_devPlain000000000000001", journey_jwt: other }, await authed(true));
    expect(mismatch.status).toBe(403);
    expect(((await mismatch.json()) as { message: string }).message).toMatch(/^Although the provided journey JWT is valid/);
    const prefixed = await post("/api/1/journeys/start_interactive_prompt", { journey_uid: "oseh_j_devFull0000000000000001", journey_jwt: `bearer ${other}` }, await authed(true));
    expect(prefixed.status).toBe(403);
  });

  it("start_public serves each identifier; unknown identifiers are 422", async () => {
    for (const [identifier, style] of [["onboarding-prompt-feeling", "word"], ["onboarding-prompt-feeling-result", "color"], ["notification-time", "press"]] as const) {
      const delegated = await post("/api/1/interactive_prompts/start_public", { identifier }, await authed(true));
      expect(delegated.headers.get("Content-Type")).toBe(EDGE_RENDER);
      await delegated.arrayBuffer();
      const rendered = await post("/api/1/interactive_prompts/start_public", { identifier }, await authed(false));
      expect(((await rendered.json()) as { prompt: { style: string } }).prompt.style).toBe(style);
    }
    expect((await post("/api/1/interactive_prompts/start_public", { identifier: "nope" }, await authed(true))).status).toBe(422);
  });
});

describe("the other journey start routes (docs/integrate.md phase 3)", () => {
  const COURSE = "oseh_c_devCourse0000000000001";

  it("courses/start_journey: delegates a journey in the course; journey_not_found with status 200 otherwise", async () => {
    const delegated = await post("/api/1/courses/start_journey", { journey_uid: "oseh_j_devFull0000000000000001", course_uid: COURSE }, await authed(true));
    expect([delegated.status, delegated.headers.get("Content-Type"), delegated.headers.get("Cache-Control")]).toEqual([200, EDGE_RENDER, "no-store"]);
    expect(await delegated.json()).toEqual({ key: "journeys:external:oseh_j_devFull0000000000000001", jwt: expect.stringMatching(/^eyJ/) });
    for (const body of [
      { journey_uid: "oseh_j_devSample0000000000001", course_uid: COURSE }, // not in the course
      { journey_uid: "oseh_j_devSample0000000000001", course_uid: "oseh_c_devLocked0000000000001" }, // not entitled
      { journey_uid: "oseh_j_devFull0000000000000001", course_uid: "oseh_c_nope" },
    ]) {
      const notFound = await post("/api/1/courses/start_journey", body, await authed(true));
      expect([notFound.status, notFound.headers.get("Content-Type")]).toEqual([200, JSON_UTF8]);
      expect(await notFound.text()).toBe(
        '{"type":"journey_not_found","message":"That journey does not exist, or it is not in that course, or you do not own that course","markdown":"That journey does not exist, or it is not in that course, or you do not own that course"}',
      );
    }
    const gone = await post("/api/1/courses/start_journey", { journey_uid: "oseh_j_devDeleted00000000000001", course_uid: "oseh_c_devGone00000000000001" }, await authed(true));
    expect([gone.status, gone.headers.get("Retry-After")]).toEqual([503, "5"]);
    await gone.arrayBuffer();
    // FastAPI validates the body first: a missing course_uid is 422 even without auth.
    expect((await post("/api/1/courses/start_journey", { journey_uid: "oseh_j_devFull0000000000000001" })).status).toBe(422);
    expect((await post("/api/1/courses/start_journey", { journey_uid: "oseh_j_devFull0000000000000001", course_uid: COURSE })).status).toBe(401);
  });

  it("courses/start_next: the first journey; 404 not_found; 403 without the entitlement", async () => {
    const delegated = await post("/api/1/courses/start_next", { course_uid: COURSE }, await authed(true));
    expect(((await delegated.json()) as { key: string }).key).toBe("journeys:external:oseh_j_devPlain000000000000001");
    expect((await post("/api/1/courses/start_next", { course_uid: "oseh_c_nope" }, await authed(true))).status).toBe(404);
    expect((await post("/api/1/courses/start_next", { course_uid: "oseh_c_devLocked0000000000001" }, await authed(true))).status).toBe(403);
  });

  it("journeys/follow_share_link: no auth needed, an invalid one ignored; 404 bad_code; 503 with Retry-After: 15", async () => {
    for (const authorization of [undefined, "bearer junk", "Basic x"]) {
      const headers: Record<string, string> = { "X-Oseh-Edge": BOUND, ...(authorization === undefined ? {} : { authorization }) };
      const delegated = await post("/api/1/journeys/follow_share_link", { code: "devshare1" }, headers);
      expect([delegated.status, delegated.headers.get("Content-Type"), delegated.headers.get("Cache-Control")]).toEqual([200, EDGE_RENDER, "no-store"]);
      expect(((await delegated.json()) as { key: string }).key).toBe("journeys:external:oseh_j_devFull0000000000000001");
    }
    const bad = await post("/api/1/journeys/follow_share_link", { code: "nope" });
    expect([bad.status, ((await bad.json()) as { type: string }).type]).toEqual([404, "bad_code"]);
    const gone = await post("/api/1/journeys/follow_share_link", { code: "devsharegone" }, { "X-Oseh-Edge": BOUND });
    expect([gone.status, gone.headers.get("Retry-After"), gone.headers.get("Content-Type")]).toEqual([503, "15", JSON_UTF8]);
    await gone.arrayBuffer();
    expect((await post("/api/1/journeys/follow_share_link", { code: "x" })).status).toBe(422); // 2–255 characters
  });

  it("emotions/start_related_journey: a wrapper whose suffix carries the origin's image JWTs; Content-Type only", async () => {
    const delegated = await post("/api/1/emotions/start_related_journey", { emotion: "lost", replaced_emotion_user_uid: null }, await authed(true));
    expect([delegated.status, delegated.headers.get("Content-Type")]).toEqual([200, EDGE_RENDER]);
    expect(delegated.headers.has("Cache-Control")).toBe(false);
    const doc = (await delegated.json()) as { key: string; prefix: string; suffix: string };
    expect(Object.keys(doc)).toEqual(["key", "jwt", "prefix", "suffix"]);
    expect(doc.key).toBe("journeys:external:oseh_j_devFull0000000000000001");
    expect(doc.prefix).toBe('{"journey":');
    const tail = JSON.parse(`{"x":0${doc.suffix}`) as { emotion_user_uid: string; num_votes: number; num_total_votes: number; voter_pictures: { uid: string; jwt: string }[] };
    expect(tail.emotion_user_uid).toMatch(/^oseh_eu_[A-Za-z0-9_-]{22}$/);
    expect(tail.voter_pictures.map((p) => decodeJwtPayload(p.jwt))).toEqual(tail.voter_pictures.map((p) => expect.objectContaining({ sub: p.uid, aud: "oseh-image" })));

    const rendered = await post("/api/1/emotions/start_related_journey", { emotion: "lost", replaced_emotion_user_uid: null }, await authed(false));
    expect([rendered.headers.get("Content-Type"), rendered.headers.has("Cache-Control")]).toEqual([JSON_UTF8, false]);
    expect(((await rendered.json()) as { journey: { uid: string } }).journey.uid).toBe("oseh_j_devFull0000000000000001");
  });

  it("emotions/start_related_journey: replaced_emotion_user_uid is required (nullable, no default); 409, 404, 503", async () => {
    expect((await post("/api/1/emotions/start_related_journey", { emotion: "lost" }, await authed(true))).status).toBe(422);
    const premium = await post("/api/1/emotions/start_related_journey", { emotion: "lost", replaced_emotion_user_uid: null, premium: true }, await authed(true));
    expect([premium.status, ((await premium.json()) as { type: string }).type]).toEqual([409, "entitlement_required"]);
    const unknown = await post("/api/1/emotions/start_related_journey", { emotion: "nope", replaced_emotion_user_uid: null }, await authed(true));
    expect([unknown.status, ((await unknown.json()) as { type: string }).type]).toEqual([404, "emotion_not_found"]);
    const gone = await post("/api/1/emotions/start_related_journey", { emotion: "gone", replaced_emotion_user_uid: null }, await authed(true));
    expect([gone.status, gone.headers.get("Retry-After")]).toEqual([503, "5"]);
    await gone.arrayBuffer();
  });
});

describe("the dev origin's own renderer against the golden vectors", () => {
  const vectors = loadBlocksVectors();
  const secrets = vectors.meta.secrets as Record<string, string>;
  const env = { ...secrets, EDGE_ORIGIN_JWT_SECRET: "unused" } as unknown as DevOriginEnv;
  const frozen = (): number => vectors.meta.frozen_time_time as number;

  it.each(vectors.vectors.filter((v) => v.family === "journeys:external" && v.rendered !== undefined).map((v) => [v.id as string, v] as const))(
    "%s renders byte for byte",
    async (_id, v) => {
      const rendered = await renderJourney(base64ToBytes(v.cached_bytes_b64 as string), (v.journey_jwt_passed_in as string) ?? "", env, frozen);
      expect(new TextDecoder().decode(rendered)).toBe(v.rendered);
    },
  );

  it.each(vectors.vectors.filter((v) => v.family === "interactive_prompts:external" && v.rendered !== undefined).map((v) => [v.id as string, v] as const))(
    "%s renders byte for byte",
    (_id, v) => {
      const rendered = renderPrompt(base64ToBytes(v.cached_bytes_b64 as string), v.input.session_uid as string, v.interactive_prompt_jwt_passed_in as string);
      expect(new TextDecoder().decode(rendered)).toBe(v.rendered);
    },
  );
});
