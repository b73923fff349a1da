/**
 * Compiled templates kept per isolate, keyed by the stored value's sha256 (its envelope's): a hot
 * journey is validated and compiled once, then every render only copies runs and splices tokens
 * (docs/performance.md). The map is bounded in entries and bytes; the oldest entry goes first.
 */
import { compileTemplate, type BlockKind, type CompileResult } from "./blocks";

/** Journey and prompt templates are a few KiB; room for every hot one of an isolate. */
export const TEMPLATE_CACHE_MAX_ENTRIES = 512;
export const TEMPLATE_CACHE_MAX_BYTES = 8 * 1024 * 1024;
/** A value bigger than this is compiled per render and not kept: it would evict many hot ones. */
export const TEMPLATE_CACHE_MAX_ENTRY_BYTES = 512 * 1024;

/** The compiled templates of one isolate (src/isolate.ts), oldest first, and their byte total. */
export interface TemplateCache {
  readonly compiled: Map<string, CompileResult & { ok: true }>;
  bytes: number;
}

export function createTemplateCache(): TemplateCache {
  return { compiled: new Map(), bytes: 0 };
}

/**
 * The compiled template of `bytes`, from the isolate's cache when a value with this sha256 was
 * compiled before. Only valid templates are kept; an invalid one fails every time. The size is
 * checked as well, so bytes that do not belong to the sha256 are not given another's template.
 */
export function compiledTemplate(cache: TemplateCache, bytes: Uint8Array, kind: BlockKind, sha256: string): CompileResult {
  const { compiled } = cache;
  const key = `${kind}:${sha256}`;
  const hit = compiled.get(key);
  if (hit !== undefined && hit.template.size === bytes.length) return hit;
  const result = compileTemplate(bytes, kind);
  if (!result.ok || bytes.length > TEMPLATE_CACHE_MAX_ENTRY_BYTES) return result;
  if (hit !== undefined) {
    compiled.delete(key);
    cache.bytes -= hit.template.size;
  }
  compiled.set(key, result);
  cache.bytes += bytes.length;
  for (const [oldest, entry] of compiled) {
    if (compiled.size <= TEMPLATE_CACHE_MAX_ENTRIES && cache.bytes <= TEMPLATE_CACHE_MAX_BYTES) break;
    compiled.delete(oldest);
    cache.bytes -= entry.template.size;
  }
  return result;
}
