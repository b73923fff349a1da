/**
 * Negative answers (docs/security.md §5, docs/routes.md "Negatives", "Remembered absences"),
 * through the Worker's own fetch in the production topology (FAMILY_SHIELD bound, L0 on:
 * `productionEnv`), real KV, Cache API, Durable Objects and the dev origin over HTTP.
 *
 * - A made-up uid on a route anonymous requests reach (email images, `?public=true` playlists)
 *   costs no KV write, no shield request and no shield row: its negative answer stays in the
 *   colo (L0/L1), and the next identical request there is answered without the origin.
 * - Real answers of those families are still stored edge-wide, through the shield.
 * - The origin's `absent` is remembered only for families whose backend caches the absence: a
 *   part, a transcript or an image export created a moment after a miss is served at once.
 * - A `found` email lookup whose export is gone goes to the origin, which purges it.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEV_CONTENT_FILE_UID, DEV_IMAGE_FILE_UID } from "../../dev/origin/fixtures/media";
import { ABSENT_LIFETIME_SECONDS } from "../../src/cache/fill-guard";
import type { FamilyShield } from "../../src/shield";
import { fillCount, restoreOriginValue, seenRequests, setOriginAbsent, setOriginValue } from "../helpers/dev-origin";
import { wrapShieldNamespace } from "../helpers/faults";
import { callWorker, productionEnv, uniqueId } from "../helpers/worker";
import { captureLogs } from "../reliability/helpers";
import { resourceToken } from "../routes/helpers";

const EDGE = "https://edge.test";
const KV = (env as unknown as { CACHE: KVNamespace }).CACHE;
const SHIELD = (env as unknown as { FAMILY_SHIELD: DurableObjectNamespace<FamilyShield> }).FAMILY_SHIELD;
const wallNow = (): number => Math.floor(Date.now() / 1000);

/**
 * The production topology with the real shield namespace wrapped to record what is asked of its
 * objects, as `"<method> <key>"` (every shield call names its key), each call then forwarded.
 */
function countedEdge() {
  const calls: string[] = [];
  const binding = wrapShieldNamespace(SHIELD, (method, args, forward) => {
    const request = args[0];
    calls.push(`${method} ${typeof request === "object" && request !== null && "key" in request ? String(request.key) : ""}`);
    return forward();
  });
  const workerEnv = productionEnv({ FAMILY_SHIELD: binding });
  return {
    calls,
    get: (path: string, now: number, headers: Record<string, string> = {}) =>
      callWorker(new Request(`${EDGE}${path}`, { headers }), undefined, { now, env: workerEnv }),
  };
}

async function kvKeys(prefix: string): Promise<string[]> {
  return (await KV.list({ prefix })).keys.map((key) => key.name);
}

const emailPath = (uid: string, ext: string) => `/api/1/image_files/image/email/${uid}.${ext}`;

describe("a made-up uid on an anonymous route leaves nothing edge-wide", () => {
  it.each([
    ["no such email image (not_found)", () => uniqueId("oseh_eim_missing"), "png"],
    ["an extension never served (bad_ext, the uid not even looked up)", () => uniqueId("oseh_eim_"), "x1"],
  ])("email image, %s: empty 404, nothing in KV, no shield request; the colo answers the next one without the origin", async (_label, makeUid, ext) => {
    const uid = makeUid();
    const key = `email_images:${uid}:${ext}`;
    const edge = countedEdge();
    const now = wallNow();
    const first = await edge.get(emailPath(uid, ext), now);
    expect(first.status).toBe(404);
    expect(await first.text()).toBe("");
    expect(first.headers.get("Cache-Status")).toBe("oseh-edge; fwd=miss");

    const second = await edge.get(emailPath(uid, ext), now);
    expect(second.status).toBe(404);
    expect(second.headers.get("Cache-Status")).toBe("oseh-edge; hit; detail=l0");
    expect(await fillCount(key)).toBe(1);
    expect(await kvKeys(`email_images:${uid}`)).toEqual([]);
    expect(edge.calls).toEqual([]);
  });

  it("`?public=true` playlist of a made-up image: 403 as the backend, nothing in KV, no shield request; the colo answers the next one", async () => {
    const uid = uniqueId("oseh_if_madeUp");
    const edge = countedEdge();
    const now = wallNow();
    const path = `/api/1/image_files/playlist/${uid}?public=true`;
    const first = await edge.get(path, now);
    expect(first.status).toBe(403);
    expect(await first.json()).toEqual({ type: "invalid", message: "token is invalid", markdown: "token is invalid" });
    const second = await edge.get(path, now);
    expect(second.status).toBe(403);
    expect(await fillCount(`image_files:public:${uid}`)).toBe(1);
    expect(await kvKeys(`image_files:public:${uid}`)).toEqual([]);
    expect(edge.calls).toEqual([]);
  });

  it("an origin `absent` for an anonymous key: no shield request, remembered in the isolate (the backend caches its negative), the origin's route answers", async () => {
    const uid = uniqueId("oseh_eim_absent");
    const key = `email_images:${uid}:png`;
    await setOriginAbsent(key);
    const edge = countedEdge();
    const now = wallNow();
    for (let i = 0; i < 3; i++) expect((await edge.get(emailPath(uid, "png"), now)).status).toBe(404);
    expect(await fillCount(key)).toBe(1);
    expect(await seenRequests(emailPath(uid, "png"))).toHaveLength(3); // passed through each time
    expect(edge.calls).toEqual([]);
    await restoreOriginValue(key);
  });

  it("without the shield binding (the explicit fallback): a made-up email uid is kept in the colo only, never in KV", async () => {
    const uid = uniqueId("oseh_eim_missingNoShield");
    const workerEnv = productionEnv({ FAMILY_SHIELD: undefined });
    const now = wallNow();
    const { result, lines } = await captureLogs(async () => {
      const get = () => callWorker(new Request(`${EDGE}${emailPath(uid, "png")}`), undefined, { now, env: workerEnv });
      return [await get(), await get()];
    });
    expect(result.map((r) => r.status)).toEqual([404, 404]);
    expect(result[1]?.headers.get("Cache-Status")).toBe("oseh-edge; hit; detail=l0");
    expect(await fillCount(`email_images:${uid}:png`)).toBe(1);
    expect(await kvKeys(`email_images:${uid}`)).toEqual([]);
    // Said once per isolate, if this isolate had not said it yet.
    for (const line of lines) expect(line).toContain("FAMILY_SHIELD binding absent");
  });
});

describe("real answers of those families are still stored edge-wide, through the shield", () => {
  it("a found email lookup and a bad_ext about an image that exists are in KV; the shield filled them", async () => {
    const found = uniqueId("oseh_eim_real");
    const checked = uniqueId("oseh_eim_realNoWebp");
    const checkedKey = `email_images:${checked}:png`;
    // The image exists, without a png export: the backend's `bad_ext` with `checked: true`.
    await setOriginValue(checkedKey, JSON.stringify({ type: "bad_ext", email_image_uid: checked, ext: "png", checked: true }));
    const edge = countedEdge();
    const now = wallNow();
    expect((await edge.get(emailPath(found, "png"), now)).status).toBe(200);
    expect((await edge.get(emailPath(checked, "png"), now)).status).toBe(404);
    expect(await kvKeys(`email_images:${found}`)).toEqual([`email_images:${found}:png`]);
    expect(await kvKeys(`email_images:${checked}`)).toEqual([checkedKey]);
    // Asked of the origin from the isolate first, then filled and stored by the shield.
    expect(await fillCount(`email_images:${found}:png`)).toBe(2);
    expect(edge.calls.filter((call) => call.startsWith("fill email_images:"))).toEqual([`fill email_images:${found}:png`, `fill ${checkedKey}`]);
    await restoreOriginValue(checkedKey);
  });

  it("the is-public bit of a public image is stored", async () => {
    const uid = "oseh_if_devPublic000000000001"; // dev/origin/fixtures: a public image
    const key = `image_files:public:${uid}`;
    await KV.delete(key);
    const edge = countedEdge();
    const response = await edge.get(`/api/1/image_files/playlist/${uid}?public=true`, wallNow());
    expect(response.status).toBe(200);
    expect(await KV.get(key)).toBe("1");
  });
});

describe("remembered absences: only where the backend caches the absence", () => {
  const now = wallNow();
  const CASES = [
    {
      what: "an export part",
      uid: () => uniqueId("oseh_cfep_late"),
      key: (uid: string) => `content_files:exports:parts:${uid}`,
      path: (uid: string) => `/api/1/content_files/exports/parts/${uid}.mp4`,
      headers: async () => ({ authorization: `bearer ${await resourceToken("content", DEV_CONTENT_FILE_UID, now)}` }),
      missing: 404,
    },
    {
      what: "an image export",
      uid: () => uniqueId("oseh_ife_late"),
      key: (uid: string) => `image_files:exports:${uid}`,
      path: (uid: string) => `/api/1/image_files/image/${uid}.jpg`,
      headers: async () => ({ authorization: `bearer ${await resourceToken("image", DEV_IMAGE_FILE_UID, now)}` }),
      missing: 404,
    },
    {
      what: "a transcript",
      uid: () => uniqueId("oseh_t_genLate"),
      key: (uid: string) => `transcripts:${uid}`,
      path: (uid: string) => `/api/1/transcripts/${uid}`,
      headers: async (uid: string) => ({ authorization: `bearer ${await resourceToken("transcript", uid, now)}` }),
      missing: 403,
    },
  ];

  it.each(CASES)("$what created a moment after an absent answer is served at once", async ({ uid: makeUid, key, path, headers, missing }) => {
    const uid = makeUid();
    await setOriginAbsent(key(uid));
    const edge = countedEdge();
    const auth = await headers(uid);
    expect((await edge.get(path(uid), now, auth)).status).toBe(missing);
    await restoreOriginValue(key(uid)); // the origin now has it (the fixture's value)
    // The same second, well inside ABSENT_LIFETIME_SECONDS: the origin is asked again.
    const created = await edge.get(path(uid), now, auth);
    expect(created.status).toBe(200);
    expect(await fillCount(key(uid))).toBe(2);
  });

  it(`a family whose backend caches its negative (auth:is_admin, image_files:public, email_images) remembers the absence for ${ABSENT_LIFETIME_SECONDS} s`, async () => {
    const uid = uniqueId("oseh_if_absentBit");
    const key = `image_files:public:${uid}`;
    await setOriginAbsent(key);
    const edge = countedEdge();
    const path = `/api/1/image_files/playlist/${uid}?public=true`;
    for (let i = 0; i < 3; i++) await edge.get(path, now);
    expect(await fillCount(key)).toBe(1);
    await edge.get(path, now + ABSENT_LIFETIME_SECONDS);
    expect(await fillCount(key)).toBe(2);
    await restoreOriginValue(key);
  });
});

describe("email images: a found lookup whose export is gone", () => {
  it("is forwarded: the origin answers its empty 404 and purges the lookup", async () => {
    const uid = uniqueId("oseh_eim_Gone"); // dev/origin/fixtures: points at a vanished export
    const path = emailPath(uid, "png");
    const edge = countedEdge();
    const response = await edge.get(path, wallNow());
    expect(response.status).toBe(404);
    expect(await response.text()).toBe("");
    expect(response.headers.get("Cache-Status")).toBe("oseh-edge; fwd=bypass");
    const seen = await seenRequests(path);
    expect(seen.map((request) => request.method)).toEqual(["GET"]);
  });
});
