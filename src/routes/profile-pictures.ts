/**
 * `POST /api/1/interactive_prompts/profile_pictures` (docs/routes.md, "Interactive prompt profile
 * pictures"): the body (FastAPI validates it before the handler) → standard auth → the prompt JWT
 * from the body, whose sub must be the body's uid → the stored pictures of the 2-second bin → the
 * first `limit`, each with a fresh image JWT from the per-second token cache. The pure steps are in
 * ./profile-pictures-plan.ts.
 */
import { authorizeStandard } from "../auth/standard";
import { isPlainJwtText } from "../auth/bearer";
import { JSON_CONTENT_TYPE } from "./content-types";
import type { RouteIo, RouteRequest } from "./io";
import { encodeProfilePictures, MAX_PROFILE_PICTURES_BODY_BYTES, pickPictures, planProfilePictures, readStoredPictures } from "./profile-pictures-plan";
import { readSmallBody, withForward } from "./request-body";
import { authOutcome, passthroughOutcome, unreadOutcome, type RouteOutcome } from "./respond";

/** `profile_pictures.py:174-177`. */
export const PROFILE_PICTURES_CACHE_CONTROL = "private, max-age=120";

export async function serveProfilePictures({ request }: RouteRequest, io: RouteIo): Promise<RouteOutcome> {
  const { text, forward } = await readSmallBody(request, MAX_PROFILE_PICTURES_BODY_BYTES);
  if (text === null) return passthroughOutcome("body too large or not UTF-8", forward);
  const plan = planProfilePictures(text, request.headers.get("content-type"));
  if (plan.kind === "passthrough") return passthroughOutcome(plan.reason, forward);

  const user = await authorizeStandard(request.headers.get("authorization"), io.tokens, io.now);
  if (user.kind === "failure") return authOutcome(user.failure);
  if (user.kind === "passthrough") return passthroughOutcome(user.reason, forward);

  // `interactive_prompts.auth.auth_any(f"bearer {args.jwt}")`: the prefix is always there, so
  // only the token itself can fail (403); a sub other than the body's uid is the same 403.
  if (!isPlainJwtText(plan.jwt)) return passthroughOutcome("prompt jwt has characters PyJWT may skip", forward);
  const prompt = await io.tokens.verifyResource("interactive_prompt", plan.jwt, io.now, plan.uid);
  if (!prompt.ok) return authOutcome(prompt.failure);

  const stored = await io.read("interactive_prompts:profile_pictures:{uid}:{prompt_time}", [plan.uid, plan.promptTime]);
  // No such prompt, or a time past its end: the origin answers its 404.
  if (stored.kind !== "value") return withForward(unreadOutcome(stored, passthroughOutcome("no pictures for this bin (the origin's 404)")), forward);
  const read = readStoredPictures(stored.value.bytes);
  if (!read.ok) return passthroughOutcome(read.reason, forward);

  const uids = pickPictures(read.imageUids, plan.limit);
  const pictures = await Promise.all(uids.map(async (uid) => ({ uid, jwt: await io.tokens.mint("image", uid, io.now) })));
  return {
    kind: "body",
    body: encodeProfilePictures(pictures),
    headers: [
      ["Content-Type", JSON_CONTENT_TYPE],
      ["Cache-Control", PROFILE_PICTURES_CACHE_CONTROL],
    ],
    read: stored,
  };
}
