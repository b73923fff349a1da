/**
 * The dev origin's own rendering of the block families (docs/block-format.md §2.3, §3.3), used when a
 * start route is called without a valid `X-Oseh-Edge`: exactly what the backend streams.
 */
import { mintResourceJwt } from "./auth";
import type { DevOriginEnv } from "./env";
import { concatBytes, utf8 } from "./util";

export interface Block {
  type: number;
  value: Uint8Array;
}

const BLOCK_HEADER_BYTES = 5; // u32-BE length + 1-byte type (docs/block-format.md §1.1)

export function decodeBlocks(bytes: Uint8Array): Block[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blocks: Block[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + BLOCK_HEADER_BYTES > bytes.length) return undefined;
    const length = view.getUint32(at, false);
    const type = view.getUint8(at + 4);
    const end = at + BLOCK_HEADER_BYTES + length;
    if (end > bytes.length) return undefined;
    blocks.push({ type, value: bytes.subarray(at + BLOCK_HEADER_BYTES, end) });
    at = end;
  }
  return blocks;
}

const ascii = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

export async function renderJourney(stored: Uint8Array, journeyJwt: string, env: DevOriginEnv, now: () => number): Promise<Uint8Array> {
  const blocks = decodeBlocks(stored);
  if (blocks === undefined) throw new Error("corrupt journey value");
  const out: Uint8Array[] = [];
  for (const b of blocks) {
    switch (b.type) {
      case 1:
        out.push(b.value);
        break;
      case 2:
        out.push(utf8(journeyJwt));
        break;
      case 3:
        out.push(utf8(await mintResourceJwt(env.OSEH_IMAGE_FILE_JWT_SECRET, "oseh-image", ascii(b.value), now())));
        break;
      case 4:
        out.push(utf8(await mintResourceJwt(env.OSEH_CONTENT_FILE_JWT_SECRET, "oseh-content", ascii(b.value), now())));
        break;
      case 5:
        out.push(utf8(await mintResourceJwt(env.OSEH_TRANSCRIPT_JWT_SECRET, "oseh-transcript", ascii(b.value), now())));
        break;
      default:
        throw new Error(`unknown block type ${b.type}`);
    }
  }
  return concatBytes(out);
}

export function renderPrompt(stored: Uint8Array, sessionUid: string, promptJwt: string): Uint8Array {
  const blocks = decodeBlocks(stored);
  if (blocks === undefined) throw new Error("corrupt prompt value");
  const out: Uint8Array[] = [];
  for (const b of blocks) {
    if (b.type === 1) out.push(b.value);
    else if (b.type === 2) out.push(utf8(sessionUid));
    else if (b.type === 3) out.push(utf8(promptJwt));
    else throw new Error(`unknown block type ${b.type}`);
  }
  return concatBytes(out);
}
