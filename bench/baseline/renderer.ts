/**
 * BASELINE ONLY (bench/render.bench.ts): the renderer and minter production ran before templates
 * were compiled and tokens kept per second — a chunk walker re-reading the framing on every
 * render, a pull source in 64 KiB slices, and a hand-assembled HS256 minter. Kept so the bench
 * measures today's renderer against it in the same run; nothing in src/ or test/ imports it.
 * The up-front validation it did is the production one (compileTemplate), as then.
 */
import type { Secrets } from "../../src/config";
import { RESOURCE_AUDIENCE, RESOURCE_KINDS, RESOURCE_SECRET, JWT_ISSUER, JWT_BACKDATE_SECONDS, JWT_LIFETIME_SECONDS, createTokenMemory, importHmacKey, type ResourceKind } from "../../src/auth/jwt";
import { BLOCK_COPY, BLOCK_HEADER_BYTES, checkBlockHeader, checkMarkerValue, compileTemplate, readU32, type BlockKind, type RenderFailure } from "../../src/render/blocks";
import type { RenderOptions } from "../../src/render/stream";
import { concatBytes } from "../../src/util/bytes";

const JWT_HEADER_B64URL = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

class RenderError extends Error {
  constructor(readonly failure: RenderFailure) {
    super(failure.message);
  }
}

function failure(reason: RenderFailure["reason"], offset: number, message: string): RenderFailure {
  return { reason, offset, message };
}

/** One step of a walk: bytes to copy through, or a marker to replace (uid is "" for empty markers). */
type BlockEvent = { type: "copy"; bytes: Uint8Array } | { type: "marker"; marker: number; uid: string; offset: number };

type WalkResult = { ok: true; events: BlockEvent[] } | { ok: false; failure: RenderFailure };

/**
 * An incremental walker over chunks split anywhere (a header may straddle chunks). Copy bytes
 * are handed out as views of the incoming chunk, never accumulated, so memory stays bounded by
 * the chunk size plus one header and one marker value.
 */
interface BlockWalker {
  push(chunk: Uint8Array): WalkResult;
  /** Call at end of input: a clean end is only between blocks. */
  finish(): { ok: true } | { ok: false; failure: RenderFailure };
}

function createBlockWalker(kind: BlockKind): BlockWalker {
  const header = new Uint8Array(BLOCK_HEADER_BYTES);
  let headerFilled = 0;
  /** Offset of the current block's header in the whole value. */
  let blockOffset = 0;
  /** Bytes consumed so far. */
  let position = 0;
  let type = 0;
  let remaining = 0; // value bytes of the current block still to read
  let inValue = false;
  let marker: Uint8Array | null = null;
  let markerFilled = 0;
  let failed: RenderFailure | null = null;

  function fail(f: RenderFailure): { ok: false; failure: RenderFailure } {
    failed = f;
    return { ok: false, failure: f };
  }

  function endOfValue(events: BlockEvent[]): RenderFailure | null {
    if (type !== BLOCK_COPY) {
      if (marker === null || marker.length === 0) {
        events.push({ type: "marker", marker: type, uid: "", offset: blockOffset });
      } else {
        const checked = checkMarkerValue(type, marker, blockOffset);
        if (!checked.ok) return checked.failure;
        events.push({ type: "marker", marker: type, uid: checked.uid, offset: blockOffset });
      }
    }
    inValue = false;
    marker = null;
    headerFilled = 0;
    blockOffset = position;
    return null;
  }

  return {
    push(chunk) {
      if (failed !== null) return { ok: false, failure: failed };
      const events: BlockEvent[] = [];
      let i = 0;
      while (i < chunk.length) {
        if (!inValue) {
          const take = Math.min(BLOCK_HEADER_BYTES - headerFilled, chunk.length - i);
          header.set(chunk.subarray(i, i + take), headerFilled);
          headerFilled += take;
          i += take;
          position += take;
          if (headerFilled < BLOCK_HEADER_BYTES) break;
          remaining = readU32(header, 0);
          type = header[4] as number;
          const headerFailure = checkBlockHeader(kind, type, remaining, blockOffset);
          if (headerFailure !== null) return fail(headerFailure);
          inValue = true;
          if (type !== BLOCK_COPY) {
            marker = new Uint8Array(remaining);
            markerFilled = 0;
          }
          if (remaining === 0) {
            const f = endOfValue(events);
            if (f !== null) return fail(f);
          }
          continue;
        }
        const take = Math.min(remaining, chunk.length - i);
        if (type === BLOCK_COPY) {
          events.push({ type: "copy", bytes: chunk.subarray(i, i + take) });
        } else if (marker !== null) {
          marker.set(chunk.subarray(i, i + take), markerFilled);
          markerFilled += take;
        }
        i += take;
        position += take;
        remaining -= take;
        if (remaining === 0) {
          const f = endOfValue(events);
          if (f !== null) return fail(f);
        }
      }
      return { ok: true, events };
    },
    finish() {
      if (failed !== null) return { ok: false, failure: failed };
      if (position === 0) return fail(failure("empty", 0, "empty value"));
      if (inValue || headerFilled > 0) {
        return fail(
          failure(
            "truncated",
            blockOffset,
            inValue
              ? `block at offset ${blockOffset} ends ${remaining} bytes early`
              : `block header at offset ${blockOffset} is truncated`,
          ),
        );
      }
      return { ok: true };
    },
  };
}

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Every 12-bit value as its two base64url characters: one lookup per half of a 3-byte group. */
const BASE64URL_PAIRS: readonly string[] = Array.from(
  { length: 4096 },
  (_, i) => `${BASE64URL_ALPHABET.charAt(i >> 6)}${BASE64URL_ALPHABET.charAt(i & 63)}`,
);

/** base64url without padding (RFC 7515 §2). Sized for signatures and claim sets, not for megabytes. */
function encodeBase64Url(bytes: Uint8Array): string {
  const whole = bytes.length - (bytes.length % 3);
  let out = "";
  let i = 0;
  for (; i < whole; i += 3) {
    const group = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out += (BASE64URL_PAIRS[group >> 12] as string) + (BASE64URL_PAIRS[group & 4095] as string);
  }
  if (i + 1 === bytes.length) {
    out += BASE64URL_PAIRS[(bytes[i] as number) << 4] as string;
  } else if (i + 2 === bytes.length) {
    const group = ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
    out += (BASE64URL_PAIRS[group >> 4] as string) + BASE64URL_ALPHABET.charAt((group & 15) << 2);
  }
  return out;
}

const NON_ASCII = /[^\x00-\x7f]/;
const BASE64_TO_URL: Readonly<Record<string, string>> = { "+": "-", "/": "_", "=": "" };
const utf8 = new TextEncoder();

/**
 * base64url of the UTF-8 bytes of a JSON text. Claim sets are ASCII in practice (uids, §4), and
 * for ASCII text `btoa` is the UTF-8 encoding already and measured fastest in workerd for
 * ~120-byte payloads; anything else goes through TextEncoder.
 */
function encodeJsonBase64Url(json: string): string {
  if (NON_ASCII.test(json)) return encodeBase64Url(utf8.encode(json));
  return btoa(json).replace(/[+/=]/g, (c) => BASE64_TO_URL[c] as string);
}

/** Keys already checked to be HMAC-SHA256 signing keys (what jose checks on every call). */
const hs256Keys = new WeakSet<CryptoKey>();

function assertHs256Key(key: CryptoKey): void {
  if (hs256Keys.has(key)) return;
  const algorithm = key.algorithm;
  const hash = algorithm.name === "HMAC" && "hash" in algorithm ? algorithm.hash : undefined;
  if (hash?.name !== "SHA-256" || !key.usages.includes("sign")) {
    throw new TypeError("HS256 needs an HMAC SHA-256 CryptoKey with the sign usage");
  }
  hs256Keys.add(key);
}

/** `header.payload.signature` for a payload JSON text, under the constant HS256 header. */
async function signPayloadJson(json: string, key: CryptoKey): Promise<string> {
  assertHs256Key(key);
  const signingInput = `${JWT_HEADER_B64URL}.${encodeJsonBase64Url(json)}`;
  const signature = await crypto.subtle.sign("HMAC", key, utf8.encode(signingInput));
  return `${signingInput}.${encodeBase64Url(new Uint8Array(signature))}`;
}

/** Per kind, the payload JSON between the sub and the iat: `,"iss":"oseh","aud":"oseh-image","iat":`. */
const CLAIMS_AFTER_SUB: Readonly<Record<ResourceKind, string>> = Object.fromEntries(
  RESOURCE_KINDS.map((kind) => [kind, `,"iss":${JSON.stringify(JWT_ISSUER)},"aud":${JSON.stringify(RESOURCE_AUDIENCE[kind])},"iat":`]),
) as Record<ResourceKind, string>;

/**
 * `JSON.stringify(buildResourceClaims(kind, sub, now))` without building the object: the same
 * text for every string `sub` (JSON.stringify escapes it as it would inside the object).
 */
function resourceClaimsJson(kind: ResourceKind, sub: string, now: number): string {
  const seconds = Math.floor(now);
  if (!Number.isFinite(seconds)) throw new TypeError(`mint clock must be a finite number, got ${now}`);
  return `{"sub":${JSON.stringify(sub)}${CLAIMS_AFTER_SUB[kind]}${seconds - JWT_BACKDATE_SECONDS},"exp":${seconds + JWT_LIFETIME_SECONDS}}`;
}


/** The old token service's mint: resolved keys, claims JSON by hand, one crypto.subtle.sign. */
export function baselineMinter(secrets: Secrets): { mint(kind: ResourceKind, sub: string, now: number): Promise<string> } {
  const signingKeys = new Map<ResourceKind, CryptoKey>();
  const memory = createTokenMemory();
  return {
    async mint(kind, sub, now) {
      const json = resourceClaimsJson(kind, sub, now);
      let key = signingKeys.get(kind);
      if (key === undefined) {
        key = await importHmacKey(secrets[RESOURCE_SECRET[kind]], memory);
        signingKeys.set(kind, key);
      }
      return signPayloadJson(json, key);
    },
  };
}

const encoder = new TextEncoder();

/** Journey marker type → the resource JWT it is replaced with (§2.3). */
const JOURNEY_MARKER_KIND: Readonly<Record<number, ResourceKind>> = { 3: "image", 4: "content", 5: "transcript" };

async function replaceMarker(options: RenderOptions, event: Extract<BlockEvent, { type: "marker" }>): Promise<Uint8Array> {
  if (options.kind === "prompt") {
    return encoder.encode(event.marker === 2 ? options.sessionUid : options.promptJwt);
  }
  if (event.marker === 2) return encoder.encode(options.journeyJwt);
  const kind = JOURNEY_MARKER_KIND[event.marker];
  // The walker only emits markers its header check accepted for the family.
  if (kind === undefined) throw new Error(`unreachable: journey marker ${event.marker}`);
  return encoder.encode(await options.signer.mint(kind, event.uid, options.now()));
}

const joinPieces = concatBytes;

/**
 * Markers are replaced in block order, each reading the clock when its block is reached; the
 * mints of one chunk then run together and the chunk's output is one piece.
 */
async function renderEvents(events: readonly BlockEvent[], options: RenderOptions): Promise<Uint8Array> {
  const pieces: Array<Uint8Array | Promise<Uint8Array>> = [];
  for (const event of events) pieces.push(event.type === "copy" ? event.bytes : replaceMarker(options, event));
  return joinPieces(await Promise.all(pieces));
}

/** Stored values are fed to the stream in slices this big, so no type-1 value is copied whole. */
const RENDER_SLICE_BYTES = 64 * 1024;

type RenderValueResult = { ok: true; body: ReadableStream<Uint8Array> } | { ok: false; failure: RenderFailure };

/**
 * Validates the whole stored value first (docs/design.md §5: never stream a corrupt value as a 200),
 * then returns the rendered body at once; the producer runs detached and always closes or aborts.
 */
export function baselineRenderValue(bytes: Uint8Array, options: RenderOptions): RenderValueResult {
  const validated = compileTemplate(bytes, options.kind);
  if (!validated.ok) return validated;
  // The value is in memory and valid, so the producer is a pull source over 64 KiB slices (no
  // TransformStream hop): each pull renders one slice, and backpressure is the reader's pace.
  const walker = createBlockWalker(options.kind);
  let at = 0;
  let prefixSent = !options.prefix;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!prefixSent) {
        prefixSent = true;
        controller.enqueue(encoder.encode(options.prefix));
        return;
      }
      if (at >= bytes.length) {
        const finished = walker.finish();
        if (!finished.ok) throw new RenderError(finished.failure);
        if (options.suffix) controller.enqueue(encoder.encode(options.suffix));
        controller.close();
        return;
      }
      const slice = bytes.subarray(at, Math.min(bytes.length, at + RENDER_SLICE_BYTES));
      at += slice.length;
      const walked = walker.push(slice);
      if (!walked.ok) throw new RenderError(walked.failure);
      const out = await renderEvents(walked.events, options);
      if (out.length > 0) controller.enqueue(out);
    },
  });
  return { ok: true, body };
}
