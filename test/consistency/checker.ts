/**
 * The checker (docs/reliability.md "Consistency"), pure: a history in, violations out, each with
 * the indices of the operations that show it. Rules, in the model's terms (./model.ts):
 *
 * - **whole**: every 200 body is a whole value of the key asked for, one some writer made;
 * - **written**: a version is served only after its writer began (an origin change, an admin PUT),
 *   and never one whose PUT was refused;
 * - **fresh**: a hit is served only before the version's expiry; a miss past it only as the
 *   origin's own answer during the read;
 * - **invalidation**: after a write that replaced or removed a version (PUT of another, DELETE,
 *   purge by key, family or prefix) answered, the version is served again only if it was written
 *   anew after that write began — for a reader in the writing isolate at once, elsewhere once the
 *   serving tier's delay passed (`tierDelaySeconds`, never past `visibleWithinSeconds`);
 * - **stale**: a stale copy only within `STALE_IF_ERROR_SECONDS` past its expiry, only when the
 *   origin failed (a 502 needs a fault on the key: armed, or an origin 5xx the harness saw the
 *   Worker log, ./harness.ts `noteWorkerEvent`; a 504 is a timeout, which a busy machine
 *   can cause), and under the invalidation rule;
 * - **absent**: "no such value" only when the origin had none during the read's fill window;
 * - **source times**: an applied write never carries a source time older than a mark in force
 *   that a write answered before it left; a 409 only when such a mark may exist (or, for a media
 *   PUT, another write of the key overlapped its upload);
 * - **status**: nothing answers a status no rule allows (a 500, a bad body); a media body broken
 *   off before its Content-Length only while an origin fault was armed on the key (a fill passing
 *   on an origin answer cut short).
 *
 * The convergence check (every isolate agrees with the origin once the history ended and the
 * bounds passed) is run by the harness as reads at the end, which these same rules then judge,
 * plus `checkConvergence`.
 */
import {
  applied,
  clockAt,
  fillWindowStart,
  markKeepUntil,
  markOf,
  mayHaveApplied,
  originHeld,
  resOf,
  tierDelaySeconds,
  touches,
  unpinnedBetween,
  versionExpiry,
  type History,
  type Op,
  type ReadOp,
  type WriteOp,
} from "./model";

export type Rule = "whole" | "written" | "fresh" | "invalidation" | "stale" | "absent" | "source-time" | "status" | "converged";

export interface Violation {
  rule: Rule;
  /** The operations that show it (indices into `history.ops`), the offending one first. */
  ops: number[];
  message: string;
}

const isWrite = (op: Op): op is WriteOp => op.kind === "put" || op.kind === "delete" || op.kind === "purge";

/** Writes that remove or replace what `key` held (a PUT of `except` re-establishes it instead). */
function invalidations(history: History, key: string, except?: string): WriteOp[] {
  return history.ops.filter(
    (op): op is WriteOp => isWrite(op) && touches(op, key) && applied(op, key) && !(op.kind === "put" && op.version === except),
  );
}

/** The PUT that wrote `version`, if a PUT did. */
function putOf(history: History, version: string): Extract<Op, { kind: "put" }> | undefined {
  return history.ops.find((op): op is Extract<Op, { kind: "put" }> => op.kind === "put" && op.version === version);
}

/**
 * Whether `version` was written anew (by its PUT, or by a fill of the origin) after `write` began
 * and before `by`. A media fill takes its shield lease when the origin's answer head arrives
 * (docs/storage-schema.md §R2 "Publishing": "the window is one origin round trip"), so a write
 * that lands while a read of the key is waiting for the origin does not stop that fill from
 * publishing the version the origin gave it before the write.
 */
function rewrittenAfter(history: History, key: string, version: string, write: WriteOp, by: number): boolean {
  const put = putOf(history, version);
  if (put !== undefined) return resOf(put) > write.inv && put.inv < by && mayHaveApplied(put, key);
  if (originHeld(history, key, { version }, write.inv, by)) return true;
  return history.media.includes(key) && history.ops.some(
    (op) => op.kind === "read" && op.key === key && op.inv < resOf(write) && resOf(op) > write.inv && originHeld(history, key, { version }, op.inv, resOf(write)),
  );
}

function checkRead(history: History, read: ReadOp, out: Violation[]): void {
  const answer = read.answer;
  if (answer === undefined) return;
  const colo = history.isolates[read.isolate] ?? read.isolate;
  const seen = (rule: Rule, message: string, more: number[] = []) => out.push({ rule, ops: [read.id, ...more], message });
  switch (answer.kind) {
    case "bad":
      seen(answer.reason.startsWith("status") ? "status" : "whole", `read of ${read.key}: ${answer.reason}`);
      return;
    case "broken":
      if (!faultArmed(history, read)) seen("status", `read of ${read.key}: a body broken off (${answer.reason}) though no origin fault was armed on it`);
      return;
    case "passthrough":
    case "error":
      return;
    case "absent": {
      if (!originHeld(history, read.key, "absent", fillWindowStart(history, read), resOf(read))) {
        seen("absent", `read of ${read.key} answered "no such value" while the origin had one`);
      }
      return;
    }
    case "value":
      break;
  }
  const { version, tier } = answer;
  const put = putOf(history, version);
  const origin = history.ops.find((op) => op.kind === "origin" && op.key === read.key && op.state !== "absent" && op.state.version === version);
  if (put === undefined && origin === undefined) {
    seen("whole", `read of ${read.key} served ${version}, which no writer of this key made`);
    return;
  }
  const writer = (put ?? origin) as Op;
  if (writer.inv > resOf(read)) {
    seen("written", `read of ${read.key} served ${version} before its writer began`, [writer.id]);
    return;
  }
  if (put !== undefined && put.res !== undefined && !applied(put, read.key)) {
    seen("written", `read of ${read.key} served ${version}, whose PUT was refused (${put.status})`, [put.id]);
    return;
  }
  const expiresAt = versionExpiry(history, version) ?? Number.POSITIVE_INFINITY;
  // The origin's own answer during this read's fill window needs no stored copy.
  const fromOrigin = put === undefined && originHeld(history, read.key, { version }, fillWindowStart(history, read), resOf(read));

  if (tier === "stale") {
    const stale = history.settings.staleIfErrorSeconds;
    if (!(expiresAt <= read.now && read.now < expiresAt + stale)) {
      seen("stale", `stale ${version} served at ${read.now}, outside [${expiresAt}, ${expiresAt + stale})`);
    }
    if (answer.fwdStatus !== 504 && !faultArmed(history, read)) {
      seen("stale", `stale ${version} served with fwd-status=${answer.fwdStatus} though no origin fault was armed on ${read.key}`);
    }
  } else if (read.now >= expiresAt && !(tier === "miss" && fromOrigin)) {
    seen("fresh", `${version} served as fresh (${tier}) at ${read.now}, past its expiry ${expiresAt}`);
  }
  if (tier === "miss" && fromOrigin) return;

  // A stored copy: no write that answered before this read began may have removed it for good.
  const delay = tierDelaySeconds(history, tier, colo, read.key);
  for (const write of invalidations(history, read.key, version)) {
    if (resOf(write) >= read.inv) continue;
    const binding = write.isolate === read.isolate || read.now >= clockAt(history, resOf(write)) + delay;
    if (!binding) continue;
    if (rewrittenAfter(history, read.key, version, write, resOf(read))) continue;
    seen(
      "invalidation",
      `${version} served (${tier}) from ${read.isolate} at ${read.now} after op ${write.id} (${write.kind} from ${write.isolate} at ${write.now}) removed it`,
      [write.id],
    );
    return;
  }
}

/** Whether an origin fault was armed on the read's key while it ran. */
function faultArmed(history: History, read: ReadOp): boolean {
  return history.ops.some((op) => op.kind === "fault" && op.key === read.key && op.inv < resOf(read) && (op.until ?? Number.POSITIVE_INFINITY) > read.inv);
}

function writeKeys(op: WriteOp): string[] {
  return op.kind === "purge" ? op.covers : [op.key];
}

function checkSourceTimes(history: History, write: WriteOp, out: Violation[]): void {
  if (write.sourceTime === undefined || write.res === undefined || write.status === undefined) return;
  const s = write.sourceTime;
  const earlier = history.ops.filter((op): op is WriteOp => isWrite(op) && op.id !== write.id && op.sourceTime !== undefined && op.sourceTime > s);
  // Family and prefix purges are never late (removing more is safe): only their marks count.
  const judged = write.kind === "purge" && !("keys" in write.selector) ? [] : writeKeys(write);
  for (const key of judged) {
    const inForce = (op: WriteOp, certain: boolean) =>
      touches(op, key) &&
      (certain ? applied(op, key) && resOf(op) < write.inv : mayHaveApplied(op, key) && op.inv < resOf(write)) &&
      write.now < markKeepUntil(history, op) &&
      !(certain && unpinnedBetween(history, markOf(op, key), op.inv, resOf(write)));
    if (applied(write, key)) {
      const newer = earlier.find((op) => inForce(op, true));
      if (newer !== undefined) {
        out.push({
          rule: "source-time",
          ops: [write.id, newer.id],
          message: `${write.kind} of ${key} with source time ${s} applied after op ${newer.id} (${newer.kind}, source time ${newer.sourceTime}) answered`,
        });
      }
    } else if (write.status === 409 || (write.kind === "purge" && (write.superseded ?? []).includes(key))) {
      if (!earlier.some((op) => inForce(op, false)) && !overtaken(history, write, key)) {
        out.push({ rule: "source-time", ops: [write.id], message: `${write.kind} of ${key} with source time ${s} refused as superseded, but no newer mark could be in force` });
      }
    }
  }
}

/**
 * A media PUT another write of its key overtook: docs/admin-api.md — an `s3_files:` PUT answers
 * 409 when a DELETE, purge or PUT of the key reached its shield while its bytes uploaded (nothing
 * applied), whatever their source times. Any write of the key that overlapped it may have.
 */
function overtaken(history: History, write: WriteOp, key: string): boolean {
  return (
    write.kind === "put" &&
    history.media.includes(key) &&
    history.ops.some((op) => isWrite(op) && op.id !== write.id && touches(op, key) && op.status !== 400 && op.inv < resOf(write) && resOf(op) > write.inv)
  );
}

/** Statuses a rule allows for admin writes: applied, superseded, storage unavailable (nothing applied). */
const WRITE_STATUSES = new Set([200, 204, 409, 503]);

export function checkHistory(history: History): Violation[] {
  const out: Violation[] = [];
  for (const op of history.ops) {
    if (op.kind === "read") checkRead(history, op, out);
    if (isWrite(op)) {
      if (op.status !== undefined && !WRITE_STATUSES.has(op.status)) {
        out.push({ rule: "status", ops: [op.id], message: `${op.kind} answered ${op.status}` });
      }
      checkSourceTimes(history, op, out);
    }
  }
  return out;
}

/**
 * After the history: once every bound and expiry has passed, each isolate's read of a key must
 * give what the origin holds (its value, or "no such value").
 */
export function checkConvergence(history: History, finalReads: ReadOp[]): Violation[] {
  const out: Violation[] = [];
  for (const read of finalReads) {
    const answer = read.answer;
    const origin = history.ops.filter((op): op is Extract<Op, { kind: "origin" }> => op.kind === "origin" && op.key === read.key).at(-1);
    if (origin === undefined || answer === undefined) continue;
    const expected = origin.state === "absent" ? "absent" : origin.state.version;
    const got = answer.kind === "value" ? answer.version : answer.kind === "absent" ? "absent" : `${answer.kind}`;
    if (got !== expected) out.push({ rule: "converged", ops: [read.id, origin.id], message: `${read.key} in ${read.isolate}: ${got}, the origin holds ${expected}` });
  }
  return out;
}

/** One line per violation, for a failure message. */
export function describeViolations(history: History, violations: Violation[]): string {
  return violations
    .map((v) => `${v.rule}: ${v.message}\n${v.ops.map((id) => `    #${id} ${JSON.stringify(history.ops[id])}`).join("\n")}`)
    .join("\n");
}
