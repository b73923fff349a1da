import "vitest";

/** What test-node/global-setup.ts provides to the node project's tests (`inject`). */
declare module "vitest" {
  export interface ProvidedContext {
    /** `redis://127.0.0.1:<port>` of the shared redis-server. */
    redisUrl: string;
    /** The edge's base URL (no trailing slash). */
    edgeUrl: string;
    /** The dev origin behind that edge. */
    originUrl: string;
    /** The dev origin's DEV_CONTROL_SECRET (never an edge binding); use test/helpers/dev-origin.ts. */
    devControlSecret: string;
    /** EDGE_ADMIN_JWT_SECRET of that edge. */
    edgeAdminSecret: string;
  }
}
