import type { Env as ConfigEnv } from "../src/config";

declare global {
  namespace Cloudflare {
    interface Env extends ConfigEnv {}
    /** Types `exports` of `cloudflare:workers` (the Worker's own default export, `exports.default.fetch`). */
    interface GlobalProps {
      mainModule: typeof import("../src/index");
    }
  }
}
