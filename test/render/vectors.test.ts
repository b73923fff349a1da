/**
 * Every golden vector in test/fixtures/blocks.json, byte for byte: encoders against the
 * cached bytes, the renderer (frozen clock 1700000000) against `rendered`, and every JWT.
 */
import { describe, expect, inject, it } from "vitest";
import { RESOURCE_KINDS, type ResourceKind } from "../../src/auth/jwt";
import { compileTemplate } from "../../src/render/blocks";
import { encodeExternalJourney, encodeExternalPrompt, type ExternalJourneyInput } from "../../dev/origin/encode/blocks";
import { pyFloatRepr, ryuFloat } from "../../dev/origin/encode/json";
import { renderValue, type RenderOptions } from "../../src/render/stream";
import { decodeU64Gzip, decodeU64Json, gunzip } from "../../src/render/u64";
import { encodeTopSharers, encodeTranscript } from "../../dev/origin/encode/u64";
import { base64ToBytes, loadBlocksVectors } from "../helpers/vectors";
import { FROZEN_NOW, bytesToHex, readText, vectorTokenService } from "./support";

/* eslint-disable @typescript-eslint/no-explicit-any -- vector shapes are documented in docs/block-format.md §7.2 */
const { vectors, float_formatting: floatTable } = loadBlocksVectors();
const byFamily = (family: string): any[] => vectors.filter((v: any) => v.family === family && v.cached_bytes_b64 !== undefined);
const journeys = byFamily("journeys:external");
const prompts = byFamily("interactive_prompts:external");
const transcripts = byFamily("transcripts");
const topSharers = byFamily("journey_share_links:top_sharers");
const tokens = vectorTokenService();
const decoder = new TextDecoder();

function journeyInput(v: any): ExternalJourneyInput {
  return { ...v.input, duration_seconds: v.input.duration_seconds_after_pydantic };
}

export function renderOptionsFor(v: any, now: () => number = () => FROZEN_NOW): RenderOptions {
  return v.family === "journeys:external"
    ? { kind: "journey", journeyJwt: v.journey_jwt_passed_in, signer: tokens, now }
    : { kind: "prompt", sessionUid: v.input.session_uid, promptJwt: v.interactive_prompt_jwt_passed_in };
}

describe("vector inventory", () => {
  it("is the fixture its README names (sha256)", async () => {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(inject("blocksVectorsJson")));
    expect(bytesToHex(new Uint8Array(digest))).toBe("eb42fd7cc199f920e90082636bb3fb224d86262540ff66c035b303ae6f3685fc");
  });

  it("has the families docs/block-format.md §7.2 lists", () => {
    expect(journeys).toHaveLength(13);
    expect(prompts).toHaveLength(4);
    expect(transcripts).toHaveLength(2);
    expect(topSharers).toHaveLength(2);
  });
});

describe.each(journeys.map((v) => [v.id, v] as const))("journey %s", (_id, v) => {
  const cached = base64ToBytes(v.cached_bytes_b64);

  it("encodes to the cached bytes", () => {
    const encoded = encodeExternalJourney(journeyInput(v));
    expect(encoded.ok).toBe(true);
    if (encoded.ok) expect(bytesToHex(encoded.bytes)).toBe(bytesToHex(cached));
  });

  it("validates", () => {
    expect(compileTemplate(cached, "journey").ok).toBe(true);
  });

  it("renders byte for byte with the frozen clock", async () => {
    const rendered = renderValue(cached, renderOptionsFor(v));
    expect(rendered.ok).toBe(true);
    if (!rendered.ok) return;
    const text = await readText(rendered.body);
    expect(text).toBe(v.rendered);
    expect(text.length).toBe(v.rendered_length);
  });
});

describe.each(prompts.map((v) => [v.id, v] as const))("prompt %s", (_id, v) => {
  const cached = base64ToBytes(v.cached_bytes_b64);

  it("encodes to the cached bytes", () => {
    const encoded = encodeExternalPrompt(v.input);
    expect(encoded.ok).toBe(true);
    if (encoded.ok) expect(bytesToHex(encoded.bytes)).toBe(bytesToHex(cached));
  });

  it("renders byte for byte", async () => {
    const rendered = renderValue(cached, renderOptionsFor(v));
    expect(rendered.ok).toBe(true);
    if (rendered.ok) expect(await readText(rendered.body)).toBe(v.rendered);
  });
});

describe("prompt with non-ASCII text", () => {
  const v = vectors.find((x: any) => x.id === "interactive-prompt-non-ascii-prompt-error");
  it("is a typed failure like the backend's UnicodeEncodeError", () => {
    const encoded = encodeExternalPrompt(v.input);
    expect(encoded.ok).toBe(false);
    if (encoded.ok) return;
    expect(encoded.failure.reason).toBe("non_ascii");
    expect(`UnicodeEncodeError: ${encoded.failure.message}`).toBe(v.error);
  });
});

describe("JWTs", () => {
  const all = vectors.flatMap((v: any) => (v.jwts ?? []).map((j: any) => [`${v.id} ${j.path}`, j] as const));

  it("covers every vector token", () => {
    expect(all.length).toBeGreaterThanOrEqual(90);
  });

  it.each(all)("%s is minted byte-identically", async (_name, j) => {
    expect(RESOURCE_KINDS).toContain(j.kind);
    expect(await tokens.mint(j.kind as ResourceKind, j.claims.sub, FROZEN_NOW)).toBe(j.token);
  });

  it.each(all)("%s verifies at the frozen clock", async (_name, j) => {
    const verified = await tokens.verifyResource(j.kind as ResourceKind, j.token, FROZEN_NOW, j.claims.sub);
    expect(verified).toEqual({ ok: true, claims: j.claims });
  });
});

describe.each(transcripts.map((v) => [v.id, v] as const))("transcript %s", (_id, v) => {
  const cached = base64ToBytes(v.cached_bytes_b64);
  const phrases = v.input.db_rows_starts_at_ends_at_phrase.map(([starts_at, ends_at, phrase]: [number, number, string]) => ({
    starts_at,
    ends_at,
    phrase,
  }));

  it("encodes to the cached u64-json bytes", () => {
    expect(bytesToHex(encodeTranscript({ uid: v.input.uid, phrases }))).toBe(bytesToHex(cached));
  });

  it("decodes to the blob with a checked length", () => {
    const decoded = decodeU64Json(cached);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.length).toBe(Number.parseInt(v.cached_length_prefix_u64_be_hex, 16));
    expect(decoder.decode(decoded.blob)).toBe(v.blob_json);
    expect(decoder.decode(decoded.blob)).toBe(v.rendered);
  });

  it("refuses a prefix that disagrees with the length", () => {
    expect(decodeU64Json(cached.subarray(0, cached.length - 1))).toMatchObject({ ok: false, failure: { reason: "length_mismatch" } });
    expect(decodeU64Json(cached.subarray(0, 7))).toMatchObject({ ok: false, failure: { reason: "truncated" } });
  });
});

describe.each(topSharers.map((v) => [v.id, v] as const))("top sharers %s", (_id, v) => {
  const cached = base64ToBytes(v.cached_bytes_b64);
  const response = {
    top_sharers: v.input.db_rows.map(([sub, a, b, c, d]: [string, number, number, number, number]) => ({
      sub,
      links_created: a,
      link_views_total: b,
      link_views_unique: c,
      link_attributable_users: d,
    })),
    checked_at: v.input.request_at,
  };

  it("the stored value decompresses to the vector JSON", async () => {
    const decoded = decodeU64Gzip(cached);
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect(decoder.decode(await gunzip(decoded.blob))).toBe(v.decompressed_json);
  });

  it("our encoding decompresses to the same JSON", async () => {
    const decoded = decodeU64Gzip(await encodeTopSharers(response));
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect(decoder.decode(await gunzip(decoded.blob))).toBe(v.decompressed_json);
  });
});

describe("pub/sub headers use ryu floats", () => {
  const withFill = vectors.filter((v: any) => v.pubsub_fill?.header_json !== undefined || v.pubsub_evict?.header_json !== undefined);
  it.each(withFill.map((v: any) => [v.id, v] as const))("%s", (_id, v) => {
    for (const message of [v.pubsub_fill, v.pubsub_evict]) {
      if (message?.header_json === undefined || !message.header_json.startsWith('{"uid"')) continue;
      const header = JSON.parse(message.header_json);
      if (header.min_checked_at === undefined) continue;
      const rebuilt = `{"uid":${JSON.stringify(header.uid)},"min_checked_at":${ryuFloat(header.min_checked_at)},"have_updated":${String(header.have_updated)}}`;
      expect(rebuilt).toBe(message.header_json);
    }
  });
});

describe("float_formatting table", () => {
  const rows: Array<readonly [string, any]> = floatTable.rows.map((r: any) => [r.value_repr, r] as const);
  it.each(rows)("%s", (_repr, row) => {
    const x = Number(row.value_repr);
    expect(pyFloatRepr(x)).toBe(row.python_str);
    expect(ryuFloat(x)).toBe(row.pydantic_core_2_16_3_production);
    expect(String(x)).toBe(row.javascript_String);
  });

  it("non-finite values", () => {
    expect([pyFloatRepr(Infinity), pyFloatRepr(-Infinity), pyFloatRepr(NaN)]).toEqual(["inf", "-inf", "nan"]);
    expect([ryuFloat(Infinity), ryuFloat(NaN)]).toEqual(["null", "null"]);
  });
});
