/** Golden vectors from test/fixtures/blocks.json (read by test/global-setup.ts). */
import { inject } from "vitest";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the file's shape is documented in docs/block-format.md §7.2
export type BlocksVectors = { meta: any; vectors: any[]; float_formatting: any; http_examples: any };

let cached: BlocksVectors | undefined;

export function loadBlocksVectors(): BlocksVectors {
  cached ??= JSON.parse(inject("blocksVectorsJson")) as BlocksVectors;
  return cached;
}

export function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
