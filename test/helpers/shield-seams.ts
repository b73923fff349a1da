/**
 * The shields' own bindings and settings, reachable by tests (test/entry.ts routes every
 * `FamilyShield`'s KV, R2 and environment through here), and a shield reset. One mechanism for the
 * fault matrix, the security tests and the consistency checker:
 *
 * - `withShieldSettings(overrides, run)` gives every shield these vars (another ORIGIN_URL, a
 *   shorter ORIGIN_TIMEOUT_MS) while `run` runs, as a test gives them to the Worker's env: the
 *   fill the shield makes then meets the same origin fault.
 *
 * - `wrapShieldStorage({ kv, media })` installs wrappers (e.g. `faultyKv(real, plan).kv` from
 *   ./faults.ts) around the real bindings every shield writes, until the returned restore is
 *   called. A wrapper is made once per real binding per install, so a stateful wrapper (call
 *   counts, "fail the first n") keeps its state across calls.
 * - `resetShield(stub)` resets one shield the way the platform does (an eviction after a code
 *   update, an overload): its calls in flight reject and its memory (fills in flight, leases,
 *   ordering marks) is gone; its SQLite storage stays.
 */
import { runInDurableObject } from "cloudflare:test";

type Wrap<T> = (real: T) => T;

interface Installed {
  kv?: Wrap<KVNamespace>;
  media?: Wrap<R2Bucket>;
  made: WeakMap<object, object>;
}

let installed: Installed | undefined;
/** The settings installed now, and the env object made from them for the real one. */
let settings: { overrides: Record<string, unknown>; made: WeakMap<object, object> } | undefined;

/** Runs `run` with `overrides` over every shield's environment; restored after, whatever happens. */
export async function withShieldSettings<T>(overrides: Record<string, unknown>, run: () => Promise<T>): Promise<T> {
  const mine = { overrides, made: new WeakMap<object, object>() };
  settings = mine;
  try {
    return await run();
  } finally {
    if (settings === mine) settings = undefined;
  }
}

/** Used by test/entry.ts: a shield's environment with the installed settings over it (one object per install). */
export function shieldSettings<T extends object>(real: T): T {
  const now = settings;
  if (now === undefined) return real;
  let made = now.made.get(real) as T | undefined;
  if (made === undefined) {
    made = { ...real, ...now.overrides } as T;
    now.made.set(real, made);
  }
  return made;
}

/** Installs wrappers around every shield's KV and/or R2; returns the restore. */
export function wrapShieldStorage(wraps: { kv?: Wrap<KVNamespace>; media?: Wrap<R2Bucket> }): () => void {
  const mine: Installed = { ...wraps, made: new WeakMap() };
  installed = mine;
  return () => {
    if (installed === mine) installed = undefined;
  };
}

/** The installed wrapper of `real`, made once per install. */
function current<T extends object>(real: T, wrap: Wrap<T> | undefined, table: WeakMap<object, object>): T {
  if (wrap === undefined) return real;
  let made = table.get(real) as T | undefined;
  if (made === undefined) {
    made = wrap(real);
    table.set(real, made);
  }
  return made;
}

/** A binding whose every call goes to the wrapper installed at the time of the call, else the real one. */
function throughSeam<T extends object>(real: T, which: "kv" | "media"): T {
  return new Proxy(real, {
    get(target, prop) {
      const now = installed;
      const binding = now === undefined ? target : current(target, now[which] as Wrap<T> | undefined, now.made);
      const value = Reflect.get(binding, prop, binding) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(binding) : value;
    },
  });
}

/** Used by test/entry.ts: a shield's storage, through the seam. */
export function shieldStorage(real: { kv: KVNamespace; media?: R2Bucket }): { kv: KVNamespace; media?: R2Bucket } {
  return { kv: throughSeam(real.kv, "kv"), ...(real.media === undefined ? {} : { media: throughSeam(real.media, "media") }) };
}

/** Resets one shield mid-whatever: its calls in flight reject, its memory is dropped, its storage kept. */
export async function resetShield(stub: DurableObjectStub): Promise<void> {
  await runInDurableObject(stub, (_instance, state) => {
    try {
      state.abort("reset by the test (as after a code update or an overload)");
    } catch {
      // abort() throws in the caller's frame as well: the reset is what we asked for.
    }
  }).catch(() => undefined);
}
