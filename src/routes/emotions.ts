/**
 * `POST /api/1/emotions/personalized` (docs/routes.md, "Personalized emotions"): the body (FastAPI
 * validates it before the handler) → standard auth → `emotion_content_statistics` → the draw with
 * the route's RandomSource → the backend's body. The pure steps are in ./emotions-plan.ts.
 */
import { authorizeStandard } from "../auth/standard";
import { JSON_CONTENT_TYPE } from "./content-types";
import { encodeEmotions, MAX_EMOTIONS_BODY_BYTES, planPersonalizedEmotions, readStoredStats, selectEmotions } from "./emotions-plan";
import type { RouteIo, RouteRequest } from "./io";
import { readSmallBody, withForward } from "./request-body";
import { authOutcome, passthroughOutcome, unreadOutcome, type RouteOutcome } from "./respond";

export async function servePersonalizedEmotions({ request }: RouteRequest, io: RouteIo): Promise<RouteOutcome> {
  const { text, forward } = await readSmallBody(request, MAX_EMOTIONS_BODY_BYTES);
  if (text === null) return passthroughOutcome("body too large or not UTF-8", forward);
  const plan = planPersonalizedEmotions(text, request.headers.get("content-type"));
  if (plan.kind === "passthrough") return passthroughOutcome(plan.reason, forward);

  const user = await authorizeStandard(request.headers.get("authorization"), io.tokens, io.now);
  if (user.kind === "failure") return authOutcome(user.failure);
  if (user.kind === "passthrough") return passthroughOutcome(user.reason, forward);

  const stored = await io.read("emotion_content_statistics", []);
  // The backend always has statistics (it computes them on a miss): an origin without them answers.
  if (stored.kind !== "value") return withForward(unreadOutcome(stored, passthroughOutcome("the origin has no emotion statistics")), forward);
  const read = readStoredStats(stored.value.bytes);
  if (!read.ok) return passthroughOutcome(read.reason, forward);
  const selection = selectEmotions(read.stats, plan, io.random);
  if (!selection.ok) return passthroughOutcome(selection.reason, forward);
  // `retrieve_daily_emotions.py:135-140`: Content-Type only, status 200.
  return { kind: "body", body: encodeEmotions(selection.items), headers: [["Content-Type", JSON_CONTENT_TYPE]], read: stored };
}
