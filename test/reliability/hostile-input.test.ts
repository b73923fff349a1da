/**
 * Hostile input, as properties (fast-check; docs/reliability.md "Hostile input"): for arbitrary
 * bytes or text, the key parser, every codec's validator, the template compiler/renderer and the
 * delegation-document parser answer success or a typed failure — they never throw and never
 * hang (a hang would time the test out) — and what they produce is bounded by what they read.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CODECS, FAMILIES, parseKey, validateValueDeep } from "../../src/keys";
import { parseDelegation } from "../../src/origin/delegation";
import { compileTemplate, type BlockKind } from "../../src/render/blocks";
import { renderValue } from "../../src/render/stream";
import { createTokenMemory, createTokenService } from "../../src/auth/jwt";
import { readAll } from "../../src/util/bytes";
import { EXAMPLE_KEYS } from "../keys/examples";
import { SECRETS } from "../routes/helpers";

const RUNS = { numRuns: 300 };
const NOW = 1_700_000_000;

const KEY_FAILURES = ["key_too_long", "unknown_family", "malformed_key"];
const RENDER_FAILURES = ["empty", "truncated", "unknown_type", "foreign_type", "bad_marker"];
const DELEGATION_FAILURES = ["too_large", "not_json", "not_an_object", "bad_key", "wrong_family", "missing_jwt", "missing_session_uid", "bad_wrapper"];

/** Text that looks like a key: a real family's literal prefix or example, then anything. */
const keyLike = fc.oneof(
  fc.string({ unit: "binary", maxLength: 600 }),
  fc.tuple(fc.constantFrom(...FAMILIES.map((f) => f.name.split("{")[0] ?? "")), fc.string({ unit: "grapheme-ascii", maxLength: 80 })).map(([a, b]) => a + b),
  fc.tuple(fc.constantFrom(...Object.values(EXAMPLE_KEYS).flat()), fc.nat(60), fc.string({ maxLength: 8 })).map(([key, at, insert]) => key.slice(0, at) + insert + key.slice(at)),
);

describe("key parser", () => {
  it("any string → a family entry that round-trips, or key_too_long / unknown_family / malformed_key", () => {
    fc.assert(
      fc.property(keyLike, (key) => {
        const parsed = parseKey(key);
        if (parsed.ok) {
          expect(parsed.value.key).toBe(key);
          expect(new TextEncoder().encode(key).length).toBeLessThanOrEqual(512);
          expect(key.startsWith("_edge:")).toBe(false);
          expect(FAMILIES).toContain(parsed.value.family);
        } else {
          expect(KEY_FAILURES).toContain(parsed.failure.reason);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("a 100 KB key of near-matches is refused by length before any pattern runs", () => {
    const key = `journeys:external:${"oseh_j_".repeat(15_000)}`;
    const parsed = parseKey(key);
    expect(parsed.ok ? "ok" : parsed.failure.reason).toBe("key_too_long");
  });
});

/** Bytes near each codec's shape: raw, JSON-ish, gzip-headed, u64-prefixed, blocks-headed. */
const nearCodecBytes = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }),
  fc.json({ maxDepth: 3 }).map((text) => new TextEncoder().encode(text)),
  fc.uint8Array({ maxLength: 256 }).map((tail) => Uint8Array.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, ...tail])),
  fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.uint8Array({ maxLength: 256 })).map(([length, tail]) => {
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setBigUint64(0, length);
    return Uint8Array.from([...prefix, ...tail]);
  }),
);

describe("codec validators", () => {
  for (const codec of Object.values(CODECS)) {
    it(`${codec.name}: any bytes → ok or a reason (sync and deep), never a throw`, async () => {
      await fc.assert(
        fc.asyncProperty(nearCodecBytes, async (bytes) => {
          const shallow = codec.validate(bytes);
          const deep = await validateValueDeep(codec, bytes);
          for (const result of [shallow, deep]) {
            if (!result.ok) expect(typeof result.reason).toBe("string");
          }
          // The deep check only adds refusals.
          if (deep.ok) expect(shallow.ok).toBe(true);
        }),
        RUNS,
      );
    });
  }
});

/** One block: a known or unknown type, a uid-like, empty or random value. */
const block = fc.tuple(
  fc.oneof(fc.constantFrom(1, 2, 3, 4, 5), fc.integer({ min: 0, max: 255 })),
  fc.oneof(
    fc.constant(new Uint8Array()),
    fc.stringMatching(/^oseh_[A-Za-z0-9_-]{1,20}$/).map((s) => new TextEncoder().encode(s)),
    fc.uint8Array({ maxLength: 64 }),
  ),
);

/** A framed value from blocks, optionally cut or with a byte changed: mostly near-valid input. */
const blockValue = fc
  .tuple(fc.array(block, { maxLength: 12 }), fc.option(fc.nat(), { nil: undefined }), fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { nil: undefined }))
  .map(([blocks, cut, flip]) => {
    const parts: number[] = [];
    for (const [type, value] of blocks) {
      parts.push((value.length >>> 24) & 255, (value.length >>> 16) & 255, (value.length >>> 8) & 255, value.length & 255, type, ...value);
    }
    let bytes = Uint8Array.from(parts);
    if (cut !== undefined && bytes.length > 0) bytes = bytes.slice(0, cut % bytes.length);
    if (flip !== undefined && bytes.length > 0) bytes[flip[0] % bytes.length] = flip[1];
    return bytes;
  });

const kinds: BlockKind[] = ["journey", "prompt"];

describe("template compiler and renderer", () => {
  it("compileTemplate: a template no bigger than its value, or a typed failure at an offset inside it", () => {
    fc.assert(
      fc.property(fc.oneof(blockValue, fc.uint8Array({ maxLength: 1024 })), fc.constantFrom(...kinds), (bytes, kind) => {
        const result = compileTemplate(bytes, kind);
        if (!result.ok) {
          expect(RENDER_FAILURES).toContain(result.failure.reason);
          expect(result.failure.offset).toBeGreaterThanOrEqual(0);
          expect(result.failure.offset).toBeLessThanOrEqual(bytes.length);
          return;
        }
        const { runs, slots, staticBytes, size } = result.template;
        expect(runs.length).toBe(slots.length + 1);
        expect(runs.reduce((sum, run) => sum + run.length, 0)).toBe(staticBytes);
        expect(staticBytes + slots.length * 5).toBeLessThanOrEqual(size);
        expect(size).toBe(bytes.length);
      }),
      { numRuns: 2000 },
    );
  });

  it("renderValue: refuses before the first byte, or streams to the end with output bounded by input + tokens", async () => {
    const tokens = createTokenService(SECRETS, {}, createTokenMemory());
    const journeyJwt = "a.b.c";
    await fc.assert(
      fc.asyncProperty(blockValue, fc.constantFrom(...kinds), async (bytes, kind) => {
        const options =
          kind === "journey"
            ? { kind, journeyJwt, signer: tokens, now: () => NOW }
            : { kind, sessionUid: "oseh_ips_x", promptJwt: journeyJwt };
        const rendered = renderValue(bytes, options);
        if (!rendered.ok) {
          expect(RENDER_FAILURES).toContain(rendered.failure.reason);
          return;
        }
        const out = await readAll(rendered.body);
        // Every marker becomes at most one JWT (~250 bytes for these claims); copies are 1:1.
        const markers = Math.ceil(bytes.length / 5);
        expect(out.length).toBeLessThanOrEqual(bytes.length + markers * 512);
      }),
      RUNS,
    );
  });
});

describe("delegation-document parser", () => {
  const documentLike = fc.oneof(
    fc.uint8Array({ maxLength: 512 }),
    fc.json({ maxDepth: 3 }).map((text) => new TextEncoder().encode(text)),
    fc
      .record(
        {
          key: fc.oneof(fc.constantFrom("journeys:external:oseh_j_x", "interactive_prompts:external:oseh_ip_x", "transcripts:oseh_t_x"), fc.string(), fc.integer()),
          jwt: fc.oneof(fc.constant("a.b.c"), fc.string(), fc.constant(null)),
          session_uid: fc.oneof(fc.constant("oseh_ips_x"), fc.string()),
          prefix: fc.oneof(fc.string(), fc.integer()),
          suffix: fc.oneof(fc.string(), fc.constant([])),
        },
        { requiredKeys: [] },
      )
      .map((doc) => new TextEncoder().encode(JSON.stringify(doc))),
  );

  it("any bytes → a journey/prompt delegation with a JWT-alphabet token, or a typed problem", () => {
    fc.assert(
      fc.property(documentLike, (bytes) => {
        const parsed = parseDelegation(bytes);
        if (parsed.ok) {
          const jwt = parsed.delegation.kind === "journey" ? parsed.delegation.journeyJwt : parsed.delegation.promptJwt;
          expect(jwt).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
        } else {
          expect(DELEGATION_FAILURES).toContain(parsed.problem.reason);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("a document over 64 KiB is refused by size without being parsed", () => {
    const parsed = parseDelegation(new Uint8Array(64 * 1024 + 1).fill(0x20));
    expect(parsed.ok ? "ok" : parsed.problem.reason).toBe("too_large");
  });
});
