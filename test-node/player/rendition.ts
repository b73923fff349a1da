/**
 * The player tests' media, made with ffmpeg at the start of the run (`npm test` installs ffmpeg
 * when it is missing, scripts/test-prepare.ts) from its `testsrc` and `sine` sources, so nothing
 * binary is kept in the repo:
 * - an HLS rendition as the backend's exports are: H.264 (baseline) + AAC in MPEG-TS parts of
 *   2 s each, 6 s in all, with ffmpeg's own master playlist for BANDWIDTH, RESOLUTION and CODECS;
 * - an MP4 as the web playlist's exports are (one file, `moov` first), 20 s of incompressible
 *   noise at 4 Mbit/s (about 10 MB). Chromium reads ahead only a few MB of a media file before
 *   it has to play (at most 2 MiB was seen), and a seek further than that from what it holds
 *   opens a new request with `Range: bytes=<offset>-`. So seeking to the middle of this file
 *   makes Chromium ask for a range, whatever the machine's speed; a file of a few hundred KB
 *   arrives whole with the first request and never would.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FFMPEG = process.env.FFMPEG_BIN || "ffmpeg";

export interface HlsRendition {
  /** From ffmpeg's master playlist's `#EXT-X-STREAM-INF`. */
  bandwidth: number;
  resolution: string;
  codecs: string;
  /** `#EXT-X-TARGETDURATION` (whole seconds). */
  targetDurationSeconds: number;
  parts: Array<{ bytes: Uint8Array; durationSeconds: number }>;
}

export interface Mp4Rendition {
  bytes: Uint8Array;
  durationSeconds: number;
}

export interface Renditions {
  hls: HlsRendition;
  mp4: Mp4Rendition;
}

const HLS_SECONDS = 6;
const HLS_PART_SECONDS = 2;
const MP4_SECONDS = 20;

/** The lavfi inputs: a test pattern (with `noise` for the MP4) and a sine tone, `seconds` long. */
function sources(seconds: number, videoFilter = ""): string[] {
  return [
    "-f", "lavfi", "-i", `testsrc=size=320x180:rate=24:duration=${seconds}${videoFilter}`,
    "-f", "lavfi", "-i", `sine=frequency=440:sample_rate=44100:duration=${seconds}`,
  ];
}

function ffmpeg(cwd: string, args: string[]): void {
  const run = spawnSync(FFMPEG, ["-hide_banner", "-loglevel", "error", "-y", ...args], { cwd, encoding: "utf8" });
  if (run.error !== undefined) throw new Error(`${FFMPEG} did not start (${run.error.message}): \`npm test\` installs ffmpeg first (scripts/test-prepare.ts)`);
  if (run.status !== 0) throw new Error(`${FFMPEG} ${args.join(" ")} failed (${run.status}): ${run.stderr}`);
}

function attribute(line: string, name: string): string {
  const match = new RegExp(`(?:^|[:,])${name}=("[^"]*"|[^,]*)`).exec(line);
  if (match?.[1] === undefined) throw new Error(`ffmpeg's playlist has no ${name}: ${line}`);
  return match[1].replace(/^"|"$/g, "");
}

function makeHls(dir: string): HlsRendition {
  ffmpeg(dir, [
    ...sources(HLS_SECONDS),
    // Baseline H.264 with a keyframe every 2 s (48 frames), so every part starts with one.
    "-c:v", "libx264", "-profile:v", "baseline", "-level", "3.0", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-b:v", "150k",
    "-g", "48", "-keyint_min", "48", "-sc_threshold", "0",
    "-c:a", "aac", "-b:a", "64k", "-ac", "2",
    "-f", "hls", "-hls_time", String(HLS_PART_SECONDS), "-hls_playlist_type", "vod",
    "-hls_segment_filename", "part%d.ts", "-master_pl_name", "master.m3u8", "index.m3u8",
  ]);
  const master = readFileSync(join(dir, "master.m3u8"), "utf8");
  const streamInf = master.split("\n").find((line) => line.startsWith("#EXT-X-STREAM-INF:"));
  if (streamInf === undefined) throw new Error(`ffmpeg's master playlist has no variant:\n${master}`);
  const media = readFileSync(join(dir, "index.m3u8"), "utf8").split("\n");
  const parts: HlsRendition["parts"] = [];
  for (let i = 0; i < media.length; i++) {
    const line = media[i] ?? "";
    if (!line.startsWith("#EXTINF:")) continue;
    const file = media[i + 1] ?? "";
    parts.push({ bytes: new Uint8Array(readFileSync(join(dir, file))), durationSeconds: Number.parseFloat(line.slice("#EXTINF:".length)) });
  }
  const target = media.find((line) => line.startsWith("#EXT-X-TARGETDURATION:"));
  return {
    bandwidth: Number(attribute(streamInf, "BANDWIDTH")),
    resolution: attribute(streamInf, "RESOLUTION"),
    codecs: attribute(streamInf, "CODECS"),
    targetDurationSeconds: Number(target?.slice("#EXT-X-TARGETDURATION:".length)),
    parts,
  };
}

function makeMp4(dir: string): Mp4Rendition {
  ffmpeg(dir, [
    ...sources(MP4_SECONDS, ",noise=alls=100:allf=t"),
    "-c:v", "libx264", "-profile:v", "baseline", "-level", "3.0", "-pix_fmt", "yuv420p", "-preset", "ultrafast",
    "-b:v", "4M", "-maxrate", "4M", "-bufsize", "4M", "-g", "48",
    "-c:a", "aac", "-b:a", "64k", "-ac", "2",
    "-movflags", "+faststart", "web.mp4",
  ]);
  return { bytes: new Uint8Array(readFileSync(join(dir, "web.mp4"))), durationSeconds: MP4_SECONDS };
}

export function makeRenditions(): Renditions {
  const dir = mkdtempSync(join(tmpdir(), "oseh-edge-rendition-"));
  try {
    return { hls: makeHls(dir), mp4: makeMp4(dir) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
