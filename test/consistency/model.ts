/**
 * The consistency model (docs/reliability.md "Consistency"), pure: the history a run records, and
 * what each tier may serve and when. Times are of two kinds:
 * - `seq`: the real order of events in the run (one counter, taken when an operation is invoked
 *   and when its answer arrives), so "answered before invoked" is exact;
 * - the injected clock (unix seconds), which only the history moves (`clock` events).
 *
 * The model knows only what a client, an operator and the origin see: the requests sent, the
 * answers on the wire (status, body, `Cache-Status`), and the origin's values over time. Nothing
 * here reads the Worker's internal types, so it keeps holding while the core is redesigned.
 */

/** `r2`: a media object read through its pointer (docs/storage-schema.md §R2). */
export type Tier = "l0" | "l1" | "l2" | "r2" | "miss" | "stale";

/** What one read answered, as the client saw it. */
export type ReadAnswer =
  /** A body that decodes to `version` of the key asked for. */
  | { kind: "value"; version: string; tier: Tier; fwdStatus?: number }
  /** The route's answer for a value the origin does not have. */
  | { kind: "absent" }
  /** Passed through to the origin (`fwd=bypass`): the origin answered the route itself. */
  | { kind: "passthrough"; status: number }
  /** The edge's own JSON error (origin unavailable or timed out, nothing stale). */
  | { kind: "error"; status: number }
  /**
   * An answer whose body broke off after its head (src/media/body.ts: a media body that ends
   * before its Content-Length is a broken response, never a short one): what a media fill passes
   * on of an origin answer cut short, so allowed only while an origin fault is armed on the key.
   */
  | { kind: "broken"; reason: string }
  /** A body that is not a whole value of this key (another key's, cut, unknown bytes), or a status no rule allows. */
  | { kind: "bad"; reason: string };

/** The origin's state for a key from an instant on. */
export type OriginState = { version: string; expiresAt: number } | "absent";

export type PurgeSelector = { keys: string[] } | { family: string } | { prefix: string };

interface Timed {
  /** Index of the operation in the history. */
  id: number;
  inv: number;
  /** Undefined: never answered (still in flight when the run ended). */
  res?: number;
}

interface Placed extends Timed {
  isolate: string;
  /** The injected clock the request carried. */
  now: number;
}

export type Op =
  | (Placed & { kind: "read"; key: string; refresh: boolean; answer?: ReadAnswer })
  | (Placed & { kind: "put"; key: string; version: string; expiresAt: number; sourceTime?: number; status?: number })
  | (Placed & { kind: "delete"; key: string; sourceTime?: number; status?: number })
  | (Placed & {
      kind: "purge";
      selector: PurgeSelector;
      /** The history's keys the selector covers. */
      covers: string[];
      sourceTime?: number;
      status?: number;
      /** A purge by keys: the keys a newer write kept. */
      superseded?: string[];
    })
  | (Timed & { kind: "origin"; key: string; state: OriginState })
  /** An origin fault armed for a key (its answers fail) until `until` (a seq), or the end. */
  | (Timed & { kind: "fault"; key: string; fault: string; until?: number })
  | (Timed & { kind: "clock"; to: number });

export interface Settings {
  l1MaxAgeSeconds: number;
  staleIfErrorSeconds: number;
  /** The admin API's `visibleWithinSeconds`: KV propagation + the L1 bound. */
  visibleWithinSeconds: number;
  sourceTimeWindowSeconds: number;
}

export interface History {
  settings: Settings;
  /** Isolate name → its colo. */
  isolates: Record<string, string>;
  /** Colo → the longest a KV write made elsewhere took to be seen there in this run (seconds). */
  kvLagSeconds: Record<string, number>;
  keys: string[];
  /**
   * Keys whose stored copies hang off an R2 pointer (`s3_files:`): the pointer is strongly
   * consistent and read first on every request, so no tier of theirs outlives a write.
   */
  media: string[];
  ops: Op[];
  /** The clock when the run started (before any `clock` op). */
  startClock: number;
}

export type ReadOp = Extract<Op, { kind: "read" }>;
export type WriteOp = Extract<Op, { kind: "put" | "delete" | "purge" }>;

/** `res`, with an unanswered operation's taken as after everything. */
export const resOf = (op: Timed): number => op.res ?? Number.POSITIVE_INFINITY;

/** The injected clock at event `seq`. */
export function clockAt(history: History, seq: number): number {
  let clock = history.startClock;
  for (const op of history.ops) if (op.kind === "clock" && op.inv <= seq) clock = op.to;
  return clock;
}

/** Whether a write was applied (2xx); for a purge by keys, whether `key` was not superseded. */
export function applied(op: WriteOp, key: string): boolean {
  if (op.status === undefined) return false;
  if (op.status < 200 || op.status >= 300) return false;
  return !(op.kind === "purge" && (op.superseded ?? []).includes(key));
}

/**
 * Whether the write may have been applied: answered 2xx, never answered (its effect is unknown),
 * or a DELETE or purge answered 503 — docs/admin-api.md: repeat the call, deletes already done
 * stay done (its shield may have applied it, and left its mark, before a later step failed). A
 * PUT's 503 applied nothing (same table).
 */
export function mayHaveApplied(op: WriteOp, key: string): boolean {
  return op.res === undefined || applied(op, key) || (op.kind !== "put" && op.status === 503);
}

export function touches(op: WriteOp, key: string): boolean {
  return op.kind === "purge" ? op.covers.includes(key) : op.key === key;
}

/**
 * The origin's states for `key` as intervals of seq: state i holds from its change's invocation
 * to the next change's answer (an answer made in between may carry either).
 */
export function originIntervals(history: History, key: string): { state: OriginState; from: number; to: number }[] {
  const changes = history.ops.filter((op): op is Extract<Op, { kind: "origin" }> => op.kind === "origin" && op.key === key);
  return changes.map((change, i) => ({ state: change.state, from: change.inv, to: i + 1 < changes.length ? resOf(changes[i + 1]!) : Number.POSITIVE_INFINITY }));
}

const sameState = (a: OriginState, b: OriginState | "absent"): boolean =>
  a === "absent" || b === "absent" ? a === b : a.version === b.version;

/** Whether the origin may have answered `state` for `key` at some instant in [lo, hi]. */
export function originHeld(history: History, key: string, state: { version: string } | "absent", lo: number, hi: number): boolean {
  return originIntervals(history, key).some((held) => sameState(held.state, state as OriginState) && held.from <= hi && held.to >= lo);
}

/** The expiry the origin gave `version` (every origin and PUT version carries its own). */
export function versionExpiry(history: History, version: string): number | undefined {
  for (const op of history.ops) {
    if (op.kind === "origin" && op.state !== "absent" && op.state.version === version) return op.state.expiresAt;
    if (op.kind === "put" && op.version === version) return op.expiresAt;
  }
  return undefined;
}

/**
 * How long after a write answered the tier that served a read may still show what the write
 * replaced, for a reader in another isolate (the writing isolate sees it at once):
 * - the shield's own storage and the origin (`miss`, a fill's answer): at once;
 * - KV (`l2`, and the stale copy, which is KV's): once KV's propagation reached the colo;
 * - L0 and L1 copies: that, plus the copy's longest life (`L1_MAX_AGE_SECONDS`);
 * - a media key's copies (`r2`, its colo's L1 copy of the object, a stale object): at once — the
 *   pointer is read first on every request, from R2, which is strongly consistent.
 * docs/storage-schema.md "Propagation bound": never more than `visibleWithinSeconds`.
 */
export function tierDelaySeconds(history: History, tier: Tier, colo: string, key: string): number {
  if (history.media.includes(key)) return 0;
  const lag = history.kvLagSeconds[colo] ?? 0;
  switch (tier) {
    case "miss":
    case "r2":
      return 0;
    case "l2":
    case "stale":
      return lag;
    case "l0":
    case "l1":
      return lag + history.settings.l1MaxAgeSeconds;
  }
}

/**
 * The earliest seq at which a fill that answered `read` may have reached the origin: a read
 * waits on a fill started by itself or by another read of the key still waiting at its
 * invocation (the shield and the isolate coalesce).
 */
export function fillWindowStart(history: History, read: ReadOp): number {
  let lo = read.inv;
  for (const op of history.ops) {
    if (op.kind === "read" && op.key === read.key && op.inv < read.inv && resOf(op) > read.inv) lo = Math.min(lo, op.inv);
  }
  return lo;
}

/**
 * Source-time marks (docs/admin-api.md "X-Edge-Source-Time"): a mark a write leaves orders later
 * writes of the key until it lapses — a PUT's for as long as its value lives and at least the
 * window, a DELETE's or purge's for the window — unless an operator's purge (no source time)
 * covering the key unpinned it.
 */
export function markKeepUntil(history: History, op: WriteOp): number {
  const window = op.now + history.settings.sourceTimeWindowSeconds;
  return op.kind === "put" ? Math.max(window, op.expiresAt) : window;
}

/** Which mark a write with a source time leaves: the key's own, or a purge's over a prefix ("" = the family). */
export type Mark = { of: "key"; key: string } | { of: "prefix"; prefix: string };

export function markOf(op: WriteOp, key: string): Mark {
  if (op.kind !== "purge" || "keys" in op.selector) return { of: "key", key };
  return { of: "prefix", prefix: "family" in op.selector ? "" : op.selector.prefix };
}

/**
 * Whether an operator's purge (no source time) clears `mark` (docs/admin-api.md "Unpinning"): a
 * key purge clears the key's own mark; a family purge, every mark of its keys and every purge
 * mark; a prefix purge, the marks of the keys it covers and the purge marks of prefixes inside it.
 * One that may have applied (a 503: its shield may have, before a later step failed) may have
 * unpinned.
 */
export function unpins(op: Extract<Op, { kind: "purge" }>, mark: Mark): boolean {
  if (op.sourceTime !== undefined) return false;
  if (mark.of === "key") return op.covers.includes(mark.key) && mayHaveApplied(op, mark.key);
  if (!mayHaveApplied(op, "")) return false;
  if ("keys" in op.selector) return false;
  if ("family" in op.selector) return true;
  return mark.prefix.startsWith(op.selector.prefix);
}

/**
 * Whether an operator's purge that clears `mark` may have landed between `after` and `before`:
 * it answered after `after` and began before `before` (a purge still in flight when a write
 * began may have unpinned the key before that write reached its shield).
 */
export function unpinnedBetween(history: History, mark: Mark, after: number, before: number): boolean {
  return history.ops.some((op) => op.kind === "purge" && resOf(op) > after && op.inv < before && unpins(op, mark));
}
