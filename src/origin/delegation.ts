/**
 * The delegation document (docs/design.md §4.3): when a proxied origin response has
 * `Content-Type: application/vnd.oseh.edge-render+json`, its body names what the edge renders.
 * Parsing is pure; every way a document can be wrong is a tagged reason for the logs.
 */
import { parseKey, type FamilyEntry } from "../keys";
import { compileTemplate, type BlockKind } from "../render/blocks";

export const EDGE_RENDER_MEDIA_TYPE = "application/vnd.oseh.edge-render+json";
/** A document is a key, a JWT and two short wrappers; anything bigger is not one. */
export const MAX_DELEGATION_BYTES = 64 * 1024;

const JOURNEY_FAMILY = "journeys:external:{uid}";
const PROMPT_FAMILY = "interactive_prompts:external:{uid}";

/** Spliced into JSON raw (docs/block-format.md §1.3), so only the JWT alphabet is accepted. */
const JWT_TEXT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const SESSION_UID = /^oseh_ips_[A-Za-z0-9_-]{1,64}$/;

/** The block kind a renderable family's values are rendered as, or undefined for any other family. */
export function templateKindOf(familyName: string): BlockKind | undefined {
  return familyName === JOURNEY_FAMILY ? "journey" : familyName === PROMPT_FAMILY ? "prompt" : undefined;
}

/**
 * The render framing check for template families (stricter than the `blocks` codec: marker types
 * the family uses, empty markers empty, uids `oseh_…`), or null when the bytes render (or the
 * family is not a template). A value that passes its codec but not this would be stored, then
 * dropped and refetched by every delegated render: writers check it before storing.
 */
export function templateProblem(familyName: string, bytes: Uint8Array): string | null {
  const kind = templateKindOf(familyName);
  if (kind === undefined) return null;
  const checked = compileTemplate(bytes, kind);
  return checked.ok ? null : `${checked.failure.reason}: ${checked.failure.message}`;
}

export type Delegation =
  | { kind: "journey"; key: string; family: FamilyEntry; journeyJwt: string; prefix?: string; suffix?: string }
  | { kind: "prompt"; key: string; family: FamilyEntry; sessionUid: string; promptJwt: string; prefix?: string; suffix?: string };

export type DelegationProblem =
  | { reason: "too_large"; message: string }
  | { reason: "not_json"; message: string }
  | { reason: "not_an_object"; message: string }
  | { reason: "bad_key"; message: string }
  | { reason: "wrong_family"; message: string }
  | { reason: "missing_jwt"; message: string }
  | { reason: "missing_session_uid"; message: string }
  | { reason: "bad_wrapper"; message: string };

export type DelegationResult = { ok: true; delegation: Delegation } | { ok: false; problem: DelegationProblem };

/** The media type of a Content-Type header value, lowercased, without parameters. */
export function mediaTypeOf(contentType: string | null): string {
  return (contentType ?? "").split(";", 1)[0]?.trim().toLowerCase() ?? "";
}

export function isDelegation(response: Response): boolean {
  return mediaTypeOf(response.headers.get("Content-Type")) === EDGE_RENDER_MEDIA_TYPE;
}

const fail = (reason: DelegationProblem["reason"], message: string): DelegationResult => ({ ok: false, problem: { reason, message } as DelegationProblem });

export function parseDelegation(body: Uint8Array): DelegationResult {
  if (body.length > MAX_DELEGATION_BYTES) return fail("too_large", `delegation document is ${body.length} bytes, over ${MAX_DELEGATION_BYTES}`);
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(body));
  } catch (error) {
    return fail("not_json", `delegation document is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return fail("not_an_object", "delegation document is not a JSON object");
  const fields = doc as Record<string, unknown>;

  if (typeof fields.key !== "string") return fail("bad_key", "delegation key is missing or not a string");
  const parsed = parseKey(fields.key);
  if (!parsed.ok) return fail("bad_key", `delegation key is not a registered key: ${parsed.failure.message}`);
  const family = parsed.value.family;

  for (const wrapper of ["prefix", "suffix"] as const) {
    if (fields[wrapper] !== undefined && typeof fields[wrapper] !== "string") return fail("bad_wrapper", `delegation ${wrapper} is not a string`);
  }
  const wrappers: { prefix?: string; suffix?: string } = {};
  if (typeof fields.prefix === "string") wrappers.prefix = fields.prefix;
  if (typeof fields.suffix === "string") wrappers.suffix = fields.suffix;

  if (typeof fields.jwt !== "string" || !JWT_TEXT.test(fields.jwt)) return fail("missing_jwt", "delegation jwt is missing or not a JWT");
  switch (family.name) {
    case JOURNEY_FAMILY:
      return { ok: true, delegation: { kind: "journey", key: fields.key, family, journeyJwt: fields.jwt, ...wrappers } };
    case PROMPT_FAMILY:
      if (typeof fields.session_uid !== "string" || !SESSION_UID.test(fields.session_uid)) {
        return fail("missing_session_uid", "delegation session_uid is missing or not an oseh_ips_ uid");
      }
      return { ok: true, delegation: { kind: "prompt", key: fields.key, family, sessionUid: fields.session_uid, promptJwt: fields.jwt, ...wrappers } };
    default:
      return fail("wrong_family", `delegation key's family ${family.name} is not renderable`);
  }
}
