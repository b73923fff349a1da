/**
 * When a stored value stops being fresh (docs/design.md §2 expiry classes), from the family's rule and
 * an injected clock. Pure: `now` in, unix seconds out.
 *
 * Writer-supplied expiry (`X-Edge-Expires-At` on the admin PUT, the values endpoint's header):
 * - `absolute` families take it as the expiry (B #1 copies the Redis hash's `expires_at`);
 * - every other family honours it only to shorten the entry: the result is the earlier of the
 *   writer's time and the family's own rule (for `random`, the rule's maximum, so a relay that
 *   replays the backend's jittered TTL keeps it). A writer can expire an entry early; it can
 *   never make one outlive what the backend would have kept.
 */
import { nextLaMidnight } from "./la-time";
import type { FamilyEntry } from "./types";

export interface ComputeExpiresAtOptions {
  /** Unix seconds from the writer; must be finite and after `now`. */
  writerExpiresAt?: number;
  /** Cap for families with no expiry of their own (`none`: collab, transcripts); config. */
  collabMaxSeconds: number;
  /** Uniform in [0, 1); defaults to Math.random. Injected by tests. */
  random?: () => number;
}

export type ExpiresAtResult = { ok: true; expiresAt: number } | { ok: false; reason: string };

function fail(reason: string): ExpiresAtResult {
  return { ok: false, reason };
}

/** Uniform integer in [min, max], robust to a `random` that returns exactly 1. */
function drawUniformInt(min: number, max: number, random: () => number): number {
  const span = max - min + 1;
  return min + Math.min(span - 1, Math.max(0, Math.floor(random() * span)));
}

/** The unix second at which a value of `family` written at `now` stops being fresh. */
export function computeExpiresAt(family: FamilyEntry, now: number, options: ComputeExpiresAtOptions): ExpiresAtResult {
  if (!Number.isFinite(now)) return fail("now is not a finite number");
  const writer = options.writerExpiresAt;
  if (writer !== undefined && !(Number.isFinite(writer) && writer > now)) {
    return fail(`writer expiry ${String(writer)} must be a finite unix time after now (${now})`);
  }
  const capAt = (ruleExpiresAt: number): ExpiresAtResult => ({
    ok: true,
    expiresAt: writer === undefined ? ruleExpiresAt : Math.min(writer, ruleExpiresAt),
  });

  const expiry = family.expiry;
  switch (expiry.kind) {
    case "fixed":
      return capAt(now + expiry.seconds);
    case "random":
      if (writer !== undefined) return capAt(now + expiry.maxSeconds);
      return capAt(now + drawUniformInt(expiry.minSeconds, expiry.maxSeconds, options.random ?? Math.random));
    case "la-midnight":
      return capAt(nextLaMidnight(now));
    case "absolute":
      return { ok: true, expiresAt: writer ?? now + expiry.fallbackSeconds };
    case "none":
      if (!(Number.isFinite(options.collabMaxSeconds) && options.collabMaxSeconds > 0)) {
        return fail(`collabMaxSeconds must be a positive number, got ${String(options.collabMaxSeconds)}`);
      }
      return capAt(now + options.collabMaxSeconds);
    default:
      return expiry satisfies never;
  }
}

/**
 * `X-Edge-Expires-At` wherever the edge reads it — the origin's values answers (docs/origin.md
 * §3), admin PUTs (docs/admin-api.md): decimal unix seconds, a fraction rounded down, since
 * envelopes hold whole seconds and a value must never outlive what its writer asked. Anything
 * else is malformed.
 */
export function parseExpiresAtHeader(value: string | null | undefined): { ok: true; expiresAt?: number } | { ok: false } {
  if (value === null || value === undefined) return { ok: true };
  const text = value.trim();
  if (!/^\d{1,12}(\.\d+)?$/.test(text)) return { ok: false };
  return { ok: true, expiresAt: Math.floor(Number(text)) };
}
