/**
 * Renders a stored block value into the response body (catalog/blocks-spec.md §2.3, §3.3):
 * type-1 bytes pass through as they arrive, markers become JWTs or the session uid.
 *
 * Signing is not done here: the renderer asks a `ResourceSigner` (the token service) for a token
 * when it reaches a marker, with that moment's clock, as the backend does (§2.3: "Each JWT is
 * minted when its block is reached"), so tokens in one body may be a second apart.
 */
import { concatBytes } from "../util/bytes";
import type { ResourceKind } from "../auth/jwt";
import { createBlockWalker, validateBlocks, type BlockEvent, type BlockKind, type RenderFailure } from "./blocks";

export interface ResourceSigner {
  mint(kind: ResourceKind, sub: string, now: number): Promise<string>;
}

interface WrapperOptions {
  /** Written before the rendered value (wrapper routes, blocks-spec §2.8 / DESIGN §4.3). */
  prefix?: string;
  /** Written after the rendered value. */
  suffix?: string;
}

export interface JourneyRenderOptions extends WrapperOptions {
  kind: "journey";
  /** Injected verbatim at type 2; may be "" (§2.3). */
  journeyJwt: string;
  signer: ResourceSigner;
  /** Unix seconds (may be fractional); read once per minted token. */
  now: () => number;
}

export interface PromptRenderOptions extends WrapperOptions {
  kind: "prompt";
  /** Injected at type 2 (`oseh_ips_…`). */
  sessionUid: string;
  /** Injected at type 3; minted by the caller before rendering (§3.3). */
  promptJwt: string;
}

export type RenderOptions = JourneyRenderOptions | PromptRenderOptions;

/** The reason a render stream errors: always carries the typed framing failure. */
export class RenderError extends Error {
  override readonly name = "RenderError";
  constructor(readonly failure: RenderFailure) {
    super(failure.message);
  }
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

/** One output chunk per input chunk: fewer reads downstream, bounded by the input chunk size. */
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

/**
 * A TransformStream from stored block bytes (any chunking) to the rendered body. Framing errors
 * error the stream with a `RenderError`; a corrupt value never ends as a short success.
 */
export function createRenderStream(options: RenderOptions): TransformStream<Uint8Array, Uint8Array> {
  const kind: BlockKind = options.kind;
  const walker = createBlockWalker(kind);
  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      if (options.prefix) controller.enqueue(encoder.encode(options.prefix));
    },
    async transform(chunk, controller) {
      const walked = walker.push(chunk);
      if (!walked.ok) throw new RenderError(walked.failure);
      const out = await renderEvents(walked.events, options);
      if (out.length > 0) controller.enqueue(out);
    },
    flush(controller) {
      const finished = walker.finish();
      if (!finished.ok) throw new RenderError(finished.failure);
      if (options.suffix) controller.enqueue(encoder.encode(options.suffix));
    },
  });
}

/** Stored values are fed to the stream in slices this big, so no type-1 value is copied whole. */
export const RENDER_SLICE_BYTES = 64 * 1024;

export type RenderValueResult = { ok: true; body: ReadableStream<Uint8Array> } | { ok: false; failure: RenderFailure };

/**
 * Validates the whole stored value first (DESIGN §5: never stream a corrupt value as a 200),
 * then returns the rendered body at once; the producer runs detached and always closes or aborts.
 */
export function renderValue(bytes: Uint8Array, options: RenderOptions): RenderValueResult {
  const validated = validateBlocks(bytes, options.kind);
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
