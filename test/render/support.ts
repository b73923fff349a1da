/** Shared helpers for the render and auth tests (vectors are read only through test/helpers). */
import { readAll } from "../../src/util/bytes";
import type { Secrets } from "../../src/config";
import { createTokenMemory, createTokenService, type TokenService } from "../../src/auth/jwt";
import { loadBlocksVectors } from "../helpers/vectors";

/** The backend's clock while the vectors were generated (docs/block-format.md §7.1). */
export const FROZEN_NOW = 1700000000;

export function vectorSecrets(): Secrets {
  const s = loadBlocksVectors().meta.secrets as Record<string, string>;
  const need = (name: string): string => {
    const value = s[name];
    if (value === undefined) throw new Error(`vectors meta.secrets lacks ${name}`);
    return value;
  };
  return {
    imageFile: need("OSEH_IMAGE_FILE_JWT_SECRET"),
    contentFile: need("OSEH_CONTENT_FILE_JWT_SECRET"),
    transcript: need("OSEH_TRANSCRIPT_JWT_SECRET"),
    journey: need("OSEH_JOURNEY_JWT_SECRET"),
    interactivePrompt: need("OSEH_INTERACTIVE_PROMPT_JWT_SECRET"),
    idToken: need("OSEH_ID_TOKEN_SECRET"),
    edgeAdmin: "test-edge-admin-secret",
    edgeOrigin: "test-edge-origin-secret",
  };
}

export function vectorTokenService(): TokenService {
  return createTokenService(vectorSecrets(), {}, createTokenMemory());
}

export { readAll };

export async function readText(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new TextDecoder().decode(await readAll(stream));
}

export function splitAt(bytes: Uint8Array, ...cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const cut of cuts) {
    out.push(bytes.slice(from, cut));
    from = cut;
  }
  out.push(bytes.slice(from));
  return out;
}

export function singleBytes(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (b) => Uint8Array.of(b));
}

/** Mulberry32, the dev origin's seeded PRNG, so property tests are reproducible. */
export { createRandom as createPrng } from "../../dev/origin/util";

export function bytesToHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
