import type { Env as ConfigEnv } from "../src/config";

declare global {
  namespace Cloudflare {
    interface Env extends ConfigEnv {}
  }
}
