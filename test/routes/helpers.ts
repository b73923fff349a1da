/** A RouteIo over an in-memory table, for handler tests without an origin. */
import { createTokenMemory, createTokenService } from "../../src/auth/jwt";
import type { CacheResult, ReadOptions } from "../../src/cache";
import type { Secrets } from "../../src/config";
import { keyOf } from "../../src/keys";
import type { RouteIo } from "../../src/routes/io";
import { signToken, TEST_SECRETS } from "../helpers/tokens";
import { createCryptoRandom, type RandomSource } from "../../src/util/random";

export const SECRETS: Secrets = {
  imageFile: TEST_SECRETS.image,
  contentFile: TEST_SECRETS.content,
  transcript: TEST_SECRETS.transcript,
  journey: TEST_SECRETS.journey,
  interactivePrompt: TEST_SECRETS.interactivePrompt,
  idToken: TEST_SECRETS.id,
  edgeAdmin: TEST_SECRETS.edgeAdmin,
  edgeOrigin: TEST_SECRETS.edgeOrigin,
};

/** `{ stale }`: a value served past its expiry because the origin failed (stale-if-error). */
export type Stored = Uint8Array | string | { passthrough: string } | { stale: string };

export interface TestIo {
  io: RouteIo;
  loads: Array<{ key: string; family: string; options: ReadOptions | undefined }>;
  passthroughs: Request[];
}

export const PASSTHROUGH_BODY = "from the origin";

/** A stored value's envelope, as a hit read from L1 carries it (its facts do not matter here). */
function storedValue(bytes: Uint8Array, family: string) {
  return { bytes, envelope: { family, storedAt: 0, expiresAt: 0, codec: "", size: bytes.byteLength, sha256: "" } };
}

export function createTestIo(now: number, values: Record<string, Stored>, random: RandomSource = createCryptoRandom()): TestIo {
  const loads: TestIo["loads"] = [];
  const passthroughs: Request[] = [];
  const io: RouteIo = {
    now,
    tokens: createTokenService(SECRETS, {}, createTokenMemory()),
    random,
    async read(familyName, params, options): Promise<CacheResult> {
      const key = keyOf(familyName, params);
      if (!key.ok) return { kind: "unavailable", reason: "bad_key", message: key.reason };
      loads.push({ key: key.key, family: key.family.name, options });
      const value = values[key.key];
      if (value === undefined) return { kind: "absent", remembered: false };
      if (typeof value === "string") return { kind: "value", state: "hit", tier: "l1", value: storedValue(new TextEncoder().encode(value), key.family.name) };
      if (value instanceof Uint8Array) return { kind: "value", state: "hit", tier: "l1", value: storedValue(value, key.family.name) };
      if ("stale" in value) {
        const originError = { kind: "error", status: 502, message: "origin down" } as const;
        return { kind: "value", state: "stale", tier: "l2", value: storedValue(new TextEncoder().encode(value.stale), key.family.name), originError };
      }
      return { kind: "unavailable", reason: "unsupported", message: value.passthrough };
    },
    async readMedia() {
      return { kind: "unavailable", reason: "unbound", message: "no media in this table" };
    },
    async passthrough(request: Request) {
      passthroughs.push(request);
      return { response: new Response(PASSTHROUGH_BODY, { status: 299 }), served: { kind: "bypass" } };
    },
  };
  return { io, loads, passthroughs };
}

const AUDIENCE = { image: "oseh-image", content: "oseh-content", transcript: "oseh-transcript" } as const;
const SECRET = { image: TEST_SECRETS.image, content: TEST_SECRETS.content, transcript: TEST_SECRETS.transcript } as const;

export function resourceToken(kind: keyof typeof AUDIENCE, sub: string, now: number, overrides: Record<string, unknown> = {}): Promise<string> {
  return signToken({
    secret: SECRET[kind],
    claims: { sub, iss: "oseh", aud: AUDIENCE[kind], iat: Math.floor(now) - 1, exp: Math.floor(now) + 1800, ...overrides },
  });
}

export async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export const AUTH_BODY = {
  not_set: '{"type":"not_set","message":"authorization header not set","markdown":"authorization header not set"}',
  bad_format:
    '{"type":"bad_format","message":"authorization header should start with \'bearer \'","markdown":"authorization header should start with \'bearer \'"}',
  invalid: '{"type":"invalid","message":"token is invalid","markdown":"token is invalid"}',
} as const;
