/**
 * Builds stored block values exactly as the backend's `convert_to_cacheable` (journeys,
 * docs/block-format.md §2.2) and `convert_interactive_prompt_to_stored_format` (prompts, §3.2)
 * do, for the dev origin (which plays the backend) and the golden vectors; the edge itself only
 * renders stored values (src/render/).
 */
import { pyFloatRepr, pyJsonDumpsNullableString, pyJsonDumpsString } from "./json";

/** The `ExternalJourney` fields the blocks are built from (field names as in the backend model). */
export interface ExternalJourneyInput {
  uid: string;
  interactive_prompt_uid: string;
  /** The pydantic `float` field: an integer 60 from the db prints as `60.0`. */
  duration_seconds: number;
  background_image: { uid: string };
  blurred_background_image: { uid: string };
  darkened_background_image: { uid: string };
  audio_content: { uid: string };
  category: { external_name: string };
  title: string;
  instructor: { name: string };
  description: { text: string };
  sample: { uid: string } | null;
  transcript: { uid: string } | null;
}

/** What `interactive_prompts:external` is built from (§3.1). */
export interface ExternalPromptInput {
  uid: string;
  /** `interactive_prompts.prompt`, copied verbatim, never re-serialized (§3.2). */
  prompt_db_text: string;
  /** INTEGER column, printed with `str(int)`. */
  duration_seconds: number;
  journey_subcategory: string | null;
}

export type EncodeFailure =
  | { reason: "non_ascii"; position: number; message: string } // the backend's UnicodeEncodeError → 500
  | { reason: "bad_uid"; field: string; message: string }
  | { reason: "bad_input"; field: string; message: string };

export type EncodeResult = { ok: true; bytes: Uint8Array } | { ok: false; failure: EncodeFailure };

// Uids are spliced in raw (§1.3); the backend relies on their url-safe alphabet.
const UID_PATTERN = /^oseh_[A-Za-z0-9_-]+$/;

type Block = readonly [type: number, value: string];

/** Frames ASCII block values: u32-BE length, type byte, value (§1.1). */
function frameBlocks(blocks: readonly Block[]): Uint8Array {
  let total = 0;
  for (const [, value] of blocks) total += 5 + value.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const [type, value] of blocks) {
    view.setUint32(at, value.length);
    out[at + 4] = type;
    at += 5;
    for (let i = 0; i < value.length; i++) out[at + i] = value.charCodeAt(i);
    at += value.length;
  }
  return out;
}

function firstNonAscii(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return i;
  return -1;
}

export function encodeExternalJourney(input: ExternalJourneyInput): EncodeResult {
  const uids: Array<[string, string]> = [
    ["uid", input.uid],
    ["background_image.uid", input.background_image.uid],
    ["blurred_background_image.uid", input.blurred_background_image.uid],
    ["darkened_background_image.uid", input.darkened_background_image.uid],
    ["audio_content.uid", input.audio_content.uid],
    ["interactive_prompt_uid", input.interactive_prompt_uid],
  ];
  if (input.sample !== null) uids.push(["sample.uid", input.sample.uid]);
  if (input.transcript !== null) uids.push(["transcript.uid", input.transcript.uid]);
  for (const [field, uid] of uids) {
    if (!UID_PATTERN.test(uid)) return { ok: false, failure: { reason: "bad_uid", field, message: `${field} is not a uid` } };
  }
  if (typeof input.duration_seconds !== "number") {
    return { ok: false, failure: { reason: "bad_input", field: "duration_seconds", message: "duration_seconds must be a number" } };
  }

  const bg = input.background_image.uid;
  const blurred = input.blurred_background_image.uid;
  const darkened = input.darkened_background_image.uid;
  const audio = input.audio_content.uid;
  const blocks: Block[] = [
    [1, `{"uid":"${input.uid}","jwt":"`],
    [2, ""],
    [1, `","background_image":{"uid":"${bg}","jwt":"`],
    [3, bg],
    [1, `"},"blurred_background_image":{"uid":"${blurred}","jwt":"`],
    [3, blurred],
    [1, `"},"darkened_background_image":{"uid":"${darkened}","jwt":"`],
    [3, darkened],
    [1, `"},"audio_content":{"uid":"${audio}","jwt":"`],
    [4, audio],
  ];
  // Block 11 and its tails (§2.2): a marker closes the current type-1 block and opens a new one.
  let text =
    `"},"category":{"external_name":${pyJsonDumpsString(input.category.external_name)}}` +
    `,"title":${pyJsonDumpsString(input.title)}` +
    `,"instructor":{"name":${pyJsonDumpsString(input.instructor.name)}}` +
    `,"description":{"text":${pyJsonDumpsString(input.description.text)}}` +
    `,"duration_seconds":${pyFloatRepr(input.duration_seconds)}` +
    `,"interactive_prompt_uid":"${input.interactive_prompt_uid}`;
  if (input.sample === null) {
    text += `","sample":null`;
  } else {
    blocks.push([1, `${text}","sample":{"uid":"${input.sample.uid}","jwt":"`], [4, input.sample.uid]);
    text = `"}`;
  }
  if (input.transcript === null) {
    blocks.push([1, `${text},"transcript":null}`]);
  } else {
    blocks.push([1, `${text},"transcript":{"uid":"${input.transcript.uid}","jwt":"`], [5, input.transcript.uid], [1, `"}}`]);
  }
  return { ok: true, bytes: frameBlocks(blocks) };
}

export function encodeExternalPrompt(input: ExternalPromptInput): EncodeResult {
  if (!UID_PATTERN.test(input.uid)) return { ok: false, failure: { reason: "bad_uid", field: "uid", message: "uid is not a uid" } };
  if (!Number.isSafeInteger(input.duration_seconds)) {
    return { ok: false, failure: { reason: "bad_input", field: "duration_seconds", message: "duration_seconds must be an integer" } };
  }
  // The backend encodes the prompt text with .encode('ascii'), so a non-ASCII prompt raises
  // UnicodeEncodeError and the route answers 500 (§3.2, vector interactive-prompt-non-ascii-prompt-error).
  const position = firstNonAscii(input.prompt_db_text);
  if (position >= 0) {
    const code = input.prompt_db_text.charCodeAt(position).toString(16).padStart(4, "0");
    return {
      ok: false,
      failure: {
        reason: "non_ascii",
        position,
        message: `'ascii' codec can't encode character '\\u${code}' in position ${position}: ordinal not in range(128)`,
      },
    };
  }
  return {
    ok: true,
    bytes: frameBlocks([
      [
        1,
        `{"uid":"${input.uid}","prompt":${input.prompt_db_text}` +
          `,"duration_seconds":${String(input.duration_seconds)}` +
          `,"journey_subcategory":${pyJsonDumpsNullableString(input.journey_subcategory)},"session_uid":"`,
      ],
      [2, ""],
      [1, `","jwt":"`],
      [3, ""],
      [1, `"}`],
    ]),
  };
}
