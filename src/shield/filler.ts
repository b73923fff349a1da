/**
 * The fill after a miss when the family shields are bound (src/cache/filler.ts has the interface
 * and the in-isolate fill): one origin fill per key for the whole edge, ordered with the family's
 * writes (docs/storage-schema.md §Shield, §Ordering). This isolate and colo keep local copies
 * (L0, L1) of what the shield committed or answered from its own storage; a fill that lost to a
 * later write leaves nothing locally either.
 */
import { staysInColo, type FetchFill, type Filler, type Fill, type RefreshOutcome } from "../cache/filler";
import { timed } from "../cache/phases";
import { parseKey } from "../keys";
import { describeError, errorFields, logEvent } from "../log";
import { singleFlight, type InFlight, type TieredStore } from "../storage";
import type { ShieldClient } from "./client";

/**
 * `store` holds this isolate's and colo's copies; `fetchFill` asks the origin from here when the
 * shield cannot be reached (its value is served but stored nowhere, since only the shield may
 * order writes) and for keys anonymous requests name.
 */
export function createShieldFiller(shield: ShieldClient, store: TieredStore, fetchFill: FetchFill, inFlight: InFlight): Filler {
  return {
    async fill(key, family, now, waitUntil, { refresh, store: storable, phases }): Promise<Fill> {
      const unstored = async (): Promise<Fill> => {
        const filled = await timed(phases, "origin", () =>
          singleFlight(inFlight, `unstored-fill:${key}`, () => fetchFill(key, family, now, { refresh }), waitUntil),
        );
        return filled.kind === "value" ? { ...filled, stored: false } : filled;
      };
      // A family that may not be stored must not have the shield store it either.
      if (!storable) return unstored();
      if (family.anonymousKeys !== undefined) {
        // Keys anonymous requests name (docs/security.md §5): asked of the origin from here, so
        // a made-up key costs the shield nothing. Its negative answer (and an `absent`) stays
        // in this colo; a real answer is filled and stored through the shield as any other,
        // so the ordering rule holds for it (one more origin call, on the first miss only).
        const flight = `${refresh ? "anonymous-refresh:" : "anonymous-fill:"}${key}`;
        const probe = await timed(phases, "origin", () => singleFlight(inFlight, flight, () => fetchFill(key, family, now, { refresh }), waitUntil));
        if (probe.kind !== "value") return probe;
        if (staysInColo(family, probe.value)) {
          await store.keepLocal(key, probe.value, now).catch((error: unknown) => {
            logEvent("colo copy not kept", { family: family.name, ...errorFields(error) });
          });
          return { ...probe, stored: false };
        }
      }
      let answer;
      try {
        answer = await timed(phases, "shield", () => shield.fill(key, family, now, refresh));
      } catch (error) {
        // Unreachable or overloaded: the client is still answered, one fill per isolate.
        logEvent("shield unavailable; filling without storing", { family: family.name, ...errorFields(error) });
        return unstored();
      }
      const { fill } = answer;
      if (answer.originMs !== undefined) phases?.add("origin", answer.originMs);
      if (fill.kind !== "value") return fill;
      // The shield's own copy and a committed fill are current: keep them here too.
      if (answer.source === "shield" || answer.committed) await timed(phases, "store", () => store.keepLocal(key, fill.value, now));
      return fill;
    },
    async refreshAhead(key, family, expiresAt, now): Promise<RefreshOutcome> {
      let answer;
      try {
        answer = await shield.refreshAhead(key, family, expiresAt, now);
      } catch (error) {
        // Nothing was refreshed; the value is served until it expires, and the next miss fills it.
        return { kind: "failed", message: `shield unavailable: ${describeError(error)}` };
      }
      if (answer.outcome === "failed") return { kind: "failed", message: answer.message };
      // What the shield committed, or its newer copy: current, so this isolate and colo keep it too.
      if (answer.value !== undefined) {
        await store.keepLocal(key, answer.value, now).catch((error: unknown) => {
          logEvent("colo copy not kept", { family: family.name, ...errorFields(error) });
        });
      }
      return { kind: answer.outcome };
    },
    async forget(key, now) {
      const parsed = parseKey(key);
      if (parsed.ok) await shield.remove(key, parsed.value.family, now);
      await store.forgetLocal(key);
    },
  };
}
