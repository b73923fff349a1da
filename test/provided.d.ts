import "vitest";

/** What test/global-setup.ts provides to the tests (`inject`). */
declare module "vitest" {
  export interface ProvidedContext {
    blocksVectorsJson: string;
    /** The dev origin's base URL (no trailing slash), e.g. `http://127.0.0.1:41234`. */
    originUrl: string;
    /** The dev origin's DEV_CONTROL_SECRET (never an edge binding); use test/helpers/dev-origin.ts. */
    devControlSecret: string;
    /** A bare TCP origin that answers a 200 head and a few bytes, then resets (test/global-setup.ts). */
    resetOriginUrl: string;
    /** The most the kernel's socket buffers can hold between the edge and a held origin (test/global-setup.ts). */
    socketBufferMaxBytes: number;
  }
}
