/** A RouteIo over an in-memory table, for handler tests without an origin. */
import { createTokenMemory, createTokenService } from "../../src/auth/jwt";
import type { Secrets } from "../../src/config";
import type { FamilyEntry } from "../../src/keys";
import type { LoadOptions, LoadResult, RouteIo } from "../../src/routes/io";
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
  loads: Array<{ key: string; family: string; options: LoadOptions | undefined }>;
  passthroughs: Request[];
}

export const PASSTHROUGH_BODY = "from the origin";

export function createTestIo(now: number, values: Record<string, Stored>, random: RandomSource = createCryptoRandom()): TestIo {
  const loads: TestIo["loads"] = [];
  const passthroughs: Request[] = [];
  const io: RouteIo = {
    now,
    tokens: createTokenService(SECRETS, {}, createTokenMemory()),
    random,
    async load(key: string, family: FamilyEntry, options?: LoadOptions): Promise<LoadResult> {
      loads.push({ key, family: family.name, options });
      const value = values[key];
      if (value === undefined) return { kind: "absent", cacheStatus: "oseh-edge; fwd=miss" };
      if (typeof value === "string") return { kind: "value", bytes: new TextEncoder().encode(value), cacheStatus: "oseh-edge; hit" };
      if (value instanceof Uint8Array) return { kind: "value", bytes: value, cacheStatus: "oseh-edge; hit" };
      if ("stale" in value) {
        return { kind: "value", bytes: new TextEncoder().encode(value.stale), cacheStatus: "oseh-edge; hit; detail=stale-if-error", stale: true };
      }
      return { kind: "passthrough", reason: value.passthrough };
    },
    async readMedia() {
      return { kind: "passthrough", reason: "no media in this table" };
    },
    async passthrough(request: Request): Promise<Response> {
      passthroughs.push(request);
      return new Response(PASSTHROUGH_BODY, { status: 299 });
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
