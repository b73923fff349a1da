/**
 * The Worker as the `workers` test project runs it (vitest.config.ts `main`): src/index.ts's
 * default export and its `FamilyShield`, unchanged but for one seam — the storage a shield writes
 * (its KV namespace and media bucket) passes through ./helpers/shield-seams.ts, so a test can wrap
 * it with the same fault wrappers as the Worker's own bindings. With no wrapper installed, the
 * shield writes the real bindings exactly as in production.
 */
import worker, { FamilyShield as ProductionFamilyShield } from "../src/index";
import { shieldStorage } from "./helpers/shield-seams";

export default worker;

export class FamilyShield extends ProductionFamilyShield {
  protected override storageBindings(): { kv: KVNamespace; media?: R2Bucket } {
    return shieldStorage(super.storageBindings());
  }
}
