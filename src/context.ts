/**
 * What the Worker builds once per isolate, parsed configuration and colo (src/index.ts) and lends
 * every request it answers there: the isolate's clients (origin, tokens, templates), the colo's
 * store, and the cache core over it — the reader, the filler and the writer, each the shields'
 * when the binding exists, else the in-isolate or direct one — and the media store. A request adds
 * only what is its own: its clock reading, its background work and its counters.
 */
import type { TokenService } from "./auth/jwt";
import type { CacheReader, FillGuard, Filler } from "./cache";
import type { Writer } from "./cache/writer";
import type { Config } from "./config";
import type { MediaStore } from "./media";
import type { OriginClient } from "./origin";
import type { TemplateCache } from "./render/templates";
import type { ShieldClient } from "./shield";
import type { TieredStore } from "./storage";

export interface Edge {
  readonly config: Config;
  readonly origin: OriginClient;
  readonly tokens: TokenService;
  readonly templates: TemplateCache;
  /** The isolate's remembered absences and fill budget (src/cache/fill-guard.ts). */
  readonly guard: FillGuard;
  /** The colo's tiers (L0, L1, KV; R2 pointers for deletes): what the admin API reads and lists. */
  readonly store: TieredStore;
  /** Reads through the tiers with fills on miss: every read the request path makes. */
  readonly reader: CacheReader;
  readonly filler: Filler;
  /** Every admin PUT, DELETE and purge. */
  readonly writer: Writer;
  /** Media bytes (R2); absent without the MEDIA binding. */
  readonly media: MediaStore | undefined;
  /** The family shields (their counters for `/stats`); absent without the binding. */
  readonly shield: ShieldClient | undefined;
}
