/**
 * L1: the Cache API, colo-local (docs/design.md §3). Entries are synthetic GET URLs on the Worker's own
 * host under `/_edge/l1/`, carrying the envelope as `X-Edge-*` headers. Every body is read into
 * bytes on the way in and out: a Response or stream from one request must never be used by
 * another. Layout: docs/storage-schema.md.
 */
import { checkStorable, isEnvelope, keyProblem } from "./envelope";
import { L1_PATH_PREFIX } from "./limits";
import type { Envelope, GenerationalTier, PutResult, StoredValue } from "./tier";

/** Generation of an entry whose family is unknown, or whose family was never purged. */
export const INITIAL_GENERATION = "0";

export interface CacheApiTierOptions {
  /** Any URL on the Worker's own host; only its origin is used (the Cache API keys by URL). */
  baseUrl: string;
  /** Upper bound of every entry's `max-age`: the time a purge takes to reach other colos' L1. */
  maxAgeSeconds: number;
  /** Told when a best-effort delete failed (the tiered store counts it). */
  onDeleteFailure?: (key: string) => void;
}

/** Entries expire by the platform's clock (`max-age`), so `getAt` ignores `now`. */
export interface CacheApiTier extends GenerationalTier {
  readonly name: "l1";
  urlFor(key: string, generation: string): string;
}

const H = {
  family: "X-Edge-Family",
  storedAt: "X-Edge-Stored-At",
  expiresAt: "X-Edge-Expires-At",
  codec: "X-Edge-Codec",
  size: "X-Edge-Size",
  sha256: "X-Edge-Sha256",
  generation: "X-Edge-Generation",
} as const;

/**
 * `Cache-Tag` for a family, so an operator can purge a family's L1 in every colo with one zone
 * purge. Tags must be printable ASCII without commas; anything else is percent-encoded.
 */
export function familyCacheTag(family: string): string {
  return `oseh-edge:${family.replace(/[^\x21-\x2b\x2d-\x7e]/gu, (c) => encodeURIComponent(c))}`;
}

/** `max-age` = min(L1 bound, seconds until `expiresAt`); L1 never holds a value past its expiry. */
export function l1MaxAge(envelope: Envelope, now: number, maxAgeSeconds: number): number {
  return Math.min(maxAgeSeconds, envelope.expiresAt - now);
}

function readInt(headers: Headers, name: string): number | undefined {
  const raw = headers.get(name);
  return raw !== null && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

function decode(raw: string | null): string | undefined {
  if (raw === null) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

function envelopeFromHeaders(headers: Headers): Envelope | undefined {
  const candidate = {
    family: decode(headers.get(H.family)),
    storedAt: readInt(headers, H.storedAt),
    expiresAt: readInt(headers, H.expiresAt),
    codec: decode(headers.get(H.codec)),
    size: readInt(headers, H.size),
    sha256: headers.get(H.sha256),
  };
  return isEnvelope(candidate) ? candidate : undefined;
}

export function createCacheApiTier(cache: Cache, options: CacheApiTierOptions): CacheApiTier {
  const origin = new URL(options.baseUrl).origin;

  const urlFor = (key: string, generation: string): string =>
    `${origin}${L1_PATH_PREFIX}${encodeURIComponent(generation)}/${encodeURIComponent(key)}`;

  const deleteAt = async (key: string, generation: string): Promise<void> => {
    try {
      await cache.delete(urlFor(key, generation));
    } catch {
      // Colo-local and best effort: under subrequest rate limiting `delete` throws; the entry
      // still dies within `maxAgeSeconds`, which is the documented bound anyway.
      options.onDeleteFailure?.(key);
    }
  };

  const getAt = async (key: string, generation: string, _now?: number): Promise<StoredValue | undefined> => {
    if (keyProblem(key) !== null) return undefined;
    const response = await cache.match(urlFor(key, generation));
    if (response === undefined) return undefined;
    const envelope = envelopeFromHeaders(response.headers);
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (envelope === undefined || envelope.size !== bytes.byteLength) return undefined;
    return { bytes, envelope };
  };

  const putAt = async (key: string, value: StoredValue, now: number, generation: string): Promise<PutResult> => {
    const checked = checkStorable(key, value);
    if (!checked.ok) return checked;
    const envelope = checked.metadata;
    const maxAge = l1MaxAge(envelope, now, options.maxAgeSeconds);
    if (maxAge <= 0) {
      // Already expired: L1 only holds fresh values, and an older copy must not outlive this write.
      await deleteAt(key, generation);
      return { ok: true };
    }
    const response = new Response(value.bytes, {
      headers: {
        "Content-Type": "application/octet-stream",
        "Cache-Control": `max-age=${maxAge}`,
        "Cache-Tag": familyCacheTag(envelope.family),
        [H.family]: encodeURIComponent(envelope.family),
        [H.storedAt]: String(envelope.storedAt),
        [H.expiresAt]: String(envelope.expiresAt),
        [H.codec]: encodeURIComponent(envelope.codec),
        [H.size]: String(envelope.size),
        [H.sha256]: envelope.sha256,
        [H.generation]: encodeURIComponent(generation),
      },
    });
    try {
      await cache.put(urlFor(key, generation), response);
      return { ok: true };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, failure: { reason: "backend_error", message: `Cache API put failed: ${message}` } };
    }
  };

  return {
    name: "l1",
    urlFor,
    getAt,
    putAt,
    deleteAt,
  };
}
