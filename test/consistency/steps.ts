/**
 * The steps a generated history is made of (fast-check draws them; ./harness.ts runs them), and
 * how often each is drawn (docs/reliability.md "Consistency"). Simple steps launch one request,
 * change the origin, move the clock or arm one fault. Composite steps are the races each rule is
 * about, set up so that the rule switched off shows on the wire (test/consistency/mutants.ts):
 *
 * - `race` (the ordering rule): a read that misses everywhere, its fill's origin answer held at
 *   a gate — an answer made *at arrival* (the origin then changes: the fill holds an old
 *   version) or made at release — while a write lands; then every isolate reads.
 * - `writePair` (source times): two writes of a key in a row, each with a source time, the second
 *   mostly older than the first (it must then be refused, 409, or superseded).
 * - `generationRace` (generations): an isolate holds a local copy of a key another colo then
 *   deletes; the isolate purges the family — its pages no longer list the key, so only the new
 *   generation hides its copies — and reads.
 * - `staleRace` (the stale-if-error bound): a value is written, the clock passes its expiry by
 *   less than `STALE_IF_ERROR_SECONDS` and then by more (or by more at once, `beyond`), the
 *   origin failing, and isolates read each time.
 * - `backfillRace`: an L1 back-fill held while an isolate of its colo purges the key.
 * - `refreshRace` (the ordering rule, for refresh ahead: src/cache/refresh-ahead.ts): a value read
 *   in, the clock moved into its last tenth of life and the origin changed; a hit then refreshes
 *   it in the background through its shield, whose origin answer (made at arrival) is held at a
 *   gate while the origin changes again and a write lands; then every isolate reads.
 */
import fc from "fast-check";
import type { KvFaultKind } from "./nemesis";

/** Isolate → colo: two isolates share colo A's Cache API; B is another colo (and lags, when told). */
export const ISOLATES = { a1: "A", a2: "A", b1: "B" } as const;
export type IsolateName = keyof typeof ISOLATES;
export const ISOLATE_NAMES = Object.keys(ISOLATES) as IsolateName[];

/**
 * The subjects of each history, by index (./subjects.ts): three transcripts (the first two under
 * one prefix, so a prefix purge covers them), a media part's object, a journey template.
 */
export const SUBJECT_KINDS = ["transcript", "transcript", "transcript", "media", "template"] as const;
/** Subjects whose values live in KV (L0/L1 copies, generations, back-fills): all but the media object. */
const KV_SUBJECTS = [0, 1, 2, 4];
/** Subjects a hit refreshes ahead: the transcripts (no expiry of their own; the origin's caps them). */
const REFRESHING_SUBJECTS = [0, 1, 2];

/**
 * Origin faults on the values endpoint (docs/origin.md §8): a 500, bytes that fail the codec, half
 * a value, a head later than ORIGIN_TIMEOUT_MS, and a body that stalls half-way for less than it
 * (the answer is made before the stall, so the origin may change and a purge land while its fill
 * still reads it).
 */
export type OriginFaultKind = "500" | "garbage" | "truncated" | "timeout" | "stall";

/** A write inside a composite step. */
export type WriteStep = { kind: "put" | "delete" | "purge-keys" | "purge-family" | "purge-prefix"; isolate: IsolateName; ttl: number; big: boolean; sourceTime?: number };

export type Step =
  | { do: "read"; isolate: IsolateName; key: number; refresh: boolean; wait: boolean }
  | { do: "put"; isolate: IsolateName; key: number; ttl: number; big: boolean; wait: boolean; sourceTime?: number }
  | { do: "delete"; isolate: IsolateName; key: number; wait: boolean; sourceTime?: number }
  /** `keys`: the subjects named (keys purge), the subject whose family (family purge), or whose prefix (prefix purge). */
  | { do: "purge"; isolate: IsolateName; selector: "keys" | "family" | "prefix"; keys: number[]; wait: boolean; sourceTime?: number }
  | { do: "origin"; key: number; ttl: number; big: boolean }
  | { do: "originAbsent"; key: number }
  | { do: "advance"; seconds: number }
  | { do: "await"; index: number }
  | { do: "yield"; ms: number }
  | { do: "gate"; key: number; times: number }
  | { do: "release"; key: number }
  | { do: "originFault"; key: number; fault: OriginFaultKind; times: number }
  | { do: "kvFault"; shield: boolean; kind: KvFaultKind; times: number }
  | { do: "kvLag"; seconds: number }
  | { do: "holdBackfills"; colo: "A" | "B" }
  | { do: "releaseBackfills"; colo: "A" | "B" }
  | { do: "holdCommits" }
  | { do: "releaseCommits" }
  | { do: "cacheFault"; colo: "A" | "B"; times: number }
  | { do: "shieldDown"; calls: number }
  | { do: "shieldReset"; key: number }
  | { do: "r2Fault"; kind: "put" | "get"; times: number }
  | { do: "race"; key: number; reader: IsolateName; hold: "answer" | "request"; originChanges: boolean; write: WriteStep }
  | { do: "backfillRace"; key: number; reader: IsolateName; purger: IsolateName; purge: "keys" | "family" | "prefix" }
  | { do: "refreshRace"; key: number; reader: IsolateName; originChanges: boolean; write: WriteStep }
  | { do: "generationRace"; key: number; reader: IsolateName; big: boolean }
  | { do: "staleRace"; key: number; source: "put" | "fill"; writer: IsolateName; reader: IsolateName; beyond: boolean }
  | { do: "writePair"; key: number; first: WriteStep; second: WriteStep };

const isolate = fc.constantFrom(...ISOLATE_NAMES);
const keyIndex = fc.nat({ max: SUBJECT_KINDS.length - 1 });
const kvKeyIndex = fc.constantFrom(...KV_SUBJECTS);
/** Lifetimes the origin and PUTs give values: some outlive a clock step, some do not. */
const ttl = fc.constantFrom(20, 45, 120, 600);
/** Whether the step waits for its request's answer (a sequential step) or goes on at once (concurrent ones). */
const wait = fc.boolean();
/** Source times relative to the clock (≤ 60 s ahead is accepted), often inverted between writes; none half of the time. */
const sourceTime = fc.option(fc.constantFrom(-40, -20, -10, -1, 0, 5, 30), { nil: undefined, freq: 2 });

const writeKind = fc.constantFrom<WriteStep["kind"]>("put", "delete", "purge-keys", "purge-family", "purge-prefix");
const writeStep: fc.Arbitrary<WriteStep> = fc.record(
  {
    kind: writeKind,
    isolate,
    ttl,
    big: fc.boolean(),
    sourceTime,
  },
  { requiredKeys: ["kind", "isolate", "ttl", "big"] },
);

/** A write that carries a source time (as the relay sends them). */
const timedWriteStep: fc.Arbitrary<WriteStep> = fc.record({
  kind: writeKind,
  isolate,
  ttl,
  big: fc.boolean(),
  sourceTime: fc.constantFrom(-40, -20, -10, -1, 0, 5, 30),
});
/**
 * The second write of a pair, relative to the first's source time: older (a retried or reordered
 * event, which must lose to the first's mark) three times in four, newer otherwise.
 */
const pairOffset = fc.constantFrom(-15, -5, -1, 10);

/**
 * Every step with its weight. The composite races together are about two fifths of the steps, so
 * each rule's race comes up several times in every CI-sized history (and a rule switched off is
 * caught within the CI budget: consistency.test.ts).
 */
const WEIGHTED: { weight: number; arbitrary: fc.Arbitrary<Step> }[] = [
  {
    weight: 8,
    arbitrary: fc.record({
      do: fc.constant("race" as const),
      key: keyIndex,
      reader: isolate,
      hold: fc.constantFrom("answer" as const, "answer" as const, "request" as const),
      originChanges: fc.constantFrom(true, true, true, false),
      write: writeStep,
    }),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(keyIndex, timedWriteStep, timedWriteStep, pairOffset)
      .map(([key, first, second, offset]): Step => ({ do: "writePair", key, first, second: { ...second, sourceTime: (first.sourceTime as number) + offset } })),
  },
  { weight: 4, arbitrary: fc.record({ do: fc.constant("generationRace" as const), key: kvKeyIndex, reader: isolate, big: fc.boolean() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      do: fc.constant("staleRace" as const),
      key: keyIndex,
      source: fc.constantFrom("put" as const, "fill" as const),
      writer: isolate,
      reader: isolate,
      beyond: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      do: fc.constant("backfillRace" as const),
      key: kvKeyIndex,
      reader: isolate,
      purger: isolate,
      purge: fc.constantFrom("keys" as const, "family" as const, "prefix" as const),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      do: fc.constant("refreshRace" as const),
      key: fc.constantFrom(...REFRESHING_SUBJECTS),
      reader: isolate,
      originChanges: fc.constantFrom(true, true, true, false),
      write: writeStep,
    }),
  },
  { weight: 6, arbitrary: fc.record({ do: fc.constant("read" as const), isolate, key: keyIndex, refresh: fc.constant(false), wait }) },
  { weight: 3, arbitrary: fc.record({ do: fc.constant("read" as const), isolate, key: keyIndex, refresh: fc.boolean(), wait }) },
  { weight: 2, arbitrary: fc.record({ do: fc.constant("put" as const), isolate, key: keyIndex, ttl, big: fc.boolean(), wait, sourceTime }, { requiredKeys: ["do", "isolate", "key", "ttl", "big", "wait"] }) },
  { weight: 1, arbitrary: fc.record({ do: fc.constant("delete" as const), isolate, key: keyIndex, wait, sourceTime }, { requiredKeys: ["do", "isolate", "key", "wait"] }) },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        do: fc.constant("purge" as const),
        isolate,
        selector: fc.constantFrom("keys" as const, "keys" as const, "family" as const, "prefix" as const),
        keys: fc.uniqueArray(keyIndex, { minLength: 1, maxLength: 2 }),
        wait,
        sourceTime,
      },
      { requiredKeys: ["do", "isolate", "selector", "keys", "wait"] },
    ),
  },
  { weight: 3, arbitrary: fc.record({ do: fc.constant("origin" as const), key: keyIndex, ttl, big: fc.boolean() }) },
  // The media object is never absent at the origin: the edge passes such a part through (docs/routes.md).
  { weight: 1, arbitrary: fc.record({ do: fc.constant("originAbsent" as const), key: kvKeyIndex }) },
  { weight: 2, arbitrary: fc.record({ do: fc.constant("advance" as const), seconds: fc.constantFrom(1, 5, 15, 31, 61, 95, 130, 320) }) },
  { weight: 2, arbitrary: fc.record({ do: fc.constant("await" as const), index: fc.nat({ max: 50 }) }) },
  { weight: 1, arbitrary: fc.record({ do: fc.constant("yield" as const), ms: fc.constantFrom(1, 10, 40) }) },
  { weight: 1, arbitrary: fc.record({ do: fc.constant("gate" as const), key: keyIndex, times: fc.constantFrom(1, 2) }) },
  { weight: 2, arbitrary: fc.record({ do: fc.constant("release" as const), key: keyIndex }) },
  { weight: 2, arbitrary: fc.record({ do: fc.constant("originFault" as const), key: keyIndex, fault: fc.constantFrom<OriginFaultKind>("500", "garbage", "truncated", "500", "timeout"), times: fc.constantFrom(1, 2, 4) }) },
  { weight: 1, arbitrary: fc.record({ do: fc.constant("originFault" as const), key: keyIndex, fault: fc.constant<OriginFaultKind>("stall"), times: fc.constant(1) }) },
  { weight: 1, arbitrary: fc.record({ do: fc.constant("kvFault" as const), shield: fc.boolean(), kind: fc.constantFrom<KvFaultKind>("get", "put", "put429", "delete"), times: fc.constantFrom(1, 2) }) },
  { weight: 1, arbitrary: fc.record({ do: fc.constant("kvLag" as const), seconds: fc.constantFrom(0, 20, 60) }) },
  { weight: 1, arbitrary: fc.record({ do: fc.constant("holdBackfills" as const), colo: fc.constantFrom("A" as const, "B" as const) }) },
  { weight: 1, arbitrary: fc.record({ do: fc.constant("releaseBackfills" as const), colo: fc.constantFrom("A" as const, "B" as const) }) },
  { weight: 1, arbitrary: fc.record({ do: fc.constant("holdCommits" as const) }) },
  { weight: 1, arbitrary: fc.record({ do: fc.constant("releaseCommits" as const) }) },
  { weight: 1, arbitrary: fc.record({ do: fc.constant("cacheFault" as const), colo: fc.constantFrom("A" as const, "B" as const), times: fc.constantFrom(1, 3) }) },
  { weight: 1, arbitrary: fc.record({ do: fc.constant("shieldDown" as const), calls: fc.constantFrom(1, 2, 4) }) },
  { weight: 1, arbitrary: fc.record({ do: fc.constant("shieldReset" as const), key: keyIndex }) },
  { weight: 1, arbitrary: fc.record({ do: fc.constant("r2Fault" as const), kind: fc.constantFrom("put" as const, "get" as const), times: fc.constantFrom(1, 2) }) },
];

/** One step, drawn by weight. */
export const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(...WEIGHTED);
