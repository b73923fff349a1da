/**
 * The checker itself, on hand-made histories (./checker.ts): for each rule one history it
 * allows and one it refuses, so a rule that never fires (or always does) shows here first.
 */
import { describe, expect, it } from "vitest";
import { checkConvergence, checkHistory, type Rule } from "./checker";
import type { History, Op, ReadAnswer } from "./model";

const K = "transcripts:oseh_t_k";
const T0 = 1_000_000;

/** A history built step by step; each op takes the next seqs in order unless told. */
function history() {
  const ops: Op[] = [];
  let seq = 0;
  const h: History = {
    settings: { l1MaxAgeSeconds: 30, staleIfErrorSeconds: 300, visibleWithinSeconds: 90, sourceTimeWindowSeconds: 3600 },
    isolates: { a1: "A", a2: "A", b1: "B" },
    kvLagSeconds: {},
    keys: [K],
    media: [],
    ops,
    startClock: T0,
  };
  const add = (op: Omit<Op, "id" | "inv" | "res">, timing: { inv?: number; res?: number } = {}): Op => {
    const inv = timing.inv ?? seq++;
    const res = timing.res ?? seq++;
    const full = { ...op, id: ops.length, inv, res } as Op;
    ops.push(full);
    return full;
  };
  const api = {
    h,
    origin: (version: string | "absent", expiresAt = T0 + 600) =>
      add({ kind: "origin", key: K, state: version === "absent" ? "absent" : { version, expiresAt } } as Omit<Op, "id" | "inv" | "res">),
    read: (isolate: string, now: number, answer: ReadAnswer, timing?: { inv?: number; res?: number }) =>
      add({ kind: "read", key: K, isolate, now, refresh: false, answer } as Omit<Op, "id" | "inv" | "res">, timing),
    put: (isolate: string, now: number, version: string, status = 204, sourceTime?: number, timing?: { inv?: number; res?: number }) =>
      add({ kind: "put", key: K, isolate, now, version, expiresAt: now + 600, status, ...(sourceTime === undefined ? {} : { sourceTime }) } as Omit<Op, "id" | "inv" | "res">, timing),
    del: (isolate: string, now: number, status = 204, sourceTime?: number) =>
      add({ kind: "delete", key: K, isolate, now, status, ...(sourceTime === undefined ? {} : { sourceTime }) } as Omit<Op, "id" | "inv" | "res">),
    purgeKeys: (isolate: string, now: number, sourceTime?: number, timing?: { inv?: number; res?: number }) =>
      add({ kind: "purge", selector: { keys: [K] }, covers: [K], isolate, now, status: 200, superseded: [], ...(sourceTime === undefined ? {} : { sourceTime }) } as Omit<Op, "id" | "inv" | "res">, timing),
    add503Purge: (isolate: string, now: number) =>
      add({ kind: "purge", selector: { keys: [K] }, covers: [K], isolate, now, status: 503 } as Omit<Op, "id" | "inv" | "res">),
    fault: (until?: number) => add({ kind: "fault", key: K, fault: "500", ...(until === undefined ? {} : { until }) } as Omit<Op, "id" | "inv" | "res">),
    clock: (to: number) => add({ kind: "clock", to } as Omit<Op, "id" | "inv" | "res">),
    seq: () => seq,
  };
  return api;
}

const value = (version: string, tier: ReadAnswer extends infer A ? (A extends { kind: "value"; tier: infer T } ? T : never) : never, fwdStatus?: number): ReadAnswer => ({
  kind: "value",
  version,
  tier,
  ...(fwdStatus === undefined ? {} : { fwdStatus }),
});

const rules = (h: History): Rule[] => checkHistory(h).map((v) => v.rule);

describe("consistency checker", () => {
  it("whole: a value of the key some writer made passes; another key's or an unknown one does not", () => {
    const ok = history();
    ok.origin(`${K}#0`);
    ok.read("a1", T0, value(`${K}#0`, "miss"));
    expect(rules(ok.h)).toEqual([]);

    const bad = history();
    bad.origin(`${K}#0`);
    bad.read("a1", T0, value(`${K}#7`, "l2"));
    bad.read("a1", T0, { kind: "bad", reason: "a body that is not whole JSON (12 bytes)" });
    expect(rules(bad.h)).toEqual(["whole", "whole"]);
  });

  it("written: a PUT's version is served only after the PUT began, and never a refused PUT's", () => {
    const ok = history();
    ok.origin(`${K}#0`);
    ok.put("a1", T0, `${K}#1`);
    ok.read("b1", T0, value(`${K}#1`, "l2"));
    expect(rules(ok.h)).toEqual([]);

    const bad = history();
    bad.origin(`${K}#0`);
    bad.put("a1", T0, `${K}#1`, 409, T0 - 10);
    bad.read("b1", T0, value(`${K}#1`, "l2"));
    expect(rules(bad.h)).toContain("written");
  });

  it("fresh: a hit past the version's expiry is refused; the origin's own answer past it is allowed", () => {
    const ok = history();
    ok.origin(`${K}#0`, T0 + 10);
    ok.clock(T0 + 20);
    ok.read("a1", T0 + 20, value(`${K}#0`, "miss"));
    expect(rules(ok.h)).toEqual([]);

    const bad = history();
    bad.origin(`${K}#0`, T0 + 10);
    bad.clock(T0 + 20);
    bad.read("a1", T0 + 20, value(`${K}#0`, "l2"));
    expect(rules(bad.h)).toEqual(["fresh"]);
  });

  it("invalidation: after a purge answered, the purging isolate never serves the old copy; another colo may until the tier's delay passed", () => {
    const ok = history();
    ok.origin(`${K}#0`);
    ok.read("a1", T0, value(`${K}#0`, "miss"));
    ok.origin(`${K}#1`);
    ok.purgeKeys("a1", T0);
    ok.read("b1", T0 + 10, value(`${K}#0`, "l1")); // B's L1 copy, within L1_MAX_AGE_SECONDS
    ok.read("a1", T0, value(`${K}#1`, "miss"));
    expect(rules(ok.h)).toEqual([]);

    const bad = history();
    bad.origin(`${K}#0`);
    bad.read("a1", T0, value(`${K}#0`, "miss"));
    bad.origin(`${K}#1`);
    bad.purgeKeys("a1", T0);
    bad.read("a1", T0, value(`${K}#0`, "l1")); // the purging isolate, at once
    bad.read("b1", T0 + 31, value(`${K}#0`, "l1")); // another colo, past the L1 bound
    bad.read("b1", T0 + 31, value(`${K}#0`, "l2")); // KV, with no lag, at once
    expect(rules(bad.h)).toEqual(["invalidation", "invalidation", "invalidation"]);
  });

  it("media: a copy hangs off the R2 pointer, so a purge binds every isolate at once — except a fill that asked the origin before it landed", () => {
    // docs/storage-schema.md §R2 "Publishing": a fill's lease starts at its answer's head, so a
    // purge within that one origin round trip does not stop it publishing what the origin gave it.
    const ok = history();
    ok.h.media = [K];
    ok.origin(`${K}#0`);
    ok.read("a1", T0, value(`${K}#0`, "miss"), { inv: ok.seq(), res: ok.seq() + 7 });
    ok.origin(`${K}#1`);
    ok.purgeKeys("a2", T0);
    ok.read("b1", T0, value(`${K}#0`, "r2"));
    expect(rules(ok.h)).toEqual([]);

    const bad = history();
    bad.h.media = [K];
    bad.origin(`${K}#0`);
    bad.read("a1", T0, value(`${K}#0`, "miss"));
    bad.origin(`${K}#1`);
    bad.purgeKeys("a2", T0);
    // Another colo, no clock passed: a transcript's L1 copy would still be allowed there; a media one is not.
    bad.read("b1", T0, value(`${K}#0`, "l1"));
    expect(rules(bad.h)).toEqual(["invalidation"]);
  });

  it("invalidation: a version the origin still had after the purge began may be filled and served again", () => {
    const ok = history();
    ok.origin(`${K}#0`);
    ok.purgeKeys("a1", T0);
    ok.read("a1", T0, value(`${K}#0`, "l2"));
    expect(rules(ok.h)).toEqual([]);
  });

  it("stale: only within STALE_IF_ERROR_SECONDS past expiry, and a 502 only with a fault armed", () => {
    const ok = history();
    ok.origin(`${K}#0`, T0 + 10);
    ok.read("a1", T0, value(`${K}#0`, "miss"));
    ok.clock(T0 + 100);
    ok.fault();
    ok.read("a1", T0 + 100, value(`${K}#0`, "stale", 502));
    expect(rules(ok.h)).toEqual([]);

    const bad = history();
    bad.origin(`${K}#0`, T0 + 10);
    bad.read("a1", T0, value(`${K}#0`, "miss"));
    bad.clock(T0 + 400);
    bad.fault();
    bad.read("a1", T0 + 400, value(`${K}#0`, "stale", 502)); // past the bound
    bad.clock(T0 + 100);
    const unfaulted = history();
    unfaulted.origin(`${K}#0`, T0 + 10);
    unfaulted.clock(T0 + 100);
    unfaulted.read("a1", T0 + 100, value(`${K}#0`, "stale", 502)); // no fault armed
    expect(rules(bad.h)).toEqual(["stale"]);
    expect(rules(unfaulted.h)).toEqual(["stale"]);
  });

  it("status: a body broken off after its head only while an origin fault was armed on the key (an origin answer cut short)", () => {
    const broken: ReadAnswer = { kind: "broken", reason: "200: Network connection lost." };
    const ok = history();
    ok.origin(`${K}#0`);
    ok.fault();
    ok.read("a1", T0, broken);
    expect(rules(ok.h)).toEqual([]);

    const unfaulted = history();
    unfaulted.origin(`${K}#0`);
    unfaulted.read("a1", T0, broken);
    const cleared = history();
    cleared.origin(`${K}#0`);
    cleared.fault(cleared.seq() + 1); // cleared before the read began
    cleared.clock(T0);
    cleared.read("a1", T0, broken);
    expect(rules(unfaulted.h)).toEqual(["status"]);
    expect(rules(cleared.h)).toEqual(["status"]);
  });

  it("absent: only while the origin had no value", () => {
    const ok = history();
    ok.origin("absent");
    ok.read("a1", T0, { kind: "absent" });
    expect(rules(ok.h)).toEqual([]);

    const bad = history();
    bad.origin(`${K}#0`);
    bad.read("a1", T0, { kind: "absent" });
    expect(rules(bad.h)).toEqual(["absent"]);
  });

  it("source times: an older write applied after a newer one answered is refused; a 409 needs a newer mark", () => {
    const ok = history();
    ok.origin(`${K}#0`);
    ok.del("a1", T0, 204, T0 - 1);
    ok.put("a1", T0, `${K}#1`, 409, T0 - 20);
    ok.put("a1", T0, `${K}#2`, 204, T0);
    expect(rules(ok.h)).toEqual([]);

    const bad = history();
    bad.origin(`${K}#0`);
    bad.del("a1", T0, 204, T0 - 1);
    bad.put("a1", T0, `${K}#1`, 204, T0 - 20); // older than the tombstone, applied
    bad.del("b1", T0, 409, T0 + 30); // newest of all, refused
    expect(rules(bad.h)).toEqual(["source-time", "source-time"]);
  });

  it("source times: a DELETE answered 503 may have left its mark (repeat the call), a PUT answered 503 left none", () => {
    const ok = history();
    ok.origin(`${K}#0`);
    ok.del("a1", T0, 503, T0 - 40); // its shield applied it; a later step failed
    ok.put("a1", T0, `${K}#1`, 409, T0 - 55);
    expect(rules(ok.h)).toEqual([]);

    const bad = history();
    bad.origin(`${K}#0`);
    bad.put("a1", T0, `${K}#1`, 503, T0 - 40); // nothing applied
    bad.put("a1", T0, `${K}#2`, 409, T0 - 55);
    expect(rules(bad.h)).toEqual(["source-time"]);
  });

  it("source times: an operator's purge (no source time) unpins the key's mark", () => {
    const ok = history();
    ok.origin(`${K}#0`);
    ok.del("a1", T0, 204, T0);
    ok.purgeKeys("b1", T0);
    ok.put("a1", T0, `${K}#1`, 204, T0 - 30);
    expect(rules(ok.h)).toEqual([]);

    // Still in flight when the older write began: it may have unpinned the key first.
    const concurrent = history();
    concurrent.origin(`${K}#0`);
    concurrent.put("a1", T0, `${K}#1`, 204, T0);
    const at = concurrent.seq();
    concurrent.purgeKeys("a1", T0, undefined, { inv: at, res: at + 5 });
    concurrent.clock(T0);
    concurrent.put("a1", T0, `${K}#2`, 204, T0 - 40);
    expect(rules(concurrent.h)).toEqual([]);

    // Answered 503 (its shield applied it; the isolate's own step after failed): it may have
    // unpinned the key, as it may have applied (docs/admin-api.md: repeat the call). Seed
    // 20261207 of round 3, history 53: a KV get failure, then a race's purge first.
    const failed = history();
    failed.origin(`${K}#0`);
    failed.put("a1", T0, `${K}#1`, 204, T0 + 30);
    failed.add503Purge("a1", T0);
    failed.put("a1", T0, `${K}#2`, 204, T0 - 40);
    expect(rules(failed.h)).toEqual([]);

    // Begun only after the older write answered: the mark was in force when it applied.
    const late = history();
    late.origin(`${K}#0`);
    late.put("a1", T0, `${K}#1`, 204, T0);
    late.put("a1", T0, `${K}#2`, 204, T0 - 40);
    late.purgeKeys("a1", T0);
    expect(rules(late.h)).toEqual(["source-time"]);
  });

  it("source times: a media PUT another write of its key overtook during the upload answers 409 (docs/admin-api.md)", () => {
    // Seed 20261207 of round 3, history 53: an operator's purge (no source time) of the media key
    // reached its shield while a PUT with a source time was uploading; the PUT answered 409.
    const overtaken = () => {
      const h = history();
      h.origin(`${K}#0`);
      const at = h.seq();
      h.put("a1", T0, `${K}#1`, 409, T0 - 40, { inv: at, res: at + 3 });
      h.purgeKeys("a1", T0, undefined, { inv: at + 1, res: at + 2 });
      return h;
    };
    const ok = overtaken();
    ok.h.media.push(K);
    expect(rules(ok.h)).toEqual([]);

    // Any other family's PUT is one commit at its shield: only a newer mark refuses it.
    expect(rules(overtaken().h)).toEqual(["source-time"]);

    // A media PUT no write overlapped: nothing overtook it.
    const alone = history();
    alone.h.media.push(K);
    alone.origin(`${K}#0`);
    alone.purgeKeys("a1", T0);
    alone.put("a1", T0, `${K}#1`, 409, T0 - 40);
    expect(rules(alone.h)).toEqual(["source-time"]);
  });

  it("status: a 500 from an admin write is refused", () => {
    const bad = history();
    bad.origin(`${K}#0`);
    bad.put("a1", T0, `${K}#1`, 500);
    expect(rules(bad.h)).toContain("status");
  });

  it("converged: the final reads must give the origin's last state", () => {
    const h = history();
    h.origin(`${K}#0`);
    h.origin(`${K}#1`);
    const good = h.read("a1", T0 + 2000, value(`${K}#1`, "miss"));
    const stale = h.read("b1", T0 + 2000, value(`${K}#0`, "l2"));
    const found = checkConvergence(h.h, [good, stale] as Extract<Op, { kind: "read" }>[]);
    expect(found.map((v) => v.ops[0])).toEqual([stale.id]);
  });
});
