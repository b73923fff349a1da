/**
 * The Worker as the `workers` test project runs it (vitest.config.ts `main`): src/index.ts's
 * default export and its `FamilyShield`, unchanged but for two seams (./helpers/shield-seams.ts)
 * — the storage a shield writes (its KV namespace and media bucket), so a test can wrap it with
 * the same fault wrappers as the Worker's own bindings, and the settings it parses (its origin,
 * its timeout), so a fill through the shield meets the origin fault a test gives the Worker. With
 * nothing installed, the shield runs exactly as in production.
 */
import type { Env } from "../src/config";
import worker, { FamilyShield as ProductionFamilyShield } from "../src/index";
import { shieldSettings, shieldStorage } from "./helpers/shield-seams";

export default worker;

export class FamilyShield extends ProductionFamilyShield {
  protected override storageBindings(): { kv: KVNamespace; media?: R2Bucket } {
    return shieldStorage(super.storageBindings());
  }

  protected override settings(): Env {
    return shieldSettings(super.settings());
  }
}
