/**
 * One JSON log line per request, with the labels an operator needs and nothing secret; the
 * optional Analytics Engine binding gets the request's per-family counters; `/_edge/v1/stats`
 * names the isolate. Logs are captured from console.log (the Worker's only sink for them).
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { FAMILY_COUNTERS } from "../../src/stats";
import { adminToken, signToken, TEST_SECRETS } from "../helpers/tokens";
import { callWorker, productionEnv } from "../helpers/worker";
import { eventRecords } from "../helpers/console";

const NOW = 1_700_000_000;
const EDGE = "http://edge.test";
const TRANSCRIPT = "oseh_t_devTranscript00000000001";
/** The dev origin's content file whose export parts any part uid names (dev/origin/fixtures/media.ts). */
const CONTENT_FILE = "oseh_cf_devAudio00000000000001";
const QUERY_SECRET = "sekret-query-value-1234";
let ADMIN = "";
let TRANSCRIPT_TOKEN = "";

beforeAll(async () => {
  ADMIN = await adminToken(NOW);
  TRANSCRIPT_TOKEN = await signToken({
    secret: TEST_SECRETS.transcript,
    claims: { sub: TRANSCRIPT, iss: "oseh", aud: "oseh-transcript", iat: NOW - 1, exp: NOW + 1800 },
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Wraps the real Analytics Engine binding: records each data point, then hands it on. */
function recordingMetrics(): { binding: AnalyticsEngineDataset; points: AnalyticsEngineDataPoint[] } {
  const points: AnalyticsEngineDataPoint[] = [];
  const real = env.METRICS;
  return {
    points,
    binding: {
      writeDataPoint(point) {
        points.push(point ?? {});
        real.writeDataPoint(point);
      },
    },
  };
}

/** Runs `calls` with request logging on, returning the parsed log lines. */
async function logged(calls: (envWithLog: Record<string, unknown>) => Promise<unknown>, extra: Record<string, unknown> = {}) {
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  });
  await calls({ ...env, REQUEST_LOG: "on", ...extra });
  vi.restoreAllMocks();
  return { lines, records: lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe("request log", () => {
  it("one JSON line per request: route, family, tier, cache status, origin status, duration", async () => {
    const metrics = recordingMetrics();
    const transcript = (e: Record<string, unknown>) =>
      callWorker(`${EDGE}/api/1/transcripts/${TRANSCRIPT}`, { headers: { authorization: `bearer ${TRANSCRIPT_TOKEN}` } }, { now: NOW, env: e });
    const { lines, records } = await logged(
      async (e) => {
        const del = await callWorker(`${EDGE}/_edge/v1/keys/${encodeURIComponent(`transcripts:${TRANSCRIPT}`)}`, { method: "DELETE", headers: { authorization: `bearer ${ADMIN}` } }, { now: NOW, env: e });
        expect(del.status).toBe(204);
        expect((await transcript(e)).status).toBe(200);
        expect((await transcript(e)).status).toBe(200);
        const teapot = await callWorker(`${EDGE}/api/1/dev/teapot?token=${QUERY_SECRET}`, { headers: { authorization: `bearer ${TRANSCRIPT_TOKEN}` } }, { now: NOW, env: e });
        expect(teapot.status).toBe(418);
      },
      { METRICS: metrics.binding },
    );
    expect(lines).toHaveLength(4);
    const [del, miss, hit, passthrough] = records;
    expect(del).toMatchObject({ msg: "request", method: "DELETE", route: "/_edge/v1/keys/…", tier: "edge", status: 204, originStatus: null });
    expect(miss).toMatchObject({
      msg: "request",
      method: "GET",
      route: "/api/1/transcripts/{uid}",
      family: "transcripts:{uid}",
      tier: "origin",
      status: 200,
      cacheStatus: "oseh-edge; fwd=miss; stored",
      originStatus: 200,
    });
    expect(hit).toMatchObject({ route: "/api/1/transcripts/{uid}", family: "transcripts:{uid}", originStatus: null, status: 200 });
    expect(["l0", "l1", "l2"]).toContain(hit?.tier);
    expect(passthrough).toMatchObject({ route: "passthrough", tier: "origin", status: 418, originStatus: 418, cacheStatus: "oseh-edge; fwd=bypass" });
    for (const record of records) {
      expect(typeof record.durationMs).toBe("number");
      expect(record.isolate).toMatch(/^[0-9a-f-]{36}$/);
    }

    // Nothing secret: no token, no secret value, no query string, no raw key.
    const text = lines.join("\n");
    for (const secret of [ADMIN, TRANSCRIPT_TOKEN, QUERY_SECRET, TRANSCRIPT, ...Object.values(TEST_SECRETS)]) {
      expect(text).not.toContain(secret);
    }

    // The data points: one per family the request counted, counters in FAMILY_COUNTERS order.
    const fills = metrics.points.filter((p) => p.indexes?.[0] === "transcripts:{uid}");
    expect(fills).toHaveLength(2);
    const byName = (p: AnalyticsEngineDataPoint) => Object.fromEntries(FAMILY_COUNTERS.map((name, i) => [name, p.doubles?.[i]]));
    expect(byName(fills[0]!)).toMatchObject({ misses: 1, fills: 1, hits: 0 });
    expect(byName(fills[1]!)).toMatchObject({ hits: 1, misses: 0 });
    expect(fills[0]?.blobs).toEqual(["transcripts:{uid}", "/api/1/transcripts/{uid}", "dev"]);
  });

  it("with production's settings (L0 on, the shield bound, R2): names the l0 and r2 tiers a hit came from", async () => {
    const { records } = await logged(async (e) => {
      // A transcript: filled through the shield, kept in this isolate's L0, then served from it.
      const del = await callWorker(`${EDGE}/_edge/v1/keys/${encodeURIComponent(`transcripts:${TRANSCRIPT}`)}`, { method: "DELETE", headers: { authorization: `bearer ${ADMIN}` } }, { now: NOW, env: e });
      expect(del.status).toBe(204);
      for (let i = 0; i < 2; i++) {
        const transcript = await callWorker(`${EDGE}/api/1/transcripts/${TRANSCRIPT}`, { headers: { authorization: `bearer ${TRANSCRIPT_TOKEN}` } }, { now: NOW, env: e });
        expect(transcript.status).toBe(200);
      }
      // A content export part: filled into R2, served from R2, then from the colo's copy (L1).
      const part = `p64KiBlog${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
      const token = await signToken({ secret: TEST_SECRETS.content, claims: { sub: CONTENT_FILE, iss: "oseh", aud: "oseh-content", iat: NOW - 1, exp: NOW + 1800 } });
      for (let i = 0; i < 3; i++) {
        const served = await callWorker(`${EDGE}/api/1/content_files/exports/parts/oseh_cfep_${part}.mp4`, { headers: { authorization: `bearer ${token}` } }, { now: NOW, env: e });
        expect(served.status).toBe(200);
      }
    }, productionEnv({ REQUEST_LOG: "on" }));
    const served = records.filter((record) => record.method === "GET");
    expect(served.map((record) => [record.family, record.tier, record.cacheStatus])).toEqual([
      ["transcripts:{uid}", "origin", "oseh-edge; fwd=miss; stored"],
      ["transcripts:{uid}", "l0", "oseh-edge; hit; detail=l0"],
      ["s3_files:{uid}", "origin", "oseh-edge; fwd=miss; stored"],
      ["s3_files:{uid}", "r2", "oseh-edge; hit; detail=r2"],
      ["s3_files:{uid}", "l1", "oseh-edge; hit; detail=l1"],
    ]);
  });

  it("names the standard-auth POST routes by their paths, and logs none of their tokens", async () => {
    const promptJwt = await signToken({
      secret: TEST_SECRETS.interactivePrompt,
      claims: { sub: "oseh_ip_logged", iss: "oseh", aud: "oseh-interactive-prompt", iat: NOW - 1, exp: NOW + 1800 },
    });
    const post = (path: string, body: unknown, e: Record<string, unknown>) =>
      callWorker(`${EDGE}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer x" }, body: JSON.stringify(body) }, { now: NOW, env: e });
    const { lines, records } = await logged(async (e) => {
      expect((await post("/api/1/interactive_prompts/profile_pictures", { uid: "oseh_ip_logged", jwt: promptJwt, prompt_time: 4, limit: 5 }, e)).status).toBe(401);
      expect((await post("/api/1/emotions/personalized", { num_emotions: 3 }, e)).status).toBe(401);
    });
    expect(records).toMatchObject([
      { msg: "request", method: "POST", route: "/api/1/interactive_prompts/profile_pictures", status: 401 },
      { msg: "request", method: "POST", route: "/api/1/emotions/personalized", status: 401 },
    ]);
    expect(lines.join("\n")).not.toContain(promptJwt);
  });

  it("REQUEST_LOG=off prints nothing", async () => {
    const { lines } = await logged((e) => callWorker(`${EDGE}/_edge/v1/health`, {}, { now: NOW, env: e }), { REQUEST_LOG: "off" });
    expect(lines).toEqual([]);
  });

  it("a misconfigured Worker still logs nothing secret", async () => {
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
      errors.push(args.map(String).join(" "));
    });
    const { OSEH_ID_TOKEN_SECRET: _dropped, ...rest } = env as unknown as Record<string, unknown>;
    const res = await callWorker(`${EDGE}/_edge/v1/health`, {}, { now: NOW, env: { ...rest, REQUEST_LOG: "on" } });
    expect(res.status).toBe(500);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("OSEH_ID_TOKEN_SECRET");
    for (const secret of Object.values(TEST_SECRETS)) expect(errors[0]).not.toContain(secret);
    expect(eventRecords(errors)).toEqual([{ msg: "misconfigured", message: expect.stringContaining("OSEH_ID_TOKEN_SECRET") }]);
  });

  it("an unhandled error is one JSON line with the route label: no path, no token, no stack", async () => {
    // The isolate's counters exist first, so the clock below only fails inside the route.
    await callWorker(`${EDGE}/_edge/v1/health`, {}, { now: NOW });
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
      errors.push(args.map(String).join(" "));
    });
    const failingClock = (): number => {
      throw new TypeError("clock broke");
    };
    const res = await callWorker(`${EDGE}/api/1/transcripts/${TRANSCRIPT}`, { headers: { authorization: `bearer ${TRANSCRIPT_TOKEN}` } }, { now: failingClock });
    vi.restoreAllMocks();
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ type: "internal", message: "internal error" });
    expect(eventRecords(errors, [TRANSCRIPT, TRANSCRIPT_TOKEN, "\n    at "])).toEqual([
      { msg: "unhandled error", method: "GET", route: "/api/1/transcripts/{uid}", error: "TypeError", message: "clock broke" },
    ]);
  });
});

describe("GET /_edge/v1/stats", () => {
  it("names the isolate that answered and since when", async () => {
    const res = await callWorker(`${EDGE}/_edge/v1/stats`, { headers: { authorization: `bearer ${ADMIN}` } }, { now: NOW });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { isolate: string; since: number };
    expect(body.isolate).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof body.since).toBe("number");
    const again = (await (await callWorker(`${EDGE}/_edge/v1/stats`, { headers: { authorization: `bearer ${ADMIN}` } }, { now: NOW })).json()) as { isolate: string };
    expect(again.isolate).toBe(body.isolate);
  });
});
