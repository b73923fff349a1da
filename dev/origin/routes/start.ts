/**
 * The journey and prompt start routes — the ten of docs/integrate.md phase 3 (docs/block-format.md
 * §2.8, §3.8) — with the backend's auth, status codes and headers. With a proxy token bound to the
 * request they delegate the body to the edge: 200, `Content-Type:
 * application/vnd.oseh.edge-render+json`, the route's other headers, and a document naming the key
 * and the per-request parts. Without it they render the body themselves, exactly as the backend
 * streams it.
 */
import { checkProxyToken, DELEGATION_ACK_HEADER, mintResourceJwt, stdAuth, verifyResourceJwt } from "../auth";
import type { DevOriginEnv } from "../env";
import { AI_JOURNEY_UID, COURSES, EMOTION_JOURNEYS, PRO_SUBS, PUBLIC_LINK_CODES, SHARE_LINK_CODES, findJourney, findPrompt } from "../fixtures/content";
import { produceValue } from "../fixtures/families";
import { renderJourney, renderPrompt } from "../render";
import { seedOf, urlSafeDigest, utf8 } from "../util";
import { JSON_UTF8, authError, readJson, standardError, streamedBody, stringField, validationError } from "./responses";

export const EDGE_RENDER_CONTENT_TYPE = "application/vnd.oseh.edge-render+json";

const JOURNEY_HEADERS = { "Cache-Control": "no-store" } as const; // journeys only (docs/block-format.md §8.5)
const NO_EXTRA_HEADERS = {} as const;

interface StartContext {
  request: Request;
  env: DevOriginEnv;
  now: () => number;
  /** The request came through the edge (a proxy token bound to it): delegate the body. */
  delegate: boolean;
}

type Handler = (ctx: StartContext) => Promise<Response>;

interface JourneyBody {
  uid: string;
  prefix?: string;
  suffix?: string;
  extraHeaders: Readonly<Record<string, string>>;
}

async function respondJourney(ctx: StartContext, body: JourneyBody): Promise<Response> {
  const key = `journeys:external:${body.uid}`;
  const journeyJwt = await mintResourceJwt(ctx.env.OSEH_JOURNEY_JWT_SECRET, "oseh-journey", body.uid, ctx.now());
  if (ctx.delegate) {
    const doc: Record<string, string> = { key, jwt: journeyJwt };
    if (body.prefix !== undefined) doc.prefix = body.prefix;
    if (body.suffix !== undefined) doc.suffix = body.suffix;
    return new Response(JSON.stringify(doc), { status: 200, headers: { "Content-Type": EDGE_RENDER_CONTENT_TYPE, ...body.extraHeaders } });
  }
  const stored = await produceValue(key, { now: ctx.now() });
  if (stored.kind !== "value") return standardError(503, "failed_to_fetch", "failed to fetch the journey", { "Retry-After": "5" });
  const rendered = await renderJourney(stored.bytes, journeyJwt, ctx.env, ctx.now);
  const parts = [utf8(body.prefix ?? ""), rendered, utf8(body.suffix ?? "")].filter((p) => p.length > 0);
  return new Response(streamedBody(parts), { status: 200, headers: { "Content-Type": JSON_UTF8, ...body.extraHeaders } });
}

/** Session uids are `oseh_ips_{token_urlsafe(16)}` in the backend; deterministic here so renders compare. */
async function sessionUidFor(sub: string, promptUid: string): Promise<string> {
  return `oseh_ips_${await urlSafeDigest(`${sub}:${promptUid}`)}`;
}

async function respondPrompt(ctx: StartContext, sub: string, promptUid: string): Promise<Response> {
  const key = `interactive_prompts:external:${promptUid}`;
  const sessionUid = await sessionUidFor(sub, promptUid);
  const promptJwt = await mintResourceJwt(ctx.env.OSEH_INTERACTIVE_PROMPT_JWT_SECRET, "oseh-interactive-prompt", promptUid, ctx.now());
  if (ctx.delegate) {
    const doc = { key, session_uid: sessionUid, jwt: promptJwt };
    return new Response(JSON.stringify(doc), { status: 200, headers: { "Content-Type": EDGE_RENDER_CONTENT_TYPE } });
  }
  const stored = await produceValue(key, { now: ctx.now() });
  if (stored.kind !== "value") return standardError(503, "session_failed_to_start", "failed to read the prompt", { "Retry-After": "15" });
  return new Response(streamedBody([renderPrompt(stored.bytes, sessionUid, promptJwt)]), { status: 200, headers: { "Content-Type": JSON_UTF8 } });
}

const startAiJourney: Handler = async (ctx) => {
  const auth = await stdAuth(ctx.request.headers.get("authorization"), ctx.env.OSEH_ID_TOKEN_SECRET, ctx.now());
  if (!auth.ok) return authError(auth.failure);
  return respondJourney(ctx, { uid: AI_JOURNEY_UID, extraHeaders: JOURNEY_HEADERS });
};

const startIntroductoryJourney: Handler = async (ctx) => {
  const auth = await stdAuth(ctx.request.headers.get("authorization"), ctx.env.OSEH_ID_TOKEN_SECRET, ctx.now());
  if (!auth.ok) return authError(auth.failure);
  const uid = new URL(ctx.request.url).searchParams.get("uid") ?? AI_JOURNEY_UID;
  if (findJourney(uid) === undefined) return standardError(503, "no_introductory_journeys", "there are no introductory journeys");
  // Declared 201, actually 200 (docs/block-format.md §8.6).
  return respondJourney(ctx, { uid, extraHeaders: JOURNEY_HEADERS });
};

const startJourneyFromHistory: Handler = async (ctx) => {
  const auth = await stdAuth(ctx.request.headers.get("authorization"), ctx.env.OSEH_ID_TOKEN_SECRET, ctx.now());
  if (!auth.ok) return authError(auth.failure);
  const body = await readJson(ctx.request);
  const uid = body.ok ? stringField(body.value, "journey_uid") : undefined;
  if (uid === undefined) return validationError(["body", "journey_uid"], "Field required");
  if (findJourney(uid) === undefined) return standardError(404, "journey_not_found", "There is no journey with that uid in your history");
  return respondJourney(ctx, { uid, extraHeaders: JOURNEY_HEADERS });
};

const PUBLIC_LINK_SOURCES = new Set(["browser", "ios", "android"]);
const VISITOR_UID = /^oseh_v_[A-Za-z0-9_-]+$/;

const startPublicLink: Handler = async (ctx) => {
  // Optional std auth, but when sent it must be valid (docs/block-format.md §2.8).
  if (ctx.request.headers.has("authorization")) {
    const auth = await stdAuth(ctx.request.headers.get("authorization"), ctx.env.OSEH_ID_TOKEN_SECRET, ctx.now());
    if (!auth.ok) return authError(auth.failure);
  }
  const body = await readJson(ctx.request);
  const code = body.ok ? stringField(body.value, "code") : undefined;
  const source = body.ok ? stringField(body.value, "source") : undefined;
  if (code === undefined) return validationError(["body", "code"], "Field required");
  if (source === undefined || !PUBLIC_LINK_SOURCES.has(source)) return validationError(["body", "source"], "Input should be 'browser', 'ios' or 'android'");
  const uid = PUBLIC_LINK_CODES[code];
  if (uid === undefined) return standardError(404, "invalid_code", "That code is invalid or has expired");
  const visitorHeader = ctx.request.headers.get("visitor");
  const visitorUid = visitorHeader !== null && VISITOR_UID.test(visitorHeader) ? visitorHeader : `oseh_v_${await urlSafeDigest(`visitor:${code}`)}`;
  // The wrapper route sends Content-Type only, no Cache-Control (docs/block-format.md §8.5).
  return respondJourney(ctx, { uid, prefix: '{"journey":', suffix: `,"visitor_uid":"${visitorUid}"}`, extraHeaders: NO_EXTRA_HEADERS });
};

const JOURNEY_MISMATCH_MESSAGE =
  "Although the provided journey JWT is valid, it is not for the journey specified in the request body. You may have a token mixup; to help debug, recall that the claims in the JWT are not encrypted, so e.g., https://jwt.io can be used to check which token you have.";

const startInteractivePrompt: Handler = async (ctx) => {
  const auth = await stdAuth(ctx.request.headers.get("authorization"), ctx.env.OSEH_ID_TOKEN_SECRET, ctx.now());
  if (!auth.ok) return authError(auth.failure);
  const body = await readJson(ctx.request);
  const journeyUid = body.ok ? stringField(body.value, "journey_uid") : undefined;
  const journeyJwt = body.ok ? stringField(body.value, "journey_jwt") : undefined;
  if (journeyUid === undefined) return validationError(["body", "journey_uid"], "Field required");
  if (journeyJwt === undefined) return validationError(["body", "journey_jwt"], "Field required");
  // The server prepends `bearer `, so a client-sent prefix makes the token invalid (docs/block-format.md §4).
  const jwtCheck = await verifyResourceJwt(journeyJwt, ctx.env.OSEH_JOURNEY_JWT_SECRET, "oseh-journey", ctx.now());
  if (!jwtCheck.ok) return authError(jwtCheck.failure);
  if (jwtCheck.sub !== journeyUid) return standardError(403, "invalid", JOURNEY_MISMATCH_MESSAGE);
  const journey = findJourney(journeyUid);
  if (journey === undefined) return standardError(503, "journey_gone", "That journey has been deleted", { "Retry-After": "15" });
  // Declared 201, actually 200 (docs/block-format.md §3.8).
  return respondPrompt(ctx, auth.sub, journey.interactivePromptUid);
};

const PUBLIC_PROMPT_IDENTIFIERS = new Set(["onboarding-prompt-feeling", "onboarding-prompt-feeling-result", "notification-time"]);

const startPublicPrompt: Handler = async (ctx) => {
  const auth = await stdAuth(ctx.request.headers.get("authorization"), ctx.env.OSEH_ID_TOKEN_SECRET, ctx.now());
  if (!auth.ok) return authError(auth.failure);
  const body = await readJson(ctx.request);
  const identifier = body.ok ? stringField(body.value, "identifier") : undefined;
  if (identifier === undefined || !PUBLIC_PROMPT_IDENTIFIERS.has(identifier)) return validationError(["body", "identifier"], "Input should be a known identifier");
  // The prompt uid comes from `interactive_prompts:special:{identifier}:info` (B #1).
  const info = await produceValue(`interactive_prompts:special:${identifier}:info`, { now: ctx.now() });
  const promptUid = info.kind === "value" ? stringField(JSON.parse(new TextDecoder().decode(info.bytes)), "uid") : undefined;
  if (promptUid === undefined || findPrompt(promptUid) === undefined) return standardError(503, "failed_to_read_prompt", "failed to read the prompt", { "Retry-After": "15" });
  return respondPrompt(ctx, auth.sub, promptUid);
};

/**
 * Whether the journey's template exists, as the backend's `read_one_external` finds out before it
 * renders: a route that delegates must still answer its "journey gone" 503 itself, since the edge
 * answers a delegation whose template is absent with a 502 (docs/origin.md §6).
 */
async function journeyExists(ctx: StartContext, uid: string): Promise<boolean> {
  return (await produceValue(`journeys:external:${uid}`, { now: ctx.now() })).kind === "value";
}

function bodyField(body: { ok: true; value: unknown } | { ok: false }, name: string): unknown {
  return body.ok && typeof body.value === "object" && body.value !== null ? (body.value as Record<string, unknown>)[name] : undefined;
}

const COURSE_JOURNEY_NOT_FOUND_MESSAGE = "That journey does not exist, or it is not in that course, or you do not own that course";
const JOURNEY_GONE_MESSAGE = "The journey was deleted between you requesting it and us starting it. Retry in a few seconds.";

/**
 * `courses/routes/start_journey.py`: std auth; the optional course JWT (the dev origin holds no
 * `OSEH_COURSE_JWT_SECRET`, so it refuses every one with 403); `journey_not_found` **with status
 * 200** for a course the user does not own or a journey outside it; 503 `journey_gone`.
 */
const startCourseJourney: Handler = async (ctx) => {
  const body = await readJson(ctx.request);
  const journeyUid = bodyField(body, "journey_uid");
  const courseUid = bodyField(body, "course_uid");
  const courseJwt = bodyField(body, "course_jwt") ?? null;
  if (typeof journeyUid !== "string") return validationError(["body", "journey_uid"], "Field required");
  if (typeof courseUid !== "string") return validationError(["body", "course_uid"], "Field required");
  if (courseJwt !== null && typeof courseJwt !== "string") return validationError(["body", "course_jwt"], "Input should be a valid string");
  const auth = await stdAuth(ctx.request.headers.get("authorization"), ctx.env.OSEH_ID_TOKEN_SECRET, ctx.now());
  if (!auth.ok) return authError(auth.failure);
  if (courseJwt !== null) return authError({ reason: "invalid", detail: "no course secret at the dev origin" });
  const course = COURSES[courseUid];
  if (course === undefined || !course.entitled || !course.journeys.includes(journeyUid)) {
    return standardError(200, "journey_not_found", COURSE_JOURNEY_NOT_FOUND_MESSAGE);
  }
  if (!(await journeyExists(ctx, journeyUid))) return standardError(503, "journey_gone", JOURNEY_GONE_MESSAGE, { "Retry-After": "5" });
  return respondJourney(ctx, { uid: journeyUid, extraHeaders: JOURNEY_HEADERS });
};

/**
 * `courses/routes/start_next.py`: std auth; 404 `not_found` for a course the user has not started
 * (or finished); 403 `invalid` without the course's entitlement; 503 `journey_gone`. The dev
 * origin keeps no progress: the first journey, every time.
 */
const startNextInCourse: Handler = async (ctx) => {
  const body = await readJson(ctx.request);
  const courseUid = bodyField(body, "course_uid");
  if (typeof courseUid !== "string") return validationError(["body", "course_uid"], "Field required");
  const auth = await stdAuth(ctx.request.headers.get("authorization"), ctx.env.OSEH_ID_TOKEN_SECRET, ctx.now());
  if (!auth.ok) return authError(auth.failure);
  const course = COURSES[courseUid];
  const journeyUid = course?.journeys[0];
  if (course === undefined || journeyUid === undefined) return standardError(404, "not_found", "You either have not started that course or have already finished it.");
  if (!course.entitled) return authError({ reason: "invalid", detail: "entitlement inactive" });
  if (!(await journeyExists(ctx, journeyUid))) return standardError(503, "journey_gone", JOURNEY_GONE_MESSAGE, { "Retry-After": "5" });
  return respondJourney(ctx, { uid: journeyUid, extraHeaders: JOURNEY_HEADERS });
};

/** `FollowShareLinkRequest.code`: `StringConstraints(min_length=2, max_length=255)`. */
const SHARE_CODE_MIN_LENGTH = 2;
const SHARE_CODE_MAX_LENGTH = 255;

/**
 * `journeys/routes/follow_share_link.py`: no auth required, and an invalid `Authorization` is
 * ignored (the result only feeds stats and rate limits); 404 `bad_code`; 503
 * `could_not_get_journey` with `Retry-After: 15`. The dev origin does not rate limit (no 429).
 */
const followShareLink: Handler = async (ctx) => {
  const body = await readJson(ctx.request);
  const code = bodyField(body, "code");
  if (typeof code !== "string" || code.length < SHARE_CODE_MIN_LENGTH || code.length > SHARE_CODE_MAX_LENGTH) {
    return validationError(["body", "code"], "String should have at least 2 characters");
  }
  const journeyUid = SHARE_LINK_CODES[code];
  if (journeyUid === undefined) return standardError(404, "bad_code", "There is no share link with that code");
  if (!(await journeyExists(ctx, journeyUid))) {
    return standardError(503, "could_not_get_journey", "We could not get the journey you are trying to follow", { "Retry-After": "15" });
  }
  return respondJourney(ctx, { uid: journeyUid, extraHeaders: JOURNEY_HEADERS });
};

/** How many votes the dev origin reports for a word, out of this many in all. */
const DEV_TOTAL_VOTES = 1000;

/**
 * `emotions/routes/start_related_journey.py`: std auth; `replaced_emotion_user_uid` is required
 * (nullable, no default); 409 `entitlement_required` for a premium class without `pro`; 404
 * `emotion_not_found`; 503 `journey_not_found` + `Retry-After: 5`; the wrapper
 * `{"journey":…,"emotion_user_uid","num_votes","num_total_votes","voter_pictures":[ImageFileRef…]}`
 * with image JWTs the origin mints (`:105-136`), Content-Type only.
 */
const startRelatedJourney: Handler = async (ctx) => {
  const body = await readJson(ctx.request);
  const emotion = bodyField(body, "emotion");
  const replaced = bodyField(body, "replaced_emotion_user_uid");
  const premium = bodyField(body, "premium") ?? false;
  if (typeof emotion !== "string") return validationError(["body", "emotion"], "Field required");
  if (replaced === undefined) return validationError(["body", "replaced_emotion_user_uid"], "Field required");
  if (replaced !== null && typeof replaced !== "string") return validationError(["body", "replaced_emotion_user_uid"], "Input should be a valid string");
  if (typeof premium !== "boolean") return validationError(["body", "premium"], "Input should be a valid boolean");
  const auth = await stdAuth(ctx.request.headers.get("authorization"), ctx.env.OSEH_ID_TOKEN_SECRET, ctx.now());
  if (!auth.ok) return authError(auth.failure);
  if (premium && !PRO_SUBS.includes(auth.sub)) return standardError(409, "entitlement_required", "Oseh+ is required to take premium classes");
  const journeyUid = EMOTION_JOURNEYS[emotion];
  if (journeyUid === undefined) return standardError(404, "emotion_not_found", "There is no matching emotion");
  if (!(await journeyExists(ctx, journeyUid))) {
    return standardError(503, "journey_not_found", "The selected journey was deleted while you were joining it", { "Retry-After": "5" });
  }
  const emotionUserUid = `oseh_eu_${await urlSafeDigest(`emotion_user:${auth.sub}:${emotion}`)}`;
  const numVotes = seedOf(`votes:${emotion}`) % DEV_TOTAL_VOTES;
  const stored = await produceValue(`emotion_users:pictures:${emotion}`, { now: ctx.now() });
  const pictureUids = stored.kind === "value" ? (JSON.parse(new TextDecoder().decode(stored.bytes)) as string[]) : [];
  // `ImageFileRef.__pydantic_serializer__.to_json`: compact `{"uid":…,"jwt":…}`, the JWT minted now.
  const pictures = await Promise.all(
    pictureUids.map(async (uid) => `{"uid":${JSON.stringify(uid)},"jwt":"${await mintResourceJwt(ctx.env.OSEH_IMAGE_FILE_JWT_SECRET, "oseh-image", uid, ctx.now())}"}`),
  );
  const suffix = `,"emotion_user_uid":"${emotionUserUid}","num_votes":${numVotes},"num_total_votes":${DEV_TOTAL_VOTES},"voter_pictures":[${pictures.join(",")}]}`;
  // A StreamingResponse with Content-Type only: no Cache-Control (docs/block-format.md §2.8).
  return respondJourney(ctx, { uid: journeyUid, prefix: '{"journey":', suffix, extraHeaders: NO_EXTRA_HEADERS });
};

const START_ROUTES: Readonly<Record<string, Handler>> = {
  "/api/1/users/me/start_ai_journey": startAiJourney,
  "/api/1/users/me/start_introductory_journey": startIntroductoryJourney,
  "/api/1/users/me/start_journey_from_history": startJourneyFromHistory,
  "/api/1/journeys/public_links/start": startPublicLink,
  "/api/1/journeys/start_interactive_prompt": startInteractivePrompt,
  "/api/1/interactive_prompts/start_public": startPublicPrompt,
  "/api/1/courses/start_journey": startCourseJourney,
  "/api/1/courses/start_next": startNextInCourse,
  "/api/1/journeys/follow_share_link": followShareLink,
  "/api/1/emotions/start_related_journey": startRelatedJourney,
};

export function findStartRoute(method: string, path: string): Handler | undefined {
  return method === "POST" ? START_ROUTES[path] : undefined;
}

export async function handleStart(handler: Handler, request: Request, env: DevOriginEnv, now: () => number): Promise<Response> {
  // Only a request bearing a proxy token bound to it (method and raw path) may get a delegation
  // document (docs/origin.md §5); anything else gets the body rendered here.
  const rawPath = new URL(request.url).pathname;
  const proxy = await checkProxyToken(request.headers.get("X-Oseh-Edge"), env, request.method, rawPath, now());
  const response = await handler({ request, env, now, delegate: proxy.ok });
  // A delegation is acknowledged with the token's jti, so the edge renders only what this token allowed.
  if (proxy.ok && response.headers.get("Content-Type") === EDGE_RENDER_CONTENT_TYPE) response.headers.set(DELEGATION_ACK_HEADER, proxy.jti);
  return response;
}
