/**
 * Renders a stored block value into the response body (docs/block-format.md §2.3, §3.3): the
 * value is validated and compiled first (./blocks.ts, cached per isolate by ./templates.ts), then
 * its sections are rendered into one pull ReadableStream, each section copying the static runs
 * and splicing in the journey JWT, the session uid, or resource JWTs. A pull stream, not a
 * TransformStream or a native IdentityTransformStream/FixedLengthStream: it has no second stream
 * to hop through, and `npm run bench` measured it the cheapest of the four to send
 * (docs/performance.md, "Render").
 *
 * Signing is not done here: the renderer asks a `ResourceSigner` (the token service) for a token
 * when it reaches a marker, with that moment's clock, as the backend does (§2.3: "Each JWT is
 * minted when its block is reached"), so tokens in one body may be a second apart.
 */
import type { ResourceKind } from "../auth/jwt";
import { compileTemplate, type CompiledTemplate, type RenderFailure, type TemplateSlot } from "./blocks";
import { compiledTemplate, type TemplateCache } from "./templates";

export interface ResourceSigner {
  /** A string when the token is at hand (this second's, kept): the render then does not wait. */
  mint(kind: ResourceKind, sub: string, now: number): string | Promise<string>;
}

interface WrapperOptions {
  /** Written before the rendered value (wrapper routes, docs/block-format.md §2.8 / docs/design.md §4.3). */
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

/**
 * One piece of a compiled template as the render stream takes it: `runs[0] slots[0] runs[1] …
 * runs[k]`, so `runs.length === slots.length + 1`. A template is cut into sections of at most
 * `RENDER_SECTION_BYTES` static bytes, so a large value is rendered in bounded pieces and at the
 * reader's pace; a journey (a few KiB) is one section.
 */
export interface TemplateSection {
  readonly runs: readonly Uint8Array[];
  readonly slots: readonly TemplateSlot[];
}

export const RENDER_SECTION_BYTES = 64 * 1024;
/** What a slot counts against a section's budget (a JWT is ~250 bytes). */
const SLOT_BUDGET_BYTES = 256;

const encoder = new TextEncoder();

/** Journey marker type → the resource JWT it is replaced with (§2.3). */
const JOURNEY_MARKER_KIND: Readonly<Record<number, ResourceKind>> = { 3: "image", 4: "content", 5: "transcript" };

/** The text for one slot; marker types were checked against the family when compiled. */
function slotText(options: RenderOptions, slot: TemplateSlot): string | Promise<string> {
  if (options.kind === "prompt") return slot.marker === 2 ? options.sessionUid : options.promptJwt;
  if (slot.marker === 2) return options.journeyJwt;
  const kind = JOURNEY_MARKER_KIND[slot.marker];
  if (kind === undefined) throw new Error(`unreachable: journey marker ${slot.marker}`);
  return options.signer.mint(kind, slot.uid, options.now());
}

/**
 * One output chunk per section: the runs copied and the slot texts encoded into one buffer
 * (`before` first, e.g. the prefix). Slot texts are asked for in order, each reading the clock
 * when its marker is reached; the mints of one section then run together.
 */
function renderSection(section: TemplateSection, options: RenderOptions, before: string): Uint8Array | Promise<Uint8Array> {
  const pending: Array<string | Promise<string>> = [];
  let waits = false;
  for (const slot of section.slots) {
    const text = slotText(options, slot);
    if (typeof text !== "string") waits = true;
    pending.push(text);
  }
  if (waits) return Promise.all(pending).then((texts) => spliceSection(section, texts, before));
  return spliceSection(section, pending as string[], before);
}

function spliceSection(section: TemplateSection, texts: readonly string[], before: string): Uint8Array {
  // UTF-16 units → at most 3 UTF-8 bytes each; the texts are ASCII in practice (JWTs, uids).
  let capacity = before.length * 3;
  for (const run of section.runs) capacity += run.length;
  for (const text of texts) capacity += text.length * 3;
  const out = new Uint8Array(capacity);
  let at = before === "" ? 0 : encoder.encodeInto(before, out).written;
  for (let i = 0; i < texts.length; i++) {
    const run = section.runs[i] as Uint8Array;
    out.set(run, at);
    at += run.length;
    at += encoder.encodeInto(texts[i] as string, out.subarray(at)).written;
  }
  const last = section.runs[texts.length] as Uint8Array;
  out.set(last, at);
  at += last.length;
  return out.subarray(0, at);
}

/**
 * The renderer: a pull ReadableStream of the rendered sections, the wrapper prefix before the
 * first and the suffix after the last. The first section is rendered at once (a journey is one
 * section, enqueued and closed without waiting a turn when its tokens are warm); each later one
 * when the reader asks for more (highWaterMark 0), so a slow reader holds the render back. A
 * failed mint errors the stream; a cancelled body renders nothing more.
 */
export function renderSections(sections: readonly TemplateSection[], options: RenderOptions): ReadableStream<Uint8Array> {
  let prefix = options.prefix ?? "";
  let next = 0;
  let cancelled = false;
  /** Enqueues a section's bytes (and closes after the last): false when that gave the reader nothing. */
  const emit = (controller: ReadableStreamDefaultController<Uint8Array>, bytes: Uint8Array): boolean => {
    if (cancelled) return true;
    if (bytes.length > 0) controller.enqueue(bytes);
    if (next < sections.length) return bytes.length > 0;
    if (options.suffix) controller.enqueue(encoder.encode(options.suffix));
    controller.close();
    return true;
  };
  // A pull must enqueue or close: the stream does not pull again for a read it left waiting, so a
  // section that renders to nothing (an empty run) goes straight on to the next.
  const produce = (controller: ReadableStreamDefaultController<Uint8Array>): void | Promise<void> => {
    while (next < sections.length && !cancelled) {
      const section = sections[next] as TemplateSection;
      next += 1;
      const before = prefix;
      prefix = "";
      const out = renderSection(section, options, before);
      // Warm tokens: enqueued without a turn of the event loop; otherwise once they are signed.
      if (out instanceof Uint8Array) {
        if (emit(controller, out)) return;
        continue;
      }
      return out.then((bytes) => (emit(controller, bytes) ? undefined : produce(controller)));
    }
  };
  return new ReadableStream<Uint8Array>(
    {
      // A template always has a section (templateSections yields at least one).
      start: produce,
      pull: produce,
      cancel() {
        cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * The template's sections, in order: `runs[0] slots[0] … runs[k]` cut wherever a section's
 * static bytes reach `RENDER_SECTION_BYTES` (a slot counts `SLOT_BUDGET_BYTES`).
 */
function* templateSections(template: CompiledTemplate): Generator<TemplateSection> {
  let runs: Uint8Array[] = [];
  let slots: TemplateSlot[] = [];
  let budget = RENDER_SECTION_BYTES;
  for (let i = 0; ; i++) {
    const run = template.runs[i] as Uint8Array;
    let offset = 0;
    while (run.length - offset > budget) {
      runs.push(run.subarray(offset, offset + budget));
      yield { runs, slots };
      offset += budget;
      runs = [];
      slots = [];
      budget = RENDER_SECTION_BYTES;
    }
    runs.push(offset === 0 ? run : run.subarray(offset));
    budget -= run.length - offset;
    const slot = template.slots[i];
    if (slot === undefined) break;
    slots.push(slot);
    budget -= SLOT_BUDGET_BYTES;
    if (budget <= 0) {
      // Close the section on the next run's empty head, so it still ends on a run.
      runs.push(NO_BYTES);
      yield { runs, slots };
      runs = [];
      slots = [];
      budget = RENDER_SECTION_BYTES;
    }
  }
  yield { runs, slots };
}

const NO_BYTES = new Uint8Array(0);

/** Each compiled template's sections, cut once: templates are cached, and so are their cuts. */
// Pure memo: a template's cut depends on the template alone; held weakly with it.
const sectionsOf = new WeakMap<CompiledTemplate, readonly TemplateSection[]>();

function sectionsFor(template: CompiledTemplate): readonly TemplateSection[] {
  let sections = sectionsOf.get(template);
  if (sections === undefined) {
    sections = [...templateSections(template)];
    sectionsOf.set(template, sections);
  }
  return sections;
}

export type RenderValueResult = { ok: true; body: ReadableStream<Uint8Array> } | { ok: false; failure: RenderFailure };

/**
 * Validates and compiles the whole stored value first (never stream a corrupt value as a 200),
 * then returns the rendered body at once. With the value's sha256 the compiled template comes
 * from (and goes into) the isolate's cache.
 */
export function renderValue(bytes: Uint8Array, options: RenderOptions, cached?: { templates: TemplateCache; sha256: string }): RenderValueResult {
  const compiled = cached === undefined ? compileTemplate(bytes, options.kind) : compiledTemplate(cached.templates, bytes, options.kind, cached.sha256);
  if (!compiled.ok) return compiled;
  return { ok: true, body: renderSections(sectionsFor(compiled.template), options) };
}
