/**
 * Renders a stored block value into the response body (docs/block-format.md §2.3, §3.3): the
 * value is validated and compiled first (./blocks.ts, cached per isolate by ./templates.ts), then
 * its sections flow through one TransformStream, which copies the static runs and splices in
 * the journey JWT, the session uid, or resource JWTs.
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
 * The renderer: a TransformStream from a compiled template's sections to the rendered body, with
 * the wrapper prefix and suffix around it. A failed mint errors the stream.
 */
export function createRenderStream(options: RenderOptions): TransformStream<TemplateSection, Uint8Array> {
  let prefix = options.prefix ?? "";
  return new TransformStream<TemplateSection, Uint8Array>({
    transform(section, controller) {
      const before = prefix;
      prefix = "";
      const out = renderSection(section, options, before);
      // Warm tokens: enqueued without a turn of the event loop; otherwise once they are signed.
      if (out instanceof Uint8Array) {
        if (out.length > 0) controller.enqueue(out);
        return;
      }
      return out.then((bytes) => {
        if (bytes.length > 0) controller.enqueue(bytes);
      });
    },
    flush(controller) {
      // A template always has a section, so the prefix went out with it.
      if (options.suffix) controller.enqueue(encoder.encode(options.suffix));
    },
  });
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

const ignore = (): void => undefined;

/**
 * Writes the sections into the render stream as its writable side asks for them (backpressure:
 * the next section waits for `ready`), then closes it. A journey is one section, written and
 * closed at once. If the stream errors (a failed mint) or the reader cancels, the writes reject
 * and the feeding stops; the reader has been told already.
 */
function feed(sections: readonly TemplateSection[], writable: WritableStream<TemplateSection>): void {
  const writer = writable.getWriter();
  if (sections.length === 1) {
    writer.write(sections[0] as TemplateSection).catch(ignore);
    writer.close().catch(ignore);
    return;
  }
  void (async () => {
    for (const section of sections) {
      await writer.ready;
      writer.write(section).catch(ignore);
    }
    await writer.close();
  })().catch(ignore);
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
  const stream = createRenderStream(options);
  feed(sectionsFor(compiled.template), stream.writable);
  return { ok: true, body: stream.readable };
}
