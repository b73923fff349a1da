/**
 * Real players through the edge, in headless Chromium, on a page served through the edge (same
 * origin, as the web app is; the dev origin's blank `GET /api/1/dev/page`):
 * - hls.js plays the apps' HLS path: the mobile master playlist (`…/ios.m3u8`), the presigned VOD
 *   playlist (`exports/{uid}.m3u8`) and the parts route (`exports/parts/{uid}.ts`);
 * - a <video> element plays a part's `.mp4` URL from the web playlist (`web.json`) and seeks to
 *   the middle, so Chromium sends `Range` and meets the edge's 206 answers (docs/routes.md §Media).
 * The rendition is made by ffmpeg (./rendition.ts); its playlists, the parts' metadata and their
 * `s3_files:` objects are dev-origin values (docs/origin.md §8), built with the edge's address as
 * the backend builds them with its ROOT_BACKEND_URL (`content_files/routes/show_mobile_playlist.py`,
 * `content_files/exports/routes/show_m3u_vod.py`, `content_files/routes/show_web_playlist.py`).
 * Screenshots go beside the status page's: .test-results/player-hls.png, player-mp4.png.
 */
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { pyDumpsFlat, ryuFloat } from "../../dev/origin/util";
import { fillCount, setOriginValue } from "../../test/helpers/dev-origin";
import { TEST_SECRETS, signToken } from "../../test/helpers/tokens";
import { launchChromium } from "../harness/browser";
import { makeRenditions, type Renditions } from "./rendition";

const EDGE = inject("edgeUrl");
const HLS_SCRIPT = createRequire(import.meta.url).resolve("hls.js/dist/hls.min.js");
const PAGE_SCRIPT = fileURLToPath(new URL("./page.js", import.meta.url));

// Fresh uids per run: the dev origin's fill counters are per key.
const RUN = Math.random().toString(36).slice(2, 10);
const CONTENT_FILE = `oseh_cf_player${RUN}`;
const HLS_EXPORT = `oseh_cfe_playerHls${RUN}`;
const MP4_PART = `oseh_cfep_playerMp4${RUN}`;
/** The mobile playlist key of a request without filters (docs/routes.md, mobile playlist filters). */
const MOBILE_PLAYLIST_KEY = `content_files:playlists:mobile:${CONTENT_FILE}:w=,h=,pr=,bmin=90000,bmax=`;

let renditions: Renditions;
let browser: Browser;
let jwt = "";
let hlsParts: Array<{ uid: string; object: string }> = [];

const objectOf = (partUid: string) => `oseh_s3f_${partUid.slice("oseh_cfep_".length)}`;
const partUrl = (uid: string, ext: string) => `${EDGE}/api/1/content_files/exports/parts/${uid}.${ext}`;

/** A part's metadata and its S3 object, as the backend caches them (`content_files/helper.py`). */
async function putPart(uid: string, bytes: Uint8Array, contentType: string): Promise<void> {
  const object = objectOf(uid);
  await setOriginValue(`s3_files:${object}`, bytes);
  await setOriginValue(
    `content_files:exports:parts:${uid}`,
    pyDumpsFlat([
      ["content_file_uid", CONTENT_FILE],
      ["s3_file_uid", object],
      ["s3_file_key", `s3_files/videos/${uid}`],
      ["content_type", contentType],
      ["file_size", bytes.byteLength],
    ]),
  );
}

beforeAll(async () => {
  renditions = makeRenditions();
  const now = Math.floor(Date.now() / 1000);
  jwt = await signToken({ secret: TEST_SECRETS.content, claims: { sub: CONTENT_FILE, iss: "oseh", aud: "oseh-content", iat: now - 1, exp: now + 900 } });

  // HLS: the master playlist as `_encode_db_response` writes it (one variant), the VOD playlist as
  // `get_raw_m3u_vod_from_db` writes it, and each part.
  const { hls } = renditions;
  const parts = hls.parts.map((part, i) => ({ ...part, uid: `oseh_cfep_playerHls${RUN}p${i}` }));
  hlsParts = parts.map(({ uid }) => ({ uid, object: objectOf(uid) }));
  await setOriginValue(
    MOBILE_PLAYLIST_KEY,
    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n" +
      `#EXT-X-STREAM-INF:BANDWIDTH=${hls.bandwidth},RESOLUTION=${hls.resolution},CODECS="${hls.codecs}"\n` +
      `${EDGE}/api/1/content_files/exports/${HLS_EXPORT}.m3u8\n`,
  );
  await setOriginValue(`content_files:vods:${HLS_EXPORT}:meta`, pyDumpsFlat([["content_file_uid", CONTENT_FILE]]));
  await setOriginValue(
    `content_files:vods:${HLS_EXPORT}:m3u`,
    `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:${hls.targetDurationSeconds}\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n` +
      parts.map((part) => `#EXTINF:${ryuFloat(part.durationSeconds)},\n${partUrl(part.uid, "ts")}\n`).join("") +
      "#EXT-X-ENDLIST\n",
  );
  for (const part of parts) await putPart(part.uid, part.bytes, "video/mp2t");

  // The web playlist: one mp4 export (`ShowWebPlaylistResponse`, stored compact).
  const { mp4 } = renditions;
  await putPart(MP4_PART, mp4.bytes, "video/mp4");
  const item = {
    url: partUrl(MP4_PART, "mp4"),
    format: "mp4",
    bandwidth: Math.round((mp4.bytes.byteLength * 8) / mp4.durationSeconds),
    codecs: hls.codecs.split(","), // the same encoder settings as the HLS rendition (./rendition.ts)
    file_size: mp4.bytes.byteLength,
    format_parameters: { width: 320, height: 180 },
    quality_parameters: { bitrate_kbps: 4000 },
  };
  await setOriginValue(`content_files:playlists:web:${CONTENT_FILE}`, `{"exports":[${JSON.stringify(item)}],"duration_seconds":${ryuFloat(mp4.durationSeconds)}}`);

  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

interface Seen {
  url: string;
  status: number;
  range: string | undefined;
  contentRange: string | undefined;
  contentType: string | undefined;
  cacheStatus: string | undefined;
}

/** The blank page through the edge, with hls.js and the page script; every response recorded. */
async function open(): Promise<{ page: Page; seen: Seen[]; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 480, height: 270 } });
  const page = await context.newPage();
  const seen: Seen[] = [];
  const errors: string[] = [];
  page.on("response", (response) => {
    const headers = response.headers();
    seen.push({
      url: response.url(),
      status: response.status(),
      range: response.request().headers()["range"],
      contentRange: headers["content-range"],
      contentType: headers["content-type"],
      cacheStatus: headers["cache-status"],
    });
  });
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  const blank = await page.goto(`${EDGE}/api/1/dev/page`);
  expect(blank?.status()).toBe(200);
  await page.addScriptTag({ path: HLS_SCRIPT });
  await page.addScriptTag({ path: PAGE_SCRIPT });
  return { page, seen, errors };
}

interface HlsState {
  levels: number;
  fragments: string[];
  errors: string[];
  fatal: string | null;
  currentTime: number;
}

/** hls.js from the master playlist until playback passes 2 s with every part loaded (or a fatal error). */
async function playHls(page: Page): Promise<HlsState> {
  await page.evaluate(`playHls(${JSON.stringify(`${EDGE}/api/1/content_files/${CONTENT_FILE}/ios.m3u8?jwt=${jwt}`)})`);
  await page.waitForFunction(
    `(() => { const s = window.playerState, v = document.querySelector("video");
      return s.fatal !== null || (v.currentTime > 2 && s.fragments.length >= ${hlsParts.length}); })()`,
    undefined,
    { timeout: 20_000 },
  );
  return (await page.evaluate(`({ ...window.playerState, currentTime: document.querySelector("video").currentTime })`)) as HlsState;
}

describe("players through the edge", () => {
  it("hls.js plays the mobile master playlist, the presigned VOD playlist and every part; a second load asks the origin for no part", async () => {
    const first = await open();
    const played = await playHls(first.page);
    expect(played.fatal).toBeNull();
    expect(played.levels).toBe(1);
    expect(played.currentTime).toBeGreaterThan(2);
    // Every part, each once, by the presigned URLs of the VOD playlist.
    const partUrls = hlsParts.map((part) => `${partUrl(part.uid, "ts")}?jwt=${jwt}`);
    expect(played.fragments).toEqual(partUrls);
    const byUrl = (url: string) => first.seen.filter((s) => s.url === url);
    expect(byUrl(`${EDGE}/api/1/content_files/${CONTENT_FILE}/ios.m3u8?jwt=${jwt}`)).toMatchObject([{ status: 200, contentType: "application/x-mpegURL" }]);
    expect(byUrl(`${EDGE}/api/1/content_files/exports/${HLS_EXPORT}.m3u8?jwt=${jwt}`)).toMatchObject([{ status: 200, contentType: "application/x-mpegURL" }]);
    for (const url of partUrls) expect(byUrl(url)).toMatchObject([{ status: 200, contentType: "video/mp2t" }]);
    mkdirSync(".test-results", { recursive: true });
    await first.page.screenshot({ path: ".test-results/player-hls.png" });
    expect(first.errors).toEqual([]);
    await first.page.context().close();

    // Each part was filled from the origin once; a second page load plays from the edge alone.
    const fills = async () => Promise.all(hlsParts.flatMap((part) => [fillCount(`s3_files:${part.object}`), fillCount(`content_files:exports:parts:${part.uid}`)]));
    expect(await fills()).toEqual(hlsParts.flatMap(() => [1, 1]));
    const second = await open();
    const replayed = await playHls(second.page);
    expect(replayed.fatal).toBeNull();
    expect(replayed.currentTime).toBeGreaterThan(2);
    expect(replayed.fragments).toEqual(partUrls);
    for (const url of partUrls) expect(second.seen.filter((s) => s.url === url)).toMatchObject([{ status: 200, cacheStatus: expect.stringMatching(/^oseh-edge; hit/) }]);
    expect(await fills()).toEqual(hlsParts.flatMap(() => [1, 1]));
    expect(second.errors).toEqual([]);
    await second.page.context().close();
  }, 60_000);

  it("a <video> on the web playlist's .mp4 seeks to the middle with Range and plays on from the edge's 206s", async () => {
    const { page, seen, errors } = await open();
    const webJson = `${EDGE}/api/1/content_files/${CONTENT_FILE}/web.json?jwt=${jwt}`;
    await page.evaluate(`playWebPlaylist(${JSON.stringify(webJson)})`);
    await page.waitForFunction(
      `(() => { const s = window.playerState, v = document.querySelector("video");
        return s.error !== null || (s.seekedTo !== null && v !== null && v.currentTime > s.seekedTo + 1); })()`,
      undefined,
      { timeout: 20_000 },
    );
    const state = (await page.evaluate(`({ ...window.playerState, currentTime: document.querySelector("video").currentTime })`)) as {
      exportUrl: string;
      duration: number;
      seekedTo: number;
      error: string | null;
      currentTime: number;
    };
    expect(state.error).toBeNull();
    expect(state.exportUrl).toBe(`${partUrl(MP4_PART, "mp4")}?jwt=${jwt}`); // presigned by the edge
    expect(state.duration).toBeCloseTo(renditions.mp4.durationSeconds, 0);
    expect(state.currentTime).toBeGreaterThan(state.seekedTo + 1);
    expect(seen.filter((s) => s.url === webJson)).toMatchObject([{ status: 200 }]);

    const size = renditions.mp4.bytes.byteLength;
    const media = seen.filter((s) => s.url === state.exportUrl);
    // Chromium's first request asks for everything, which the edge answers 200 with the whole part.
    expect(media[0]).toMatchObject({ range: "bytes=0-", status: 200, contentType: "video/mp4" });
    expect(media.every((s) => s.status === 200 || s.status === 206)).toBe(true);
    const partial = media.filter((s) => s.status === 206);
    expect(partial.length).toBeGreaterThan(0);
    for (const answer of partial) {
      // Then `bytes=<first>-` past what it holds; the edge answers that range to the end of the part.
      const first = /^bytes=(\d+)-$/.exec(answer.range ?? "")?.[1];
      expect(first, `Range ${answer.range}`).toBeDefined();
      expect(answer.contentRange).toBe(`bytes ${first}-${size - 1}/${size}`);
      expect(answer.contentType).toBe("video/mp4");
    }
    mkdirSync(".test-results", { recursive: true });
    await page.screenshot({ path: ".test-results/player-mp4.png" });
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);
});
