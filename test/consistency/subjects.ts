/**
 * What a history's keys are and how a client sees them (docs/reliability.md "Consistency"): each
 * key of the model is a subject with its own values, its own edge route and its own way of telling
 * from the answer on the wire which version it carries. Nothing here reads the Worker's internals.
 *
 * - **transcripts** (`transcripts:{uid}`, KV): `GET /api/1/transcripts/{uid}` with a transcript
 *   JWT; the body is the value's JSON, whose one phrase names the key and the version. Small
 *   values live in the shield's own storage too, large ones (over the project's
 *   `SHIELD_MAX_VALUE_BYTES`) in KV only.
 * - **a media part** (`s3_files:{uid}`, R2 pointers): `GET
 *   /api/1/content_files/exports/parts/{uid}.mp4` with a content JWT; its metadata
 *   (`content_files:exports:parts:{uid}`) is set at the origin once and points at the object;
 *   the body must be exactly one version's bytes (all the same length, so the metadata's
 *   `file_size` holds for each).
 * - **a journey template** (`journeys:external:{uid}`, KV), rendered by a delegated start (`POST
 *   /api/1/users/me/start_introductory_journey?uid=`): the origin answers a delegation document
 *   and the edge renders the template; the body must be a whole render of one version — its
 *   literal blocks byte for byte, a JWT where the template has one (docs/origin.md §6).
 */
import { decodeBlocks } from "../../dev/origin/render";
import { encodeJourneyValue } from "../../dev/origin/fixtures/encode";
import { findJourney } from "../../dev/origin/fixtures/content";
import { encodeTranscript } from "../../dev/origin/encode/u64";
import type { ReadAnswer, Tier } from "./model";

export type SubjectKind = "transcript" | "media" | "template";

export interface Subject {
  readonly kind: SubjectKind;
  /** The value key the model tracks. */
  readonly key: string;
  /** Its family's name (a family purge's selector). */
  readonly family: string;
  /** Version `n`'s value bytes (`big`: over the shield's own limit; transcripts only). */
  bytes(n: number, big: boolean): Uint8Array;
  /** The client's request for the subject at `now` (tokens come from `token`). */
  request(now: number, refresh: boolean, token: Tokens): Promise<{ path: string; init: RequestInit }>;
  /** The client's view of an answer, given the bytes of every version made so far. */
  classify(response: Response, made: ReadonlyMap<string, Uint8Array>): Promise<ReadAnswer>;
}

/** Tokens a subject's request needs, memoized by the harness (signing costs). */
export interface Tokens {
  resource(kind: "transcript" | "content", sub: string, now: number): Promise<string>;
  /** An id token on the platform clock: the origin checks it, not the edge. */
  user(): Promise<string>;
}

export const versionName = (key: string, n: number): string => `${key}#${n}`;

/** The tag every version's bytes carry: the key and the version number. */
const tagOf = (key: string, n: number): string => `v|${key}|${n}|`;
const TAG = /v\|([^|]+)\|(\d+)\|/;

/** The edge's own answers a client may get instead of a value (src/errors.ts, docs/origin.md §6). */
async function edgeAnswer(response: Response, body: string): Promise<ReadAnswer | undefined> {
  const cache = parseCacheStatus(response.headers.get("Cache-Status"));
  if (cache.bypass) return { kind: "passthrough", status: response.status };
  if ((response.status === 502 || response.status === 504) && body.includes('"type":"origin_')) return { kind: "error", status: response.status };
  // A delegated render the edge could not load (the origin said the template is absent).
  if (response.status === 502 && body.includes('"type":"bad_origin_response"')) return { kind: "absent" };
  // The family's fill budget spent: a delegated render answers busy (docs/reliability.md).
  if (response.status === 503 && body.includes('"type":"busy"')) return { kind: "error", status: 503 };
  if (response.status !== 200) return { kind: "bad", reason: `status ${response.status}: ${body.slice(0, 120)}` };
  return undefined;
}

export function parseCacheStatus(value: string | null): { tier?: Tier; fwdStatus?: number; bypass: boolean } {
  const text = value ?? "";
  const fwdStatus = /fwd-status=(\d+)/.exec(text)?.[1];
  const status = fwdStatus === undefined ? {} : { fwdStatus: Number(fwdStatus) };
  if (text.includes("detail=stale-if-error")) return { tier: "stale", ...status, bypass: false };
  const hit = /hit; detail=(l0|l1|l2|r2)/.exec(text)?.[1] as Tier | undefined;
  if (hit !== undefined) return { tier: hit, bypass: false };
  if (text.includes("fwd=bypass")) return { bypass: true };
  if (/fwd=(miss|request)/.test(text)) return { tier: "miss", ...status, bypass: false };
  return { bypass: false };
}

function valueAnswer(response: Response, key: string, tag: string): ReadAnswer {
  const match = TAG.exec(tag);
  if (match === null || match[1] !== key) return { kind: "bad", reason: `another key's or an unknown value: ${tag.slice(0, 80)}` };
  const cache = parseCacheStatus(response.headers.get("Cache-Status"));
  if (cache.tier === undefined) return { kind: "bad", reason: `a value without a Cache-Status the model knows: ${response.headers.get("Cache-Status")}` };
  return { kind: "value", version: versionName(key, Number(match[2])), tier: cache.tier, ...(cache.fwdStatus === undefined ? {} : { fwdStatus: cache.fwdStatus }) };
}

export function transcriptSubject(uid: string): Subject {
  const key = `transcripts:${uid}`;
  return {
    kind: "transcript",
    key,
    family: "transcripts:{uid}",
    bytes: (n, big) => encodeTranscript({ uid, phrases: [{ starts_at: 0, ends_at: 1, phrase: `${tagOf(key, n)}${big ? "x".repeat(200) : ""}` }] }),
    async request(now, refresh, token) {
      const headers: Record<string, string> = { authorization: `bearer ${await token.resource("transcript", uid, now)}` };
      if (refresh) headers.Pragma = "no-cache";
      return { path: `/api/1/transcripts/${uid}`, init: { headers } };
    },
    async classify(response) {
      const body = await response.text();
      // The edge's own answer for a transcript the origin does not have (src/routes/resource.ts).
      if (response.status === 403 && body.includes('"type":"invalid"')) return { kind: "absent" };
      const other = await edgeAnswer(response, body);
      if (other !== undefined) return other;
      let parsed: { uid?: unknown; phrases?: { phrase?: unknown }[] };
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        return { kind: "bad", reason: `a body that is not whole JSON (${body.length} bytes)` };
      }
      const phrase = parsed.phrases?.[0]?.phrase;
      if (parsed.uid !== uid || typeof phrase !== "string") return { kind: "bad", reason: `another key's or an unknown value: uid ${String(parsed.uid)}` };
      return valueAnswer(response, key, phrase);
    },
  };
}

/** Every version of the media object has this many bytes, so one metadata `file_size` holds. */
const MEDIA_OBJECT_BYTES = 2048;

/** The part's metadata as the backend caches it (`content_files/exports/parts/routes/show.py`). */
export function mediaPartMetadata(contentFileUid: string, s3FileUid: string): string {
  return JSON.stringify({
    content_file_uid: contentFileUid,
    s3_file_uid: s3FileUid,
    s3_file_key: `s3_files/audio/${s3FileUid}.mp4`,
    content_type: "audio/mp4",
    file_size: MEDIA_OBJECT_BYTES,
  });
}

/** `partUid` (`oseh_cfep_…`) whose metadata points at `s3FileUid`, owned by `contentFileUid`. */
export function mediaSubject(partUid: string, s3FileUid: string, contentFileUid: string): Subject {
  const key = `s3_files:${s3FileUid}`;
  return {
    kind: "media",
    key,
    family: "s3_files:{uid}",
    bytes(n) {
      const out = new Uint8Array(MEDIA_OBJECT_BYTES);
      const tag = new TextEncoder().encode(tagOf(key, n));
      // A byte pattern of the version after the tag, so a slice of another version shows.
      for (let i = 0; i < out.length; i += 1) out[i] = (i * 31 + n * 17) & 0xff;
      out.set(tag, 0);
      return out;
    },
    async request(now, _refresh, token) {
      const jwt = await token.resource("content", contentFileUid, now);
      return { path: `/api/1/content_files/exports/parts/${partUid}.mp4`, init: { headers: { authorization: `bearer ${jwt}` } } };
    },
    async classify(response, made) {
      const body = new Uint8Array(await response.arrayBuffer());
      const other = await edgeAnswer(response, response.status === 200 ? "" : new TextDecoder().decode(body));
      if (other !== undefined) return other;
      const tag = new TextDecoder().decode(body.subarray(0, 200));
      const answer = valueAnswer(response, key, tag);
      if (answer.kind !== "value") return answer;
      const expected = made.get(answer.version);
      if (expected === undefined || expected.length !== body.length || expected.some((b, i) => body[i] !== b)) {
        return { kind: "bad", reason: `${body.length} bytes that are not whole ${answer.version}` };
      }
      return answer;
    },
  };
}

const JWT_AT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/;

/** Whether `body` is a whole render of `template`: its literal blocks byte for byte, a JWT for each other block. */
export function isRenderOf(body: string, template: Uint8Array): boolean {
  const blocks = decodeBlocks(template);
  if (blocks === undefined) return false;
  const decoder = new TextDecoder();
  let at = 0;
  for (const block of blocks) {
    if (block.type === 1) {
      const literal = decoder.decode(block.value);
      if (!body.startsWith(literal, at)) return false;
      at += literal.length;
    } else {
      const jwt = JWT_AT.exec(body.slice(at));
      if (jwt === null) return false;
      at += jwt[0].length;
    }
  }
  return at === body.length;
}

export function templateSubject(uid: string): Subject {
  const key = `journeys:external:${uid}`;
  const row = findJourney(uid);
  if (row === undefined) throw new Error(`${uid} is not a journey the dev origin generates`);
  return {
    kind: "template",
    key,
    family: "journeys:external:{uid}",
    bytes: (n) => encodeJourneyValue({ ...row, title: `${tagOf(key, n)} title`, description: `${tagOf(key, n)} description`, instructorName: `${tagOf(key, n)} instructor` }),
    async request(_now, _refresh, token) {
      return {
        path: `/api/1/users/me/start_introductory_journey?uid=${uid}`,
        init: { method: "POST", headers: { authorization: `bearer ${await token.user()}` } },
      };
    },
    async classify(response, made) {
      const body = await response.text();
      const other = await edgeAnswer(response, body);
      if (other !== undefined) return other;
      const answer = valueAnswer(response, key, body);
      if (answer.kind !== "value") return answer;
      const template = made.get(answer.version);
      if (template === undefined || !isRenderOf(body, template)) return { kind: "bad", reason: `a body that is not a whole render of ${answer.version} (${body.length} bytes)` };
      return answer;
    },
  };
}
