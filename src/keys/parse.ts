/**
 * The only way from an untrusted key string to `(family, params)` (docs/design.md §2, STYLE habit 2),
 * and the only way to build a key.
 *
 * Patterns are compiled once into anchored regular expressions: literals match exactly, and each
 * param matches only the characters its kind allows (never `:`), then its validator runs. Dispatch
 * goes through a null-prototype table keyed by the key's first literal segment (`journeys`,
 * `daily_journey_share_links`, …), so a key like `__proto__:x` or `constructor` finds nothing.
 */
import { isPlainUidPrefix, uidPrefixesOf, validateParam } from "./params";
import { FAMILIES } from "./registry";
import type { FamilyEntry, KeyFailure, ParamKind, ParamSpec, ParsedKey } from "./types";

/** Workers KV refuses longer keys (docs/platform.md §1.1). */
export const MAX_KEY_BYTES = 512;
/** Keys under `_edge:` are the edge's own bookkeeping (generations, stats); never a family. */
export const RESERVED_KEY_PREFIX = "_edge:";
/** Failure messages quote at most this much of the offending key. */
const MAX_ECHOED_KEY_CHARS = 100;

/** Characters each param kind can span in a key; the validator then checks the exact form. */
const PARAM_CHARS: Record<ParamKind, string> = {
  uid: "[A-Za-z0-9_-]+",
  "unix-date": "[A-Za-z0-9]+",
  int: "[0-9]+",
  enum: "[^:]+",
  "bool-py": "[A-Za-z]+",
  text: "[^:]+",
  "iso-date": "[0-9-]+",
  filters: "[^:]+",
};

interface CompiledPattern {
  readonly family: FamilyEntry;
  readonly pattern: string;
  /** The literal text before the first param (for the most-specific-first ordering). */
  readonly literalPrefix: string;
  readonly regex: RegExp;
  /** Param specs in capture-group order. */
  readonly captures: readonly ParamSpec[];
  /** Set when this is one of the family's `variants`. */
  readonly variant: string | undefined;
}

type PatternPiece = { literal: string } | { param: string };

const PLACEHOLDER = /\{([a-z_0-9]+)\}/g;

function splitPattern(pattern: string): PatternPiece[] {
  const pieces: PatternPiece[] = [];
  let last = 0;
  for (const match of pattern.matchAll(PLACEHOLDER)) {
    if (match.index > last) pieces.push({ literal: pattern.slice(last, match.index) });
    pieces.push({ param: match[1] ?? "" });
    last = match.index + match[0].length;
  }
  if (last < pattern.length) pieces.push({ literal: pattern.slice(last) });
  return pieces;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function namespaceOf(text: string): string {
  const colon = text.indexOf(":");
  return colon === -1 ? text : text.slice(0, colon);
}

/** Throws on a registry definition error: these are caught by the registry tests at load. */
function compilePattern(family: FamilyEntry, pattern: string, variant: string | undefined): CompiledPattern {
  const specs = new Map(family.params.map((spec) => [spec.name, spec] as const));
  const pieces = splitPattern(pattern);
  const captures: ParamSpec[] = [];
  let source = "^";
  let literalPrefix = "";
  for (const piece of pieces) {
    if ("literal" in piece) {
      if (captures.length === 0) literalPrefix += piece.literal;
      source += escapeRegex(piece.literal);
      continue;
    }
    const spec = specs.get(piece.param);
    if (spec === undefined || spec.optional === true) {
      throw new Error(`registry: ${pattern} uses {${piece.param}}, which is not a required param of ${family.name}`);
    }
    if (!uidPrefixesOf(spec).every(isPlainUidPrefix)) throw new Error(`registry: ${family.name} has a bad uid prefix`);
    captures.push(spec);
    const chars = PARAM_CHARS[spec.kind];
    // An empty text param (B #28's empty language) may span nothing at all.
    source += `(${spec.kind === "text" && spec.allowEmpty === true ? chars.replace(/\+$/, "*") : chars})`;
  }
  const required = family.params.filter((spec) => spec.optional !== true);
  if (required.length !== captures.length || new Set(captures.map((c) => c.name)).size !== captures.length) {
    throw new Error(`registry: ${pattern} must use each required param of ${family.name} exactly once`);
  }
  if (literalPrefix.length === 0) throw new Error(`registry: ${pattern} must start with a literal`);
  return { family, pattern, literalPrefix, regex: new RegExp(`${source}$`), captures, variant };
}

function compileRegistry(families: readonly FamilyEntry[]): {
  byNamespace: Record<string, readonly CompiledPattern[]>;
  byName: Map<string, FamilyEntry>;
  byShape: Map<string, FamilyEntry>;
  patternsOf: Map<FamilyEntry, readonly CompiledPattern[]>;
} {
  const byNamespace: Record<string, CompiledPattern[]> = Object.create(null) as Record<string, CompiledPattern[]>;
  const byName = new Map<string, FamilyEntry>();
  const byShape = new Map<string, FamilyEntry>();
  const patternsOf = new Map<FamilyEntry, readonly CompiledPattern[]>();
  for (const family of families) {
    if (byName.has(family.name)) throw new Error(`registry: duplicate family ${family.name}`);
    byName.set(family.name, family);
    const shape = patternShape(family.name);
    if (byShape.has(shape)) throw new Error(`registry: ${family.name} has the same shape as ${byShape.get(shape)?.name}`);
    byShape.set(shape, family);
    const compiled = [
      compilePattern(family, family.name, undefined),
      ...(family.variants ?? []).map((v) => compilePattern(family, v.pattern, v.variant)),
    ];
    patternsOf.set(family, compiled);
    for (const pattern of compiled) {
      const namespace = namespaceOf(pattern.literalPrefix);
      if (namespace === namespaceOf(RESERVED_KEY_PREFIX)) throw new Error(`registry: ${pattern.pattern} is reserved`);
      (byNamespace[namespace] ??= []).push(pattern);
    }
  }
  for (const namespace of Object.keys(byNamespace)) {
    // Most specific first, so its param errors are the ones reported.
    byNamespace[namespace]?.sort((a, b) => b.literalPrefix.length - a.literalPrefix.length);
  }
  return { byNamespace, byName, byShape, patternsOf };
}

/** A pattern with its placeholder names erased: `a:{start}:{end}` → `a:{}:{}`. */
function patternShape(pattern: string): string {
  return pattern.replace(/\{[^{}]*\}/g, "{}");
}

const COMPILED = compileRegistry(FAMILIES);

const utf8 = new TextEncoder();

function quoteKey(key: string): string {
  return JSON.stringify(key.length > MAX_ECHOED_KEY_CHARS ? `${key.slice(0, MAX_ECHOED_KEY_CHARS)}…` : key);
}

/** Exact for keys of ≤ 512 code units; for longer ones a lower bound (each unit is ≥ 1 byte). */
function measureUtf8Bytes(text: string): number {
  return text.length > MAX_KEY_BYTES ? text.length : utf8.encode(text).length;
}

type ParseResult = { ok: true; value: ParsedKey } | { ok: false; failure: KeyFailure };

function failWith(reason: KeyFailure["reason"], message: string): ParseResult {
  return { ok: false, failure: { reason, message } };
}

/** Turns an untrusted key into its family and params, or says exactly why it cannot. */
export function parseKey(key: string): ParseResult {
  const bytes = measureUtf8Bytes(key);
  if (bytes > MAX_KEY_BYTES) {
    const size = key.length > MAX_KEY_BYTES ? `at least ${bytes}` : String(bytes);
    return failWith("key_too_long", `key is ${size} bytes of UTF-8, over the ${MAX_KEY_BYTES}-byte limit: ${quoteKey(key)}`);
  }
  if (key.startsWith(RESERVED_KEY_PREFIX)) {
    return failWith("unknown_family", `keys under ${RESERVED_KEY_PREFIX} are reserved for the edge: ${quoteKey(key)}`);
  }
  const candidates = COMPILED.byNamespace[namespaceOf(key)];
  if (candidates === undefined) {
    return failWith("unknown_family", `no key family starts with ${quoteKey(namespaceOf(key))}: ${quoteKey(key)}`);
  }
  let firstProblem: string | undefined;
  for (const candidate of candidates) {
    const match = candidate.regex.exec(key);
    if (match === null) continue;
    const params: Record<string, string> = {};
    let problem: string | undefined;
    for (let i = 0; i < candidate.captures.length; i++) {
      const spec = candidate.captures[i];
      const value = match[i + 1];
      if (spec === undefined || value === undefined) continue;
      const check = validateParam(spec, value);
      if (!check.ok) {
        problem = check.problem;
        break;
      }
      params[spec.name] = value;
    }
    if (problem !== undefined) {
      firstProblem ??= `${problem} (family ${candidate.family.name})`;
      continue;
    }
    if (candidate.variant !== undefined) params["variant"] = candidate.variant;
    return { ok: true, value: { family: candidate.family, params: Object.freeze(params), key } };
  }
  const expected = [...new Set(candidates.map((c) => c.pattern))].join(" | ");
  return failWith(
    "malformed_key",
    firstProblem !== undefined
      ? `${quoteKey(key)}: ${firstProblem}`
      : `${quoteKey(key)} does not match ${expected}`,
  );
}

/** The family pattern a key belongs to, or undefined for a key no family matches. */
export function familyNameOf(key: string): string | undefined {
  const parsed = parseKey(key);
  return parsed.ok ? parsed.value.family.name : undefined;
}

/** The entry whose pattern is `name` (e.g. `journeys:external:{uid}`), whatever its placeholders are called. */
export function getFamily(name: string): FamilyEntry | undefined {
  // The seed names some placeholders differently (`{start_unix_date}` for `{start}`, docs/families.md
  // drift): the same pattern under other placeholder names is the same family.
  return COMPILED.byName.get(name) ?? COMPILED.byShape.get(patternShape(name));
}

/** A key built from params: the key, or why the params do not make one of the family's keys. */
export type BuiltKey = { ok: true; key: string } | { ok: false; reason: string };

/**
 * Builds a key from params, validating them exactly as `parseKey` would. Params may come from
 * untrusted input (a uid from a path, a sub from a token): a refusal is a value, and the caller
 * decides (an edge route lets the origin judge the input).
 */
export function buildKey(family: FamilyEntry, params: Readonly<Record<string, string | number>>): BuiltKey {
  const refuse = (problem: string): BuiltKey => ({ ok: false, reason: `buildKey(${family.name}): ${problem}` });
  const patterns = COMPILED.patternsOf.get(family);
  if (patterns === undefined) return refuse("not a registered family entry");
  const declared = new Set(family.params.map((spec) => spec.name));
  for (const name of Object.keys(params)) {
    if (!declared.has(name)) return refuse(`unknown param ${name}`);
  }
  const strings: Record<string, string> = {};
  for (const spec of family.params) {
    const raw = params[spec.name];
    if (raw === undefined) {
      if (spec.optional === true) continue;
      return refuse(`missing param ${spec.name}`);
    }
    if (typeof raw === "number" && (!Number.isSafeInteger(raw) || raw < 0)) return refuse(`param ${spec.name} must be a non-negative integer, got ${raw}`);
    const value = String(raw);
    const check = validateParam(spec, value);
    if (!check.ok) return refuse(check.problem);
    strings[spec.name] = value;
  }
  const variant = strings["variant"];
  const compiled = patterns.find((p) => p.variant === variant);
  if (compiled === undefined) return refuse(`no form for variant ${String(variant)}`);
  const key = compiled.pattern.replace(PLACEHOLDER, (_, name: string) => strings[name] ?? "");
  // The same gate as untrusted keys: guarantees the key parses back to this family.
  const parsed = parseKey(key);
  if (!parsed.ok || parsed.value.family !== family) {
    return refuse(`built key does not parse back: ${parsed.ok ? parsed.value.family.name : parsed.failure.message}`);
  }
  return { ok: true, key };
}

/** A key of a registered family with what the registry knows of it, or why there is none. */
export type FamilyKey = { ok: true; key: string; family: FamilyEntry } | { ok: false; reason: string };

/**
 * The key of the family named `familyName` whose required params are `values`, in pattern order
 * (docs/design.md §2): how the edge routes and the admin check name the keys they read.
 */
export function keyOf(familyName: string, values: readonly string[]): FamilyKey {
  const family = getFamily(familyName);
  if (family === undefined) return { ok: false, reason: `no registered family ${familyName}` };
  const required = family.params.filter((spec) => spec.optional !== true);
  if (required.length !== values.length) return { ok: false, reason: `${familyName} takes ${required.length} params` };
  const params: Record<string, string> = {};
  required.forEach((spec, i) => {
    params[spec.name] = values[i] as string;
  });
  const built = buildKey(family, params);
  return built.ok ? { ok: true, key: built.key, family } : built;
}

/** The literal text before a pattern's first `{…}` param: every key of the family starts with it. */
export function familyLiteralPrefix(family: FamilyEntry): string {
  const brace = family.name.indexOf("{");
  return brace === -1 ? family.name : family.name.slice(0, brace);
}

/**
 * The families a key starting with `prefix` may belong to: those whose literal prefix starts
 * with it, or that it starts with (a prefix reaching into a family's params).
 */
export function familiesMatchingPrefix(prefix: string): FamilyEntry[] {
  return FAMILIES.filter((family) => {
    const literal = familyLiteralPrefix(family);
    return literal.startsWith(prefix) || prefix.startsWith(literal);
  });
}
