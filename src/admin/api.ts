/**
 * The operator/relay API under `/_edge/v1` (docs/design.md §8). Every write is validated against the
 * registry and the family's codec before anything is stored; refusals store nothing.
 */
import { Router, type IRequest } from "itty-router";
import type { AdminIdResult } from "../auth/admin-id";
import type { AuthFailure } from "../auth/bearer";
import { verifyAdminServiceToken } from "../auth/admin-token";
import { limitFailedAuth } from "./auth-limit";
import { ID_TOKEN_AUDIENCE } from "../auth/jwt";
import type { Config } from "../config";
import { failureResponse, type EdgeFailure } from "../errors";
import { FAMILIES, computeExpiresAt, familyLiteralPrefix, getFamily, parseKey, validateValueDeep } from "../keys";
import type { FamilyEntry, ParsedKey } from "../keys/types";
import type { Stats } from "../stats";
import { MEDIA_KEY_PREFIX, sha256Hex, type Envelope, type PurgeResult, type StorageFailure, type TieredStore } from "../storage";
import type { MediaPutResult, MediaStore } from "../media";
import { readCapped } from "../util/bytes";
import { templateProblem } from "../origin/delegation";
import type { FillGuard } from "../origin/fill-guard";
import { refusalFor, routesAllowed, type AdminRoute, type Principal } from "./principals";
import { statusPageResponse } from "./ui";
import type { ShieldClient } from "../shield";
import { SOURCE_TIME_MAX_AHEAD_SECONDS, isSourceTimeTooFarAhead } from "../shield/ordering";

export const ADMIN_BASE = "/_edge/v1";

/** KV refuses values over 25 MiB (docs/platform.md §1.1); refuse before reading further. */
export const MAX_VALUE_BYTES = 26_214_400;
/** A purge-by-keys call deletes from KV and L1 per key; 100 keys stay well inside 1,000 ops. */
export const MAX_PURGE_KEYS = 100;
export const MAX_LIST_LIMIT = 1000;
const DEFAULT_LIST_LIMIT = 100;
/** Purge bodies are small JSON documents. */
const MAX_PURGE_BODY_BYTES = 64 * 1024;

export interface AdminApiDeps {
  config: Config;
  store: TieredStore;
  /** The isolate's remembered absences: a write, delete or purge drops them (src/origin/fill-guard.ts). */
  guard: FillGuard;
  /**
   * The family shields: when bound, every PUT, DELETE and purge goes through them so it is
   * ordered with fills (docs/storage-schema.md §Ordering); `store` then only holds local copies.
   */
  shield?: ShieldClient;
  /**
   * Media values (`s3_files:`): PUT and GET go to R2 through it, as the media routes read them
   * (docs/storage-schema.md §R2); absent without the MEDIA binding (they then use `store`).
   */
  media?: MediaStore;
  stats: Stats;
  now: () => number;
  /**
   * Admits admins' id tokens (the token taken from its header); absent → service tokens only. Its
   * admin bit must come from the origin, never from a store this API writes (src/admin/admin-bit.ts).
   */
  authorizeIdToken?: (token: string, now: number) => Promise<AdminIdResult>;
  /** Counts failed authentication per client (the Workers Rate Limiting binding); absent → not limited. */
  authLimiter?: RateLimit;
}

/** A route's handler, run once its principal is authenticated and allowed (./principals.ts). */
type Handler = (request: IRequest, principal: Principal) => Promise<Response>;

type Authentication = { ok: true; principal: Principal } | { ok: false; failure: EdgeFailure };

function fail(failure: EdgeFailure): Response {
  return failureResponse(failure);
}

/** Keys in paths are `encodeURIComponent`-encoded; a malformed escape is a bad key, not a 500. */
function keyFromPath(request: IRequest): { ok: true; parsed: ParsedKey } | { ok: false; response: Response } {
  const url = new URL(request.url);
  const raw = url.pathname.slice(`${ADMIN_BASE}/keys/`.length);
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    return { ok: false, response: fail({ type: "bad_key", message: "key is not valid percent-encoding" }) };
  }
  const parsed = parseKey(key);
  if (!parsed.ok) {
    const type = parsed.failure.reason === "unknown_family" ? "unknown_family" : "bad_key";
    return { ok: false, response: fail({ type, message: parsed.failure.message }) };
  }
  return { ok: true, parsed: parsed.value };
}

async function validateValue(family: FamilyEntry, bytes: Uint8Array): Promise<string | null> {
  const result = await validateValueDeep(family.codec, bytes);
  if (!result.ok) return result.reason;
  // Templates must render too, or every delegated render would drop and refetch them.
  return templateProblem(family.name, bytes);
}

/**
 * `X-Edge-Source-Time`: unix seconds (fractions kept) of the event the write applies, at most
 * `SOURCE_TIME_MAX_AHEAD_SECONDS` ahead of the edge's clock `now` (docs/admin-api.md): a time
 * further ahead would order every honest write of the key before it. Refusal messages start with
 * the header's name; the relay recognises them by it (relay/edge-client.ts).
 */
function parseSourceTimeHeader(value: string | null, now: number): { ok: true; value?: number } | { ok: false; message: string } {
  if (value === null) return { ok: true };
  const text = value.trim();
  if (!/^\d{1,12}(\.\d+)?$/.test(text)) return { ok: false, message: "X-Edge-Source-Time must be unix seconds" };
  const sourceTime = Number(text);
  if (isSourceTimeTooFarAhead(sourceTime, now)) {
    return {
      ok: false,
      message: `X-Edge-Source-Time is more than ${SOURCE_TIME_MAX_AHEAD_SECONDS} s ahead of the edge's clock (${text} > ${Math.floor(now)} + ${SOURCE_TIME_MAX_AHEAD_SECONDS})`,
    };
  }
  return { ok: true, value: sourceTime };
}

const SUPERSEDED: EdgeFailure = { type: "superseded", message: "a newer write to this key (X-Edge-Source-Time) was already applied" };

function parseExpiresAtHeader(value: string | null): { ok: true; value?: number } | { ok: false; message: string } {
  if (value === null) return { ok: true };
  if (!/^\d{1,12}(\.\d+)?$/.test(value.trim())) {
    return { ok: false, message: "X-Edge-Expires-At must be unix seconds" };
  }
  // Envelopes hold whole seconds: round down, so the value never outlives what the writer asked.
  return { ok: true, value: Math.floor(Number(value.trim())) };
}

/**
 * `Authorization: Bearer <token>`. This API is the edge's own, so the scheme is matched in any
 * case (RFC 9110 §11.1) and any amount of spaces, unlike the backend's routes, which keep the
 * backend's lowercase `bearer ` rule (src/auth/bearer.ts).
 */
function bearerToken(header: string | null): { ok: true; token: string } | { ok: false; failure: EdgeFailure } {
  if (header === null) return { ok: false, failure: { type: "not_set", message: "authorization header not set" } };
  const match = /^bearer +(\S+) *$/i.exec(header);
  if (match === null) return { ok: false, failure: { type: "bad_format", message: "authorization header should be 'Bearer <token>'" } };
  return { ok: true, token: match[1] ?? "" };
}

/** The `aud` a token claims, unverified: only to choose which check's reason to report. */
function claimedAudience(token: string): unknown {
  try {
    const payload = JSON.parse(atob((token.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/"))) as { aud?: unknown };
    return payload.aud;
  } catch {
    return undefined;
  }
}

/** Id-token failure details are jose codes (src/auth/jwt.ts); said in words here. */
function describeIdFailure(failure: AuthFailure): string {
  if (failure.reason !== "invalid") return failure.reason;
  switch (failure.detail) {
    case "ERR_JWT_EXPIRED":
    case "expired":
      return "id token expired";
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "id token has a bad signature";
    case "not an admin":
      return "not an admin";
    default:
      return `id token is invalid (${failure.detail})`;
  }
}

export function createAdminApi(deps: AdminApiDeps): (request: Request) => Promise<Response> {
  const { config, store, stats } = deps;

  /** Service token first; otherwise an admin's id token (docs/admin-api.md "Auth"). */
  async function authenticate(request: Request): Promise<Authentication> {
    const bearer = bearerToken(request.headers.get("authorization"));
    if (!bearer.ok) return bearer;
    const now = deps.now();
    const keys = {
      secret: config.secrets.edgeAdmin,
      maxSeconds: config.adminTokenMaxSeconds,
      ...(config.previousSecrets.edgeAdmin === undefined ? {} : { previous: config.previousSecrets.edgeAdmin }),
    };
    const service = await verifyAdminServiceToken(bearer.token, keys, now);
    if (service.ok) return { ok: true, principal: { kind: "service", sub: service.sub } };
    const serviceDetail = service.failure.reason === "invalid" ? service.failure.detail : service.failure.reason;
    if (deps.authorizeIdToken !== undefined) {
      const viaId = await deps.authorizeIdToken(bearer.token, now);
      if (viaId.kind === "admin") return { ok: true, principal: { kind: "admin-id", sub: viaId.sub } };
      // Report the check the token was meant for: the id-token check's for an `oseh-id` token.
      if (claimedAudience(bearer.token) === ID_TOKEN_AUDIENCE) {
        const why = viaId.kind === "failure" ? describeIdFailure(viaId.failure) : "the admin bit for this id token cannot be checked now";
        return { ok: false, failure: { type: "invalid", message: `token is invalid: ${why}` } };
      }
    }
    return { ok: false, failure: { type: "invalid", message: `token is invalid: ${serviceDetail}` } };
  }

  const putKey: Handler = async (request) => {
    const target = keyFromPath(request);
    if (!target.ok) return target.response;
    const { family } = target.parsed;

    const declared = request.headers.get("content-length");
    if (declared !== null && Number(declared) > MAX_VALUE_BYTES) {
      return fail({ type: "too_large", message: `value of ${declared} bytes exceeds ${MAX_VALUE_BYTES}` });
    }
    const expiresHeader = parseExpiresAtHeader(request.headers.get("x-edge-expires-at"));
    if (!expiresHeader.ok) return fail({ type: "bad_request", message: expiresHeader.message });
    const sourceTime = parseSourceTimeHeader(request.headers.get("x-edge-source-time"), deps.now());
    if (!sourceTime.ok) return fail({ type: "bad_request", message: sourceTime.message });
    if (deps.media !== undefined && target.parsed.key.startsWith(MEDIA_KEY_PREFIX)) return putMedia(deps.media, target.parsed, request, expiresHeader.value, sourceTime.value);

    const body = await readCapped(request.body, MAX_VALUE_BYTES);
    if (!body.ok) return fail({ type: "too_large", message: `value exceeds ${MAX_VALUE_BYTES} bytes` });
    const problem = await validateValue(family, body.bytes);
    if (problem !== null) {
      return fail({ type: "invalid_value", message: `value fails the ${family.codec.name} codec: ${problem}` });
    }

    // Envelopes hold whole seconds; the platform clock is fractional.
    const now = Math.floor(deps.now());
    const expiry = computeExpiresAt(family, now, {
      collabMaxSeconds: config.collabMaxSeconds,
      ...(expiresHeader.value !== undefined ? { writerExpiresAt: expiresHeader.value } : {}),
    });
    if (!expiry.ok) return fail({ type: "bad_request", message: expiry.reason });

    const value = {
      bytes: body.bytes,
      envelope: {
        family: family.name,
        storedAt: now,
        expiresAt: expiry.expiresAt,
        codec: family.codec.name,
        size: body.bytes.byteLength,
        sha256: await sha256Hex(body.bytes),
      },
    };
    let result;
    if (deps.shield === undefined) {
      result = await store.write(target.parsed.key, value, now);
    } else {
      let answer;
      try {
        answer = await deps.shield.put(target.parsed.key, family, value, now, sourceTime.value);
      } catch (error) {
        // The shield unreachable: nothing was applied; the caller retries (PUT is idempotent).
        return fail({ type: "storage_error", message: `write not applied: ${describe(error)}` });
      }
      if (!answer.applied) return fail(SUPERSEDED);
      if (!answer.result.ok) return fail(storageFailure(answer.result.failure));
      await store.keepLocal(target.parsed.key, value, now);
      result = { ok: true as const, skipped: false };
    }
    if (!result.ok) return fail(storageFailure(result.failure));
    // A remembered `absent` (src/origin/fill-guard.ts) must not hide the value just written.
    deps.guard.forgetAbsent(target.parsed.key);
    stats.count(family.name, result.skipped ? "skippedWrites" : "writes");
    return new Response(null, { status: 204 });
  };

  const getKey: Handler = async (request) => {
    const target = keyFromPath(request);
    if (!target.ok) return target.response;
    const { family, key } = target.parsed;
    // Secret families are write-only: never returned by any route (docs/design.md §2).
    if (family.sensitivity === "secret") {
      return fail({ type: "forbidden", message: `${family.name} is write-only` });
    }
    if (deps.media !== undefined && key.startsWith(MEDIA_KEY_PREFIX)) return getMedia(deps.media, key);
    const read = await store.read(key, deps.now());
    // KV threw: whether a value exists is unknown, so not a 404.
    if (read.state === "miss" && read.failed === true) return fail({ type: "storage_error", message: "KV read failed; retry" });
    if (read.state !== "fresh") return fail({ type: "not_found", message: "no fresh value for this key" });
    return valueResponse(read.value.envelope, read.value.bytes);
  };

  /** `PUT` of an `s3_files:` key: the bytes stream to R2 and the shield publishes the pointer. */
  async function putMedia(media: MediaStore, target: ParsedKey, request: IRequest, writerExpiresAt: number | undefined, sourceTime: number | undefined): Promise<Response> {
    const declared = request.headers.get("content-length");
    const result = await media.put(target.key, target.family, {
      body: request.body,
      size: declared !== null && /^\d{1,15}$/.test(declared) ? Number(declared) : undefined,
      maxBytes: MAX_VALUE_BYTES,
      now: Math.floor(deps.now()),
      ...(writerExpiresAt === undefined ? {} : { writerExpiresAt }),
      ...(sourceTime === undefined ? {} : { sourceTime }),
    });
    if (result.kind !== "stored") return fail(mediaPutFailure(result));
    deps.guard.forgetAbsent(target.key);
    stats.count(target.family.name, "writes");
    return new Response(null, { status: 204 });
  }

  /** `GET` of an `s3_files:` key: the object the media routes would serve, streamed from R2. */
  async function getMedia(media: MediaStore, key: string): Promise<Response> {
    let value;
    try {
      value = await media.readValue(key, deps.now());
    } catch (error) {
      // R2 threw: whether a value exists is unknown, so not a 404.
      return fail({ type: "storage_error", message: `R2 read failed; retry (${describe(error)})` });
    }
    if (value === undefined) return fail({ type: "not_found", message: "no fresh value for this key" });
    return valueResponse(value.envelope, value.body);
  }

  const deleteKey: Handler = async (request) => {
    const target = keyFromPath(request);
    if (!target.ok) return target.response;
    const sourceTime = parseSourceTimeHeader(request.headers.get("x-edge-source-time"), deps.now());
    if (!sourceTime.ok) return fail({ type: "bad_request", message: sourceTime.message });
    try {
      if (deps.shield === undefined) {
        await store.delete(target.parsed.key);
      } else {
        const answer = await deps.shield.remove(target.parsed.key, target.parsed.family, Math.floor(deps.now()), sourceTime.value);
        if (!answer.applied) return fail(SUPERSEDED);
        await store.forgetLocal(target.parsed.key, Math.floor(deps.now()));
      }
    } catch (error) {
      // KV still refusing after its 429 retries: say so (retrying is safe; deletes are idempotent).
      return fail({ type: "storage_error", message: `delete failed: ${describe(error)}` });
    }
    deps.guard.forgetAbsent(target.parsed.key);
    return new Response(null, { status: 204 });
  };

  const listKeys: Handler = async (request) => {
    const url = new URL(request.url);
    const prefix = url.searchParams.get("prefix") ?? "";
    const cursor = url.searchParams.get("cursor");
    const limitText = url.searchParams.get("limit");
    let limit = DEFAULT_LIST_LIMIT;
    if (limitText !== null) {
      if (!/^\d+$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_LIST_LIMIT) {
        return fail({ type: "bad_request", message: `limit must be an integer in [1, ${MAX_LIST_LIMIT}]` });
      }
      limit = Number(limitText);
    }
    let page;
    try {
      page = await store.list({ prefix, limit, ...(cursor ? { cursor } : {}) });
    } catch (error) {
      // Listing is read-only: repeating the call (same cursor) is safe.
      return fail({ type: "storage_error", message: `list failed: ${describe(error)}` });
    }
    return Response.json(page, { headers: { "Cache-Control": "no-store" } });
  };

  const purge: Handler = async (request) => {
    const type = request.headers.get("content-type") ?? "";
    if (!type.toLowerCase().startsWith("application/json")) {
      return fail({ type: "unsupported_media_type", message: "purge takes an application/json body" });
    }
    const sourceTime = parseSourceTimeHeader(request.headers.get("x-edge-source-time"), deps.now());
    if (!sourceTime.ok) return fail({ type: "bad_request", message: sourceTime.message });
    const body = await readCapped(request.body, MAX_PURGE_BODY_BYTES);
    if (!body.ok) return fail({ type: "too_large", message: "purge body is too large" });
    let doc: unknown;
    try {
      doc = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body.bytes));
    } catch {
      return fail({ type: "bad_request", message: "purge body is not valid JSON" });
    }
    const selector = parsePurgeSelector(doc);
    if (!selector.ok) return fail(selector.failure);
    let result;
    try {
      result =
        deps.shield === undefined
          ? await purgeWithoutShields(selector.value)
          : await purgeThroughShields(deps.shield, selector.value, sourceTime.value);
    } catch (error) {
      // A KV delete or the generation bump still refused after retries. Deletes already done
      // stay done; repeating the same call (same cursor) is safe and finishes the page.
      return fail({ type: "storage_error", message: `purge failed: ${describe(error)}` });
    }
    deps.guard.forgetAllAbsent();
    return Response.json(result, { headers: { "Cache-Control": "no-store" } });
  };

  /** Without shields nothing orders writes: source times are checked, not recorded. */
  async function purgeWithoutShields(selector: PurgeSelector): Promise<PurgeAnswer> {
    const result = await store.purge(selector, deps.now());
    return "keys" in selector ? { ...result, superseded: [] } : result;
  }

  /**
   * Keys: each deleted by its shield (in order with fills) as a DELETE with the purge's source
   * time; a key whose newer write was already applied stays, is not counted in `purged`, and is
   * listed in `superseded`. Family and prefix: the shields record the purge first (O(1): fills in
   * flight lose, their own copies go; with a source time, older writes of its keys become late),
   * then KV is deleted page by page behind it as without shields.
   */
  async function purgeThroughShields(shield: ShieldClient, selector: PurgeSelector, sourceTime: number | undefined): Promise<PurgeAnswer> {
    const now = Math.floor(deps.now());
    if ("keys" in selector) {
      const superseded: string[] = [];
      for (const key of selector.keys) {
        const parsed = parseKey(key);
        if (!parsed.ok) continue; // parsePurgeSelector already refused these
        const answer = await shield.purgeKey(key, parsed.value.family, now, sourceTime);
        if (!answer.applied) {
          superseded.push(key);
          continue;
        }
        await store.forgetLocal(key, now);
      }
      return { purged: selector.keys.length - superseded.length, cursor: null, visibleWithinSeconds: store.visibleWithinSeconds, superseded };
    }
    if (selector.cursor === undefined) {
      if ("family" in selector) {
        const family = getFamily(selector.family);
        if (family !== undefined) await shield.purgeFamily(family, now, sourceTime);
      } else {
        await shield.purgePrefix(selector.prefix, now, sourceTime);
      }
    }
    return store.purge(selector, now);
  }

  const familiesList: Handler = async () =>
    Response.json(
      FAMILIES.map((f) => ({
        name: f.name,
        codec: f.codec.name,
        expiry: f.expiry,
        sensitivity: f.sensitivity,
        route: f.route,
      })),
      { headers: { "Cache-Control": "no-store" } },
    );

  /** `?family=<pattern>` adds that family's shield counters (summed over its shards, edge-wide). */
  const statsRoute: Handler = async (request) => {
    const name = new URL(request.url).searchParams.get("family");
    let shield = {};
    if (name !== null) {
      const family = getFamily(name);
      if (family === undefined) return fail({ type: "unknown_family", message: "no such family (GET /_edge/v1/families)" });
      if (deps.shield !== undefined) shield = { shield: { [family.name]: await deps.shield.stats(family) } };
    }
    return Response.json({ ...stats.snapshot(), storage: store.stats(), ...shield }, { headers: { "Cache-Control": "no-store" } });
  };

  /** Who is calling, as the route sees it, and what it may call (for the status page). */
  const whoami: Handler = async (_request, principal) =>
    Response.json({ principal: principal.kind, sub: principal.sub, routes: routesAllowed(principal) }, { headers: { "Cache-Control": "no-store" } });

  /**
   * Authenticates, then checks the principal against `route`'s row of ADMIN_ROUTE_PRINCIPALS: the
   * one place a route's permission is decided. Only failed authentication counts towards the
   * client's limit; a refused PUT came with a valid credential.
   */
  const guarded =
    (route: AdminRoute, handler: Handler) =>
    async (request: IRequest): Promise<Response> => {
      const auth = await authenticate(request);
      if (!auth.ok) return limitFailedAuth(deps.authLimiter, request, fail(auth.failure));
      const refusal = refusalFor(route, auth.principal);
      return refusal === null ? handler(request, auth.principal) : fail(refusal);
    };

  const methodNotAllowed = (allow: string) => async (): Promise<Response> =>
    fail({ type: "method_not_allowed", message: "method not allowed", allow });

  const router = Router({ base: ADMIN_BASE })
    .get("/health", async () => Response.json({ ok: true }, { headers: { "Cache-Control": "no-store" } }))
    .all("/health", methodNotAllowed("GET"))
    // The status page's shell holds no data, so it needs no token; its data calls do.
    .get("/ui", async () => statusPageResponse())
    .all("/ui", methodNotAllowed("GET"))
    .get("/families", guarded("GET /families", familiesList))
    .all("/families", methodNotAllowed("GET"))
    .get("/keys", guarded("GET /keys", listKeys))
    .all("/keys", methodNotAllowed("GET"))
    .put("/keys/:key+", guarded("PUT /keys/{key}", putKey))
    .get("/keys/:key+", guarded("GET /keys/{key}", getKey))
    .delete("/keys/:key+", guarded("DELETE /keys/{key}", deleteKey))
    .all("/keys/:key+", methodNotAllowed("GET, PUT, DELETE"))
    .post("/purge", guarded("POST /purge", purge))
    .all("/purge", methodNotAllowed("POST"))
    .get("/stats", guarded("GET /stats", statsRoute))
    .all("/stats", methodNotAllowed("GET"))
    .get("/whoami", guarded("GET /whoami", whoami))
    .all("/whoami", methodNotAllowed("GET"))
    .all("*", async () => fail({ type: "not_found", message: "no such admin route" }));

  return async (request) => (await router.fetch(request)) as Response;
}

/** A storage error for the caller: its message names the KV failure, never a value. */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A stored value as the admin API returns it: raw bytes and the envelope's facts. */
function valueResponse(envelope: Envelope, body: Uint8Array | ReadableStream<Uint8Array>): Response {
  return new Response(body, {
    status: 200,
    headers: {
      "Content-Type": "application/octet-stream",
      "Cache-Control": "no-store",
      "X-Edge-Family": envelope.family,
      "X-Edge-Stored-At": String(envelope.storedAt),
      "X-Edge-Expires-At": String(envelope.expiresAt),
      "X-Edge-Sha256": envelope.sha256,
    },
  });
}

function mediaPutFailure(result: Exclude<MediaPutResult, { kind: "stored" }>): EdgeFailure {
  switch (result.kind) {
    case "bad_request":
      return { type: "bad_request", message: result.message };
    case "too_large":
      return { type: "too_large", message: result.message };
    case "superseded":
      return result.reason === "late"
        ? SUPERSEDED
        : { type: "superseded", message: "a DELETE, purge or PUT of this key reached its shield while this value was uploading; not applied" };
    case "unavailable":
      return { type: "storage_error", message: result.message };
    case "not_stored":
      return storageFailure(result.failure);
    default:
      return result satisfies never;
  }
}

function storageFailure(failure: StorageFailure): EdgeFailure {
  switch (failure.reason) {
    case "too_large":
      return { type: "too_large", message: failure.message };
    case "invalid_key":
      return { type: "bad_key", message: failure.message };
    case "metadata_too_large":
    case "invalid_envelope":
    case "rate_limited":
    case "backend_error":
      return { type: "storage_error", message: failure.message };
    default:
      return failure satisfies never;
  }
}

export type PurgeSelector = { keys: string[] } | { prefix: string; cursor?: string } | { family: string; prefix: string; cursor?: string };

/** A purge call's answer (docs/admin-api.md): a keys purge also lists the keys a newer write kept. */
type PurgeAnswer = PurgeResult & { superseded?: string[] };


function parsePurgeSelector(doc: unknown): { ok: true; value: PurgeSelector } | { ok: false; failure: EdgeFailure } {
  const bad = (message: string) => ({ ok: false as const, failure: { type: "bad_request" as const, message } });
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return bad("purge body must be a JSON object");
  const body = doc as Record<string, unknown>;
  const selectors = ["keys", "family", "prefix"].filter((k) => body[k] !== undefined);
  if (selectors.length !== 1) return bad("purge body needs exactly one of keys, family, prefix");
  const cursor = body.cursor;
  if (cursor !== undefined && cursor !== null && typeof cursor !== "string") return bad("cursor must be a string");
  const cursorPart = typeof cursor === "string" && cursor !== "" ? { cursor } : {};

  if (body.keys !== undefined) {
    if (!Array.isArray(body.keys) || body.keys.length === 0 || body.keys.length > MAX_PURGE_KEYS) {
      return bad(`keys must be an array of 1 to ${MAX_PURGE_KEYS} keys`);
    }
    const keys: string[] = [];
    for (const key of body.keys) {
      if (typeof key !== "string") return bad("keys must be strings");
      const parsed = parseKey(key);
      // All-or-nothing: one bad key refuses the whole call, so nothing is purged half-way.
      if (!parsed.ok) return { ok: false, failure: { type: "bad_key", message: parsed.failure.message } };
      keys.push(parsed.value.key);
    }
    return { ok: true, value: { keys } };
  }
  if (body.family !== undefined) {
    if (typeof body.family !== "string") return bad("family must be a family pattern string");
    const family = getFamily(body.family);
    if (family === undefined) {
      return { ok: false, failure: { type: "unknown_family", message: "no such family (GET /_edge/v1/families)" } };
    }
    return { ok: true, value: { family: family.name, prefix: familyLiteralPrefix(family), ...cursorPart } };
  }
  if (typeof body.prefix !== "string" || body.prefix === "") return bad("prefix must be a non-empty string");
  if (body.prefix.startsWith("_edge:")) return bad("the _edge: prefix is reserved");
  return { ok: true, value: { prefix: body.prefix, ...cursorPart } };
}
