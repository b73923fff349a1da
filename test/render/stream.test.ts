/**
 * The render stream across arbitrary section boundaries, framing failures, the compiled-template
 * cache, the per-marker clock, prefix/suffix, backpressure, and a seeded property test: corrupt
 * input ends in success or a typed failure, never a throw or a hang.
 */
import { describe, expect, it } from "vitest";
import type { ResourceKind } from "../../src/auth/jwt";
import { compileTemplate, type BlockKind, type CompiledTemplate, type RenderFailure } from "../../src/render/blocks";
import { renderSections, renderValue, type RenderOptions, type ResourceSigner, type TemplateSection } from "../../src/render/stream";
import { TEMPLATE_CACHE_MAX_ENTRIES, compiledTemplate, createTemplateCache } from "../../src/render/templates";

/** The compiled templates of this file's isolate. */
const templates = createTemplateCache();
import { sha256Hex } from "../../src/storage/envelope";
import { base64ToBytes, loadBlocksVectors } from "../helpers/vectors";
import { FROZEN_NOW, createPrng, readAll, readText, vectorTokenService } from "./support";

/* eslint-disable @typescript-eslint/no-explicit-any -- vector shapes are documented in docs/block-format.md §7.2 */
const blockVectors: any[] = loadBlocksVectors().vectors.filter(
  (v: any) => v.cached_bytes_b64 !== undefined && (v.family === "journeys:external" || v.family === "interactive_prompts:external"),
);
const tokens = vectorTokenService();
const decoder = new TextDecoder();
const encoder = new TextEncoder();

function optionsFor(v: any, extra: Partial<{ prefix: string; suffix: string }> = {}): RenderOptions {
  return v.family === "journeys:external"
    ? { kind: "journey", journeyJwt: v.journey_jwt_passed_in, signer: tokens, now: () => FROZEN_NOW, ...extra }
    : { kind: "prompt", sessionUid: v.input.session_uid, promptJwt: v.interactive_prompt_jwt_passed_in, ...extra };
}

function block(type: number, value: string | Uint8Array): Uint8Array {
  const bytes = typeof value === "string" ? encoder.encode(value) : value;
  const out = new Uint8Array(5 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out[4] = type;
  out.set(bytes, 5);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function compiled(bytes: Uint8Array, kind: BlockKind): CompiledTemplate {
  const result = compileTemplate(bytes, kind);
  if (!result.ok) throw new Error(result.failure.message);
  return result.template;
}

/** The template as sections cut at the given offsets of its static bytes (sorted). */
function sectionsAt(template: CompiledTemplate, cuts: readonly number[]): TemplateSection[] {
  const sections: TemplateSection[] = [];
  let runs: Uint8Array[] = [];
  let slots = template.slots.slice(0, 0);
  let base = 0; // static offset of the current run's start
  let pending = [...cuts];
  template.runs.forEach((run, i) => {
    let from = 0;
    while (pending.length > 0 && (pending[0] as number) - base <= run.length) {
      const at = (pending.shift() as number) - base;
      runs.push(run.subarray(from, at));
      sections.push({ runs, slots });
      runs = [];
      slots = [];
      from = at;
    }
    runs.push(run.subarray(from));
    base += run.length;
    const slot = template.slots[i];
    if (slot !== undefined) slots.push(slot);
  });
  sections.push({ runs, slots });
  return sections;
}

/** The renderer's output for the given sections (or its error). */
async function renderedSections(sections: readonly TemplateSection[], options: RenderOptions): Promise<{ ok: true; bytes: Uint8Array } | { ok: false; error: unknown }> {
  try {
    return { ok: true, bytes: await readAll(renderSections(sections, options)) };
  } catch (error) {
    return { ok: false, error };
  }
}

describe.each(blockVectors.map((v) => [v.id, v] as const))("section boundaries: %s", (_id, v) => {
  const template = compiled(base64ToBytes(v.cached_bytes_b64), v.family === "journeys:external" ? "journey" : "prompt");

  it("every split into two sections renders identically", async () => {
    for (let cut = 0; cut <= template.staticBytes; cut++) {
      const out = await renderedSections(sectionsAt(template, [cut]), optionsFor(v));
      if (!out.ok || decoder.decode(out.bytes) !== v.rendered) throw new Error(`split at ${cut} differs`);
    }
  });

  it("random multi-way splits render identically", async () => {
    const random = createPrng(template.staticBytes);
    for (let round = 0; round < 20; round++) {
      const cuts = Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * template.staticBytes)).sort((a, b) => a - b);
      const out = await renderedSections(sectionsAt(template, cuts), optionsFor(v));
      expect(out.ok && decoder.decode(out.bytes)).toBe(v.rendered);
    }
  });
});

describe("framing failures", () => {
  const copy = block(1, '{"a":"');
  const cases: Array<[string, BlockKind, Uint8Array, RenderFailure["reason"]]> = [
    ["empty input", "journey", new Uint8Array(0), "empty"],
    ["truncated header", "journey", concat(copy, Uint8Array.of(0, 0, 0)), "truncated"],
    ["length past the end", "journey", concat(copy, Uint8Array.of(0, 0, 0, 9, 1, 65)), "truncated"],
    ["type 0", "journey", block(0, "x"), "unknown_type"],
    ["type 6", "journey", block(6, "oseh_if_x"), "unknown_type"],
    ["type 255", "prompt", block(255, ""), "unknown_type"],
    ["journey marker in a prompt", "prompt", concat(copy, block(4, "oseh_cf_abc")), "foreign_type"],
    ["type 5 in a prompt", "prompt", block(5, ""), "foreign_type"],
    ["non-empty journey type 2", "journey", block(2, "x"), "bad_marker"],
    ["empty image marker", "journey", block(3, ""), "bad_marker"],
    ["non-uid image marker", "journey", block(3, 'oseh_if_"quote'), "bad_marker"],
    ["non-ASCII uid", "journey", block(4, "oseh_cf_é"), "bad_marker"],
    ["no oseh_ prefix", "journey", block(5, "abc"), "bad_marker"],
    ["huge marker", "journey", block(3, `oseh_if_${"a".repeat(300)}`), "bad_marker"],
    ["non-empty prompt session marker", "prompt", block(2, "oseh_ips_x"), "bad_marker"],
    ["non-empty prompt jwt marker", "prompt", block(3, "x"), "bad_marker"],
  ];

  it.each(cases)("%s → %s (compileTemplate, renderValue with and without the cache)", async (_name, kind, bytes, reason) => {
    expect(compileTemplate(bytes, kind)).toMatchObject({ ok: false, failure: { reason } });
    const options: RenderOptions =
      kind === "journey"
        ? { kind, journeyJwt: "", signer: tokens, now: () => FROZEN_NOW }
        : { kind, sessionUid: "oseh_ips_s", promptJwt: "j" };
    expect(renderValue(bytes, options)).toMatchObject({ ok: false, failure: { reason } });
    const sha256 = await sha256Hex(bytes);
    for (let i = 0; i < 2; i++) expect(renderValue(bytes, options, { templates, sha256: sha256 })).toMatchObject({ ok: false, failure: { reason } });
  });

  it("reports the offset of the failing block", () => {
    const bytes = concat(copy, block(1, "ab"), block(9, ""));
    expect(compileTemplate(bytes, "journey")).toMatchObject({ ok: false, failure: { offset: copy.length + 7 } });
  });

  it("a huge declared length fails, having allocated nothing for it", () => {
    const bytes = concat(copy, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1), encoder.encode("abc"));
    expect(compileTemplate(bytes, "prompt")).toMatchObject({ ok: false, failure: { reason: "truncated" } });
  });
});

describe("compiled templates (per isolate, keyed by sha256)", () => {
  const journey = blockVectors.find((v) => v.id === "journey-full");
  const bytes = base64ToBytes(journey.cached_bytes_b64);

  it("compiles runs and slots: headers and marker values gone, runs = slots + 1", () => {
    const template = compiled(concat(block(1, "ab"), block(1, "cd"), block(3, "oseh_if_x"), block(1, ""), block(2, "")), "journey");
    expect(template.runs.map((r) => decoder.decode(r))).toEqual(["abcd", "", ""]);
    expect(template.slots).toEqual([{ marker: 3, uid: "oseh_if_x" }, { marker: 2, uid: "" }]);
    expect(template.staticBytes).toBe(4);
  });

  it("a second render of the same sha256 reuses the compiled template", async () => {
    const sha256 = await sha256Hex(bytes);
    const first = compiledTemplate(templates, bytes, "journey", sha256);
    expect(compiledTemplate(templates, bytes, "journey", sha256)).toBe(first);
    // The kind is part of the key: the same bytes as a prompt are checked as a prompt.
    expect(compiledTemplate(templates, bytes, "prompt", sha256)).toMatchObject({ ok: false });
  });

  it("bytes whose size does not match the cached template are compiled, not given its template", async () => {
    const sha256 = await sha256Hex(bytes);
    const cachedOne = compiledTemplate(templates, bytes, "journey", sha256);
    const other = concat(block(1, '{"x":"'), block(2, ""), block(1, '"}'));
    const result = compiledTemplate(templates, other, "journey", sha256);
    expect(result).not.toBe(cachedOne);
    expect(result.ok && result.template.size).toBe(other.length);
  });

  it("is bounded: the oldest template is compiled again after the cap", async () => {
    const sha256 = await sha256Hex(bytes);
    const first = compiledTemplate(templates, bytes, "journey", sha256);
    const small = concat(block(1, "x"));
    for (let i = 0; i < TEMPLATE_CACHE_MAX_ENTRIES; i++) compiledTemplate(templates, small, "journey", `filler-${i}`);
    const again = compiledTemplate(templates, bytes, "journey", sha256);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });
});

describe("rendering details", () => {
  const journey = blockVectors.find((v) => v.id === "journey-full");

  it("mints each JWT with the clock at its block", async () => {
    const seen: Array<[ResourceKind, string, number]> = [];
    const signer: ResourceSigner = {
      async mint(kind, sub, now) {
        seen.push([kind, sub, now]);
        return `${kind}:${now}`;
      },
    };
    let clock = FROZEN_NOW;
    const rendered = renderValue(base64ToBytes(journey.cached_bytes_b64), {
      kind: "journey",
      journeyJwt: "J",
      signer,
      now: () => clock++ + 0.75,
    });
    expect(rendered.ok).toBe(true);
    if (!rendered.ok) return;
    const body = JSON.parse(await readText(rendered.body));
    expect(seen.map(([kind]) => kind)).toEqual(["image", "image", "image", "content", "content", "transcript"]);
    expect(seen.map(([, , now]) => now)).toEqual([0, 1, 2, 3, 4, 5].map((n) => FROZEN_NOW + n + 0.75));
    expect(body.jwt).toBe("J");
    expect(body.background_image.jwt).toBe(`image:${FROZEN_NOW + 0.75}`);
    expect(body.transcript.jwt).toBe(`transcript:${FROZEN_NOW + 5.75}`);
  });

  it("mints JWTs whose iat/exp follow a later clock", async () => {
    const rendered = renderValue(base64ToBytes(journey.cached_bytes_b64), {
      kind: "journey",
      journeyJwt: "",
      signer: tokens,
      now: () => FROZEN_NOW + 100.9,
    });
    if (!rendered.ok) throw new Error("render failed");
    const body = JSON.parse(await readText(rendered.body));
    const payload = JSON.parse(atob(body.audio_content.jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    expect(payload).toEqual({ sub: journey.input.audio_content.uid, iss: "oseh", aud: "oseh-content", iat: FROZEN_NOW + 99, exp: FROZEN_NOW + 1900 });
    expect(body.jwt).toBe("");
  });

  it("writes prefix and suffix around the value (wrapper routes, docs/block-format.md §2.8)", async () => {
    const rendered = renderValue(base64ToBytes(journey.cached_bytes_b64), optionsFor(journey, { prefix: '{"journey":', suffix: ',"visitor_uid":"oseh_v_x"}' }));
    if (!rendered.ok) throw new Error("render failed");
    expect(await readText(rendered.body)).toBe(`{"journey":${journey.rendered},"visitor_uid":"oseh_v_x"}`);
  });

  it("streams a large type-1 value in bounded pieces", async () => {
    const big = new Uint8Array(3 * 1024 * 1024 + 17).fill(0x61);
    const bytes = concat(block(1, big), block(2, ""), block(1, "!"));
    const rendered = renderValue(bytes, { kind: "prompt", sessionUid: "S", promptJwt: "P" });
    if (!rendered.ok) throw new Error("render failed");
    const reader = rendered.body.getReader();
    let total = 0;
    let largest = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      largest = Math.max(largest, value.length);
    }
    expect(total).toBe(big.length + 2);
    expect(largest).toBeLessThanOrEqual(64 * 1024);
  });

  it("renders at the reader's pace: an unread body has not minted the rest", async () => {
    const big = new Uint8Array(256 * 1024).fill(0x61);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 8; i++) parts.push(block(1, big), block(3, `oseh_if_${i}`));
    let mints = 0;
    const signer: ResourceSigner = {
      async mint(kind, sub) {
        mints++;
        return `${kind}.${sub}`;
      },
    };
    const rendered = renderValue(concat(...parts), { kind: "journey", journeyJwt: "", signer, now: () => FROZEN_NOW });
    if (!rendered.ok) throw new Error("render failed");
    const reader = rendered.body.getReader();
    await reader.read();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(mints).toBeLessThanOrEqual(2);
    await reader.cancel();
  });

  it("a cancelled body stops the producer without an unhandled error", async () => {
    const rendered = renderValue(base64ToBytes(journey.cached_bytes_b64), optionsFor(journey));
    if (!rendered.ok) throw new Error("render failed");
    await rendered.body.cancel("client went away");
  });

  it("a mint failure errors the stream", async () => {
    const rendered = renderValue(base64ToBytes(journey.cached_bytes_b64), {
      kind: "journey",
      journeyJwt: "",
      signer: { mint: () => Promise.reject(new Error("no key")) },
      now: () => FROZEN_NOW,
    });
    if (!rendered.ok) throw new Error("render failed");
    await expect(readAll(rendered.body)).rejects.toThrow("no key");
  });
});

describe("property: corrupt input never throws or hangs", () => {
  const seeds = blockVectors.map((v) => base64ToBytes(v.cached_bytes_b64));

  function mutate(random: () => number, source: Uint8Array): Uint8Array {
    const bytes = source.slice();
    switch (Math.floor(random() * 6)) {
      case 0: {
        const flips = 1 + Math.floor(random() * 4);
        for (let i = 0; i < flips; i++) {
          const at = Math.floor(random() * bytes.length);
          bytes[at] = (bytes[at] as number) ^ (1 << Math.floor(random() * 8));
        }
        return bytes;
      }
      case 1:
        return bytes.slice(0, Math.floor(random() * bytes.length));
      case 2: {
        // Corrupt a length field of a real block header.
        const headers: number[] = [];
        for (let at = 0; at + 5 <= bytes.length; ) {
          headers.push(at);
          at += 5 + new DataView(bytes.buffer).getUint32(at);
        }
        const at = headers[Math.floor(random() * headers.length)] ?? 0;
        new DataView(bytes.buffer).setUint32(at, Math.floor(random() * 2 ** 32));
        return bytes;
      }
      case 3: {
        const at = Math.floor(random() * bytes.length);
        return concat(bytes.slice(0, at), bytes.slice(at + 1 + Math.floor(random() * 10)));
      }
      case 4:
        return Uint8Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256));
      default:
        return concat(bytes, Uint8Array.from({ length: 1 + Math.floor(random() * 6) }, () => Math.floor(random() * 256)));
    }
  }

  it("3000 mutated values: compiled fresh and from the cache agree, and only succeed or fail typed", async () => {
    const random = createPrng(0x05e4);
    let successes = 0;
    let failures = 0;
    const signer: ResourceSigner = { mint: async (kind, sub) => `${kind}.${sub}` };
    for (let n = 0; n < 3000; n++) {
      const source = seeds[Math.floor(random() * seeds.length)] as Uint8Array;
      const bytes = mutate(random, source);
      const kind: BlockKind = random() < 0.5 ? "journey" : "prompt";
      const options: RenderOptions =
        kind === "journey" ? { kind, journeyJwt: "J", signer, now: () => FROZEN_NOW } : { kind, sessionUid: "S", promptJwt: "P" };

      const whole = renderValue(bytes, options);
      const cachedRender = renderValue(bytes, options, { templates, sha256: await sha256Hex(bytes) });
      if (whole.ok) {
        successes++;
        const wholeText = decoder.decode(await readAll(whole.body));
        expect(cachedRender.ok && decoder.decode(await readAll(cachedRender.body))).toBe(wholeText);
      } else {
        failures++;
        expect(typeof whole.failure.reason).toBe("string");
        expect(cachedRender).toMatchObject({ ok: false, failure: { reason: whole.failure.reason } });
      }
    }
    expect(successes + failures).toBe(3000);
    expect(failures).toBeGreaterThan(1000);
  });
});
