/**
 * The four journey start routes beyond the first six (docs/integrate.md phase 3): through the
 * Worker's own fetch, in the production topology, against the dev origin, which delegates each
 * to a request bearing a bound proxy token. Each delegated answer must equal the origin's own
 * rendering of the same request (apart from token times), with the origin's status and headers;
 * the routes' quirks are the origin's answers, passed through.
 */
import { jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { idToken, TEST_SECRETS } from "../helpers/tokens";
import { callWorker } from "../helpers/worker";
import { originUrl } from "../helpers/dev-origin";
import { normaliseJwts } from "../cache/helpers";
import { productionEnv, wallNow } from "./edge";

const EDGE = "https://edge.test";
const ENV = productionEnv();
const USER = "oseh_u_devUser00000000000001";
const COURSE = "oseh_c_devCourse0000000000001";
const JSON_UTF8 = "application/json; charset=utf-8";

interface Compared {
  edge: Response;
  edgeText: string;
}

/** The same request through the edge and straight to the origin (which then renders itself). */
async function compare(path: string, body: unknown, headers: Record<string, string>): Promise<Compared> {
  const now = wallNow();
  const init = () => ({ method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const edge = await callWorker(`${EDGE}${path}`, init(), { now, env: ENV });
  const direct = await fetch(originUrl(path), init());
  const edgeText = await edge.clone().text();
  const directText = await direct.text();
  expect(edge.status).toBe(direct.status);
  expect(normaliseJwts(edgeText)).toBe(normaliseJwts(directText));
  const headerList = (r: Response) =>
    [...r.headers].filter(([name]) => !["date", "cache-status", "server-timing", "content-length", "transfer-encoding"].includes(name)).sort();
  expect(headerList(edge)).toEqual(headerList(direct));
  return { edge, edgeText };
}

async function auth(sub = USER): Promise<Record<string, string>> {
  return { authorization: `bearer ${await idToken(sub, wallNow())}` };
}

/** A delegated render's Cache-Status describes the template's load; a passthrough's is a bypass. */
const RENDERED = /^oseh-edge; (fwd=miss; stored|hit; detail=l[012])$/;
const PASSED = "oseh-edge; fwd=bypass";

describe("POST /api/1/courses/start_journey", () => {
  it("renders the delegated journey as the origin would, Cache-Control: no-store", async () => {
    const { edge, edgeText } = await compare("/api/1/courses/start_journey", { journey_uid: "oseh_j_devFull0000000000000001", course_uid: COURSE }, await auth());
    expect(edge.status).toBe(200);
    expect(edge.headers.get("cache-control")).toBe("no-store");
    expect(edge.headers.get("cache-status")).toMatch(RENDERED);
    expect((JSON.parse(edgeText) as { uid: string }).uid).toBe("oseh_j_devFull0000000000000001");
  });

  it("journey_not_found answers with status 200 (courses/routes/start_journey.py:44-50), passed through", async () => {
    const { edge, edgeText } = await compare("/api/1/courses/start_journey", { journey_uid: "oseh_j_devSample0000000000001", course_uid: COURSE }, await auth());
    expect([edge.status, edge.headers.get("content-type")]).toEqual([200, JSON_UTF8]);
    expect(JSON.parse(edgeText)).toMatchObject({ type: "journey_not_found" });
    expect(edge.headers.get("cache-status")).toBe(PASSED);
  });

  it("a deleted journey: the origin's 503 journey_gone with Retry-After: 5", async () => {
    const { edge } = await compare("/api/1/courses/start_journey", { journey_uid: "oseh_j_devDeleted00000000000001", course_uid: "oseh_c_devGone00000000000001" }, await auth());
    expect([edge.status, edge.headers.get("retry-after")]).toEqual([503, "5"]);
  });
});

describe("POST /api/1/courses/start_next", () => {
  it("renders the course's next journey", async () => {
    const { edge, edgeText } = await compare("/api/1/courses/start_next", { course_uid: COURSE }, await auth());
    expect([edge.status, edge.headers.get("cache-control")]).toEqual([200, "no-store"]);
    expect(edge.headers.get("cache-status")).toMatch(RENDERED);
    expect((JSON.parse(edgeText) as { uid: string }).uid).toBe("oseh_j_devPlain000000000000001");
  });

  it("404 not_found and 403 invalid (no entitlement) are the origin's", async () => {
    expect((await compare("/api/1/courses/start_next", { course_uid: "oseh_c_nope" }, await auth())).edge.status).toBe(404);
    expect((await compare("/api/1/courses/start_next", { course_uid: "oseh_c_devLocked0000000000001" }, await auth())).edge.status).toBe(403);
  });
});

describe("POST /api/1/journeys/follow_share_link", () => {
  it("renders for an anonymous visitor, and ignores an invalid Authorization header", async () => {
    const variants: Record<string, string>[] = [{ visitor: "oseh_v_devVisitor3" }, { authorization: "bearer not-a-token" }, { authorization: "Basic x" }];
    for (const headers of variants) {
      const { edge, edgeText } = await compare("/api/1/journeys/follow_share_link", { code: "devshare2" }, headers);
      expect([edge.status, edge.headers.get("cache-control")]).toEqual([200, "no-store"]);
      expect(edge.headers.get("cache-status")).toMatch(RENDERED);
      expect((JSON.parse(edgeText) as { uid: string }).uid).toBe("oseh_j_devSample0000000000001");
    }
  });

  it("404 bad_code, and 503 could_not_get_journey with Retry-After: 15, are the origin's", async () => {
    expect((await compare("/api/1/journeys/follow_share_link", { code: "nope" }, {})).edge.status).toBe(404);
    const gone = await compare("/api/1/journeys/follow_share_link", { code: "devsharegone" }, {});
    expect([gone.edge.status, gone.edge.headers.get("retry-after")]).toEqual([503, "15"]);
    expect(JSON.parse(gone.edgeText)).toMatchObject({ type: "could_not_get_journey" });
  });
});

describe("POST /api/1/emotions/start_related_journey", () => {
  it("the wrapper: prefix + journey + a suffix carrying image JWTs the origin minted; Content-Type only", async () => {
    const { edge, edgeText } = await compare("/api/1/emotions/start_related_journey", { emotion: "sad", replaced_emotion_user_uid: null }, await auth());
    expect(edge.status).toBe(200);
    expect(edge.headers.get("content-type")).toBe(JSON_UTF8);
    expect(edge.headers.has("cache-control")).toBe(false);
    expect(edge.headers.get("cache-status")).toMatch(RENDERED);
    expect(edgeText.startsWith('{"journey":{"uid":"oseh_j_devUnicode00000000000001"')).toBe(true);
    const parsed = JSON.parse(edgeText) as { emotion_user_uid: string; num_votes: number; num_total_votes: number; voter_pictures: { uid: string; jwt: string }[] };
    expect(parsed.emotion_user_uid).toMatch(/^oseh_eu_/);
    expect(parsed.voter_pictures.length).toBeGreaterThan(0);
    for (const picture of parsed.voter_pictures) {
      const { payload } = await jwtVerify(picture.jwt, new TextEncoder().encode(TEST_SECRETS.image), { audience: "oseh-image", issuer: "oseh" });
      expect(payload.sub).toBe(picture.uid);
    }
  });

  it("404 emotion_not_found, 409 entitlement_required, 503 with Retry-After: 5, 401 are the origin's", async () => {
    const user = await auth();
    expect((await compare("/api/1/emotions/start_related_journey", { emotion: "nope", replaced_emotion_user_uid: null }, user)).edge.status).toBe(404);
    expect((await compare("/api/1/emotions/start_related_journey", { emotion: "sad", replaced_emotion_user_uid: null, premium: true }, user)).edge.status).toBe(409);
    const gone = await compare("/api/1/emotions/start_related_journey", { emotion: "gone", replaced_emotion_user_uid: null }, user);
    expect([gone.edge.status, gone.edge.headers.get("retry-after")]).toEqual([503, "5"]);
    expect((await compare("/api/1/emotions/start_related_journey", { emotion: "sad", replaced_emotion_user_uid: null }, {})).edge.status).toBe(401);
  });

  it("a premium class for a user with pro renders", async () => {
    const { edge } = await compare("/api/1/emotions/start_related_journey", { emotion: "lost", replaced_emotion_user_uid: "oseh_eu_previous", premium: true }, await auth("oseh_u_devPro000000000000001"));
    expect(edge.status).toBe(200);
    expect(edge.headers.get("cache-status")).toMatch(RENDERED);
  });
});
