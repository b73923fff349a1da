/**
 * Runs a generated history against the real Worker (docs/reliability.md "Consistency"): three
 * simulated isolates in two colos (each isolate its own L0, each colo its own Cache API; KV, R2
 * and the family shields shared, as in production), in the production configuration (the shield
 * bound, L0 on), with the dev origin over real HTTP. Every request goes through the Worker's own
 * fetch and is recorded as the client saw it; the checker (./checker.ts) judges the record.
 *
 * The steps (fast-check commands, so a failure shrinks to a minimal history and prints its seed)
 * launch requests without waiting for them, change the origin, move the clock, arm faults, hold
 * and release calls (origin gates, shield commits, colo back-fills), and wait for a launched
 * request. Which interleavings happen is decided by these steps — that is what replaying a seed
 * repeats; the simulators' own timing is not.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { encodeTranscript } from "../../dev/origin/encode/u64";
import { shieldNameFor } from "../../src/shield";
import { parseKey } from "../../src/keys";
import { clearFault, devControl, fillCount, gateOrigin, setFault, setOriginAbsent, setOriginValue, type OriginGate } from "../helpers/dev-origin";
import { resetShield, wrapShieldStorage } from "../helpers/shield-seams";
import { adminToken } from "../helpers/tokens";
import { createIsolate } from "../../src/isolate";
import { callWorker, productionEnv } from "../helpers/worker";
import { resourceToken } from "../routes/helpers";
import { checkConvergence, checkHistory, type Violation } from "./checker";
import type { History, Op, OriginState, PurgeSelector, ReadAnswer, ReadOp, Settings, Tier } from "./model";
import {
  countInjected,
  createNemesis,
  nemesisCache,
  nemesisKv,
  nemesisShields,
  releaseCachePuts,
  releaseShieldPuts,
  SHIELD_COLO,
  type KvFaultKind,
  type Nemesis,
} from "./nemesis";

const EDGE = "https://edge.test";
const FAMILY = "transcripts:{uid}";
/** Isolate → colo: two isolates share colo A's Cache API; B is another colo (and lags, when told). */
export const ISOLATES = { a1: "A", a2: "A", b1: "B" } as const;
type IsolateName = keyof typeof ISOLATES;
const ISOLATE_NAMES = Object.keys(ISOLATES) as IsolateName[];
/** Keys per history: two under one prefix (a prefix purge covers them), one outside it. */
const KEY_SUFFIXES = ["a0", "a1", "b0"] as const;
/** Each history gets its own stretch of the injected clock, so no mark or generation of an earlier one orders it. */
const HISTORY_CLOCK_SPACING_SECONDS = 100_000;
/** How long a step waits for a launched request before going on (it may be held on purpose). */
const AWAIT_CAP_MS = 800;
/** How long a release waits for a request to reach its gate. */
const GATE_ARRIVAL_WAIT_MS = 250;
/** How long a race waits for its read's fill to reach the origin. */
const FILL_ARRIVAL_WAIT_MS = 300;
/** At the end every request is released; one still unanswered after this is recorded as such. */
const SETTLE_CAP_MS = 15_000;

/** The settings the model relies on, read from the project's bindings (vitest.config.ts pins them for the shields too). */
export function pinnedSettings(): { settings: Settings; overrides: Record<string, string> } {
  const e = env as unknown as Record<string, string | undefined>;
  const read = (name: string): string => {
    const value = e[name];
    if (value === undefined || value === "") throw new Error(`the consistency project must pin ${name} (vitest.config.ts)`);
    return value;
  };
  const names = ["ORIGIN_TIMEOUT_MS", "L0_MAX_BYTES", "L1_CACHE", "L1_MAX_AGE_SECONDS", "STALE_IF_ERROR_SECONDS", "SHIELD_MAX_VALUE_BYTES", "SOURCE_TIME_WINDOW_SECONDS", "COLLAB_MAX_SECONDS", "EDGE_MODE"];
  const overrides = Object.fromEntries(names.map((name) => [name, read(name)]));
  const l1 = Number(overrides.L1_MAX_AGE_SECONDS);
  return {
    overrides: { ...overrides, EDGE_DISABLED_FAMILIES: "" },
    settings: {
      l1MaxAgeSeconds: l1,
      staleIfErrorSeconds: Number(overrides.STALE_IF_ERROR_SECONDS),
      // docs/storage-schema.md "Propagation bound"; the purge answers say the same (checked below).
      visibleWithinSeconds: 60 + l1,
      sourceTimeWindowSeconds: Number(overrides.SOURCE_TIME_WINDOW_SECONDS),
    },
  };
}

/**
 * Origin faults on the values endpoint (docs/origin.md §8): a 500, bytes that fail the codec, half
 * a value, a head later than ORIGIN_TIMEOUT_MS, and a body that stalls half-way for less than it
 * (the answer is made before the stall, so the origin may change and a purge land while its fill
 * still reads it).
 */
type OriginFaultKind = "500" | "garbage" | "truncated" | "timeout" | "stall";
const ORIGIN_FAULTS: Record<OriginFaultKind, Record<string, unknown>> = {
  "500": { kind: "status", status: 500 },
  garbage: { kind: "garbage" },
  truncated: { kind: "truncated" },
  timeout: { kind: "slow", ms: 1000 },
  stall: { kind: "stall", ms: 500 },
};

/** What a step can do; fast-check draws their parameters. */
type Step =
  | { do: "read"; isolate: IsolateName; key: number; refresh: boolean; wait: boolean }
  | { do: "put"; isolate: IsolateName; key: number; ttl: number; big: boolean; wait: boolean; sourceTime?: number }
  | { do: "delete"; isolate: IsolateName; key: number; wait: boolean; sourceTime?: number }
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
  | { do: "shieldDown"; down: boolean }
  | { do: "shieldReset"; key: number }
  /**
   * Races the fill of a read with a write: the read's origin answer is held (a gate) or made and
   * then stalled half-way, the origin may change meanwhile, and the write (a PUT, DELETE or purge
   * from any isolate) lands before the fill finishes; then a read from `after` looks.
   */
  | { do: "race"; key: number; isolate: IsolateName; hold: "gate" | "stall"; originChanges: boolean; write: WriteStep; after: IsolateName }
  /** A back-fill into a colo's Cache API held while an isolate of that colo purges, then released. */
  | { do: "backfillRace"; key: number; reader: IsolateName; purger: IsolateName; purge: "keys" | "family" | "prefix" }
  /**
   * A family purge of a key whose KV value another colo already deleted: the purging isolate's
   * own copies (L0, its colo's L1) are not on any KV page, so only the generation reaches them.
   */
  | { do: "purgeAfterRemoteDelete"; key: number; reader: IsolateName }
  /** Two writes of one key in a row, each with its own source time (often inverted). */
  | { do: "writePair"; key: number; first: WriteStep; second: WriteStep };

/** A write inside a composite step. */
type WriteStep = { kind: "put" | "delete" | "purge-keys" | "purge-family" | "purge-prefix"; isolate: IsolateName; ttl: number; big: boolean; sourceTime?: number };

const isolate = fc.constantFrom(...ISOLATE_NAMES);
const keyIndex = fc.nat({ max: KEY_SUFFIXES.length - 1 });
/** Lifetimes the origin and PUTs give values: some outlive a clock step, some do not. */
const ttl = fc.constantFrom(20, 45, 120, 600);
/** Source times relative to the clock (≤ 60 s ahead is accepted), often inverted between writes; none half of the time. */
/** Whether the step waits for its request's answer (a sequential step) or goes on at once (concurrent ones). */
const wait = fc.boolean();
const sourceTime = fc.option(fc.constantFrom(-40, -20, -10, -1, 0, 5, 30), { nil: undefined, freq: 2 });

const writeStep: fc.Arbitrary<WriteStep> = fc.record(
  {
    kind: fc.constantFrom("put" as const, "delete" as const, "purge-keys" as const, "purge-family" as const, "purge-prefix" as const),
    isolate,
    ttl,
    big: fc.boolean(),
    sourceTime,
  },
  { requiredKeys: ["kind", "isolate", "ttl", "big"] },
);

const compositeArbitraries: fc.Arbitrary<Step>[] = [
  fc.record({
    do: fc.constant("race" as const),
    key: keyIndex,
    isolate,
    hold: fc.constantFrom("gate" as const, "stall" as const),
    originChanges: fc.boolean(),
    write: writeStep,
    after: isolate,
  }),
  fc.record({
    do: fc.constant("backfillRace" as const),
    key: keyIndex,
    reader: isolate,
    purger: isolate,
    purge: fc.constantFrom("keys" as const, "family" as const, "prefix" as const),
  }),
  fc.record({ do: fc.constant("writePair" as const), key: keyIndex, first: writeStep, second: writeStep }),
  fc.record({ do: fc.constant("purgeAfterRemoteDelete" as const), key: keyIndex, reader: isolate }),
];

const stepArbitraries: fc.Arbitrary<Step>[] = [
  ...compositeArbitraries,
  ...compositeArbitraries,
  fc.record({ do: fc.constant("read" as const), isolate, key: keyIndex, refresh: fc.boolean(), wait }),
  fc.record({ do: fc.constant("read" as const), isolate, key: keyIndex, refresh: fc.constant(false), wait }),
  fc.record({ do: fc.constant("read" as const), isolate, key: keyIndex, refresh: fc.constant(false), wait }),
  fc.record({ do: fc.constant("put" as const), isolate, key: keyIndex, ttl, big: fc.boolean(), wait, sourceTime }, { requiredKeys: ["do", "isolate", "key", "ttl", "big", "wait"] }),
  fc.record({ do: fc.constant("delete" as const), isolate, key: keyIndex, wait, sourceTime }, { requiredKeys: ["do", "isolate", "key", "wait"] }),
  fc.record(
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
  fc.record({ do: fc.constant("origin" as const), key: keyIndex, ttl, big: fc.boolean() }),
  fc.record({ do: fc.constant("origin" as const), key: keyIndex, ttl, big: fc.boolean() }),
  fc.record({ do: fc.constant("originAbsent" as const), key: keyIndex }),
  fc.record({ do: fc.constant("advance" as const), seconds: fc.constantFrom(1, 5, 15, 31, 61, 95, 130, 320) }),
  fc.record({ do: fc.constant("await" as const), index: fc.nat({ max: 50 }) }),
  fc.record({ do: fc.constant("await" as const), index: fc.nat({ max: 50 }) }),
  fc.record({ do: fc.constant("yield" as const), ms: fc.constantFrom(1, 10, 40) }),
  fc.record({ do: fc.constant("gate" as const), key: keyIndex, times: fc.constantFrom(1, 2) }),
  fc.record({ do: fc.constant("release" as const), key: keyIndex }),
  fc.record({ do: fc.constant("release" as const), key: keyIndex }),
  fc.record({ do: fc.constant("originFault" as const), key: keyIndex, fault: fc.constantFrom<OriginFaultKind>("500", "garbage", "truncated", "500", "timeout"), times: fc.constantFrom(1, 2, 4) }),
  fc.record({ do: fc.constant("originFault" as const), key: keyIndex, fault: fc.constant<OriginFaultKind>("stall"), times: fc.constant(1) }),
  fc.record({ do: fc.constant("kvFault" as const), shield: fc.boolean(), kind: fc.constantFrom<KvFaultKind>("get", "put", "put429", "delete"), times: fc.constantFrom(1, 2) }),
  fc.record({ do: fc.constant("kvLag" as const), seconds: fc.constantFrom(0, 20, 60) }),
  fc.record({ do: fc.constant("holdBackfills" as const), colo: fc.constantFrom("A" as const, "B" as const) }),
  fc.record({ do: fc.constant("releaseBackfills" as const), colo: fc.constantFrom("A" as const, "B" as const) }),
  fc.record({ do: fc.constant("holdCommits" as const) }),
  fc.record({ do: fc.constant("releaseCommits" as const) }),
  fc.record({ do: fc.constant("cacheFault" as const), colo: fc.constantFrom("A" as const, "B" as const), times: fc.constantFrom(1, 3) }),
  fc.record({ do: fc.constant("shieldDown" as const), down: fc.boolean() }),
  fc.record({ do: fc.constant("shieldReset" as const), key: keyIndex }),
];

/** The running history: what the steps act on and what they record. */
export interface Run {
  readonly nemesis: Nemesis;
  readonly isolates: Record<IsolateName, { call: (input: string, init: RequestInit, options: { now: number; env: Record<string, unknown> }) => Promise<Response> }>;
  readonly envs: Record<IsolateName, Record<string, unknown>>;
  readonly keys: string[];
  readonly uids: string[];
  readonly prefix: string;
  readonly ops: Op[];
  readonly settings: Settings;
  clock: number;
  seq: number;
  /** Launched requests, in launch order: the op index and its settling promise. */
  readonly launched: { id: number; done: Promise<void> }[];
  readonly versions: number[];
  readonly gates: Map<number, OriginGate[]>;
  /** Origin faults armed, by key: their `fault` ops. */
  readonly faults: Map<number, number[]>;
  /** Background work that must finish before the history is judged. */
  readonly tokens: Map<string, Promise<string>>;
}

class StepCommand implements fc.AsyncCommand<object, Run> {
  constructor(readonly step: Step) {}
  check(): boolean {
    return true;
  }
  async run(_model: object, run: Run): Promise<void> {
    await runStep(run, this.step);
  }
  toString(): string {
    return JSON.stringify(this.step);
  }
}

/** The steps of one history, shrinkable. */
export function historyArbitrary(maxSteps: number): fc.Arbitrary<Iterable<fc.AsyncCommand<object, Run>>> {
  return fc.commands(
    stepArbitraries.map((arbitrary) => arbitrary.map((step) => new StepCommand(step))),
    { maxCommands: maxSteps, size: "max" },
  );
}

const tick = (run: Run): number => run.seq++;

function push<T extends Op>(run: Run, op: Omit<T, "id">): T {
  const full = { ...op, id: run.ops.length } as T;
  run.ops.push(full);
  return full;
}

/** A value of `key`'s family whose body names it and its version (and is over the shield's own limit when `big`). */
function versionBytes(run: Run, key: number, n: number, big: boolean): Uint8Array {
  const uid = run.uids[key] as string;
  const tag = `v|${run.keys[key]}|${n}|${big ? "x".repeat(200) : ""}`;
  return encodeTranscript({ uid, phrases: [{ starts_at: 0, ends_at: 1, phrase: tag }] });
}

const versionName = (run: Run, key: number, n: number): string => `${run.keys[key]}#${n}`;

function token(run: Run, kind: "transcript" | "admin", sub: string, now: number): Promise<string> {
  const id = `${kind}:${sub}:${now}`;
  let made = run.tokens.get(id);
  if (made === undefined) {
    made = kind === "admin" ? adminToken(now) : resourceToken("transcript", sub, now);
    run.tokens.set(id, made);
  }
  return made;
}

function parseCacheStatus(value: string | null): { tier?: Tier; fwdStatus?: number; bypass: boolean } {
  const text = value ?? "";
  const fwdStatus = /fwd-status=(\d+)/.exec(text)?.[1];
  const status = fwdStatus === undefined ? {} : { fwdStatus: Number(fwdStatus) };
  if (text.includes("detail=stale-if-error")) return { tier: "stale", ...status, bypass: false };
  const hit = /hit; detail=(l0|l1|l2)/.exec(text)?.[1] as Tier | undefined;
  if (hit !== undefined) return { tier: hit, bypass: false };
  if (text.includes("fwd=bypass")) return { bypass: true };
  if (/fwd=(miss|request)/.test(text)) return { tier: "miss", ...status, bypass: false };
  return { bypass: false };
}

/** The client's view of a read's answer. */
async function classify(run: Run, key: number, response: Response): Promise<ReadAnswer> {
  const body = await response.text();
  const cache = parseCacheStatus(response.headers.get("Cache-Status"));
  // The edge's own answer for a transcript the origin does not have (src/routes/resource.ts).
  if (response.status === 403 && body.includes('"type":"invalid"')) return { kind: "absent" };
  if (cache.bypass) return { kind: "passthrough", status: response.status };
  if ((response.status === 502 || response.status === 504) && body.includes('"type":"origin_')) return { kind: "error", status: response.status };
  if (response.status !== 200) return { kind: "bad", reason: `status ${response.status}: ${body.slice(0, 120)}` };
  let parsed: { uid?: unknown; phrases?: { phrase?: unknown }[] };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return { kind: "bad", reason: `a body that is not whole JSON (${body.length} bytes)` };
  }
  const tag = typeof parsed.phrases?.[0]?.phrase === "string" ? parsed.phrases[0].phrase : "";
  const [, name, n] = tag.split("|");
  if (parsed.uid !== run.uids[key] || name !== run.keys[key] || n === undefined) {
    return { kind: "bad", reason: `another key's or an unknown value: uid ${String(parsed.uid)}, tag ${tag.slice(0, 80)}` };
  }
  if (cache.tier === undefined) return { kind: "bad", reason: `a value without a Cache-Status the model knows: ${response.headers.get("Cache-Status")}` };
  return { kind: "value", version: `${name}#${n}`, tier: cache.tier, ...(cache.fwdStatus === undefined ? {} : { fwdStatus: cache.fwdStatus }) };
}

/** Starts a request without waiting; its answer is recorded when it arrives. */
function launch(run: Run, op: Op, send: () => Promise<void>): void {
  const done = send()
    .catch((error: unknown) => {
      // A request the Worker let throw is an answer no rule allows.
      if (op.kind === "read") op.answer = { kind: "bad", reason: `threw: ${String(error)}` };
      else if (op.kind === "put" || op.kind === "delete" || op.kind === "purge") op.status = 500;
    })
    .finally(() => {
      op.res = tick(run);
    });
  run.launched.push({ id: op.id, done });
}

async function admin(run: Run, name: IsolateName, now: number, path: string, init: RequestInit & { sourceTime?: number }): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${await token(run, "admin", "ops", now)}`);
  if (init.sourceTime !== undefined) headers.set("X-Edge-Source-Time", String(init.sourceTime));
  return run.isolates[name].call(`${EDGE}/_edge/v1${path}`, { ...init, headers }, { now, env: run.envs[name] });
}

async function read(run: Run, name: IsolateName, key: number, refresh: boolean, now: number): Promise<ReadOp> {
  const op = push<ReadOp>(run, { kind: "read", key: run.keys[key] as string, isolate: name, now, refresh, inv: tick(run) });
  const uid = run.uids[key] as string;
  const headers: Record<string, string> = { authorization: `bearer ${await token(run, "transcript", uid, now)}` };
  if (refresh) headers.Pragma = "no-cache";
  launch(run, op, async () => {
    const response = await run.isolates[name].call(`${EDGE}/api/1/transcripts/${uid}`, { headers }, { now, env: run.envs[name] });
    op.answer = await classify(run, key, response);
  });
  return op;
}

async function runStep(run: Run, step: Step): Promise<void> {
  await applyStep(run, step);
  if ("wait" in step && step.wait) {
    const last = run.launched.at(-1);
    if (last !== undefined) await Promise.race([last.done, sleep(AWAIT_CAP_MS)]);
  }
}

async function applyStep(run: Run, step: Step): Promise<void> {
  const now = run.clock;
  const st = (offset: number | undefined) => (offset === undefined ? {} : { sourceTime: now + offset });
  switch (step.do) {
    case "race": {
      const key = run.keys[step.key] as string;
      let gate: OriginGate | undefined;
      if (step.hold === "gate") gate = await gateOrigin({ key }, 1);
      else await applyStep(run, { do: "originFault", key: step.key, fault: "stall", times: 1 });
      countInjected(run.nemesis, `race (${step.hold})`);
      const fillsBefore = await fillCount(key);
      await read(run, step.isolate, step.key, false, now);
      const reading = run.launched.at(-1)?.done;
      // Let the read's fill reach the origin (or find it needs none: a hit).
      await waitForFill(key, fillsBefore);
      if (step.originChanges) await applyStep(run, { do: "origin", key: step.key, ttl: 600, big: step.write.big });
      await runStep(run, writeOf(step.key, step.write));
      if (gate !== undefined) await gate.close();
      await Promise.race([reading, sleep(AWAIT_CAP_MS)]);
      await runStep(run, { do: "read", isolate: step.after, key: step.key, refresh: false, wait: true });
      return;
    }
    case "backfillRace": {
      // A value only KV holds (written from the other colo, local copies aged out), so the
      // reader's answer comes from KV and back-fills its colo's Cache API...
      const colo = ISOLATES[step.reader];
      const writer = ISOLATE_NAMES.find((name) => ISOLATES[name] !== colo) as IsolateName;
      await runStep(run, { do: "put", isolate: writer, key: step.key, ttl: 600, big: false, wait: true });
      await applyStep(run, { do: "advance", seconds: run.settings.l1MaxAgeSeconds + 1 });
      // ...and that back-fill is held while an isolate of the colo purges the key.
      run.nemesis.holdCachePuts.set(colo, true);
      await runStep(run, { do: "read", isolate: step.reader, key: step.key, refresh: false, wait: false });
      const reading = run.launched.at(-1)?.done;
      await sleep(60);
      await runStep(run, { do: "purge", isolate: step.purger, selector: step.purge, keys: [step.key], wait: true });
      run.nemesis.holdCachePuts.set(colo, false);
      releaseCachePuts(run.nemesis, colo);
      await Promise.race([reading, sleep(AWAIT_CAP_MS)]);
      await runStep(run, { do: "read", isolate: step.purger, key: step.key, refresh: false, wait: true });
      return;
    }
    case "purgeAfterRemoteDelete": {
      const remover = ISOLATE_NAMES.find((name) => ISOLATES[name] !== ISOLATES[step.reader]) as IsolateName;
      await runStep(run, { do: "read", isolate: step.reader, key: step.key, refresh: false, wait: true });
      await runStep(run, { do: "delete", isolate: remover, key: step.key, wait: true });
      // The origin moves on (as when the relay deletes), so the old value cannot be filled anew.
      await applyStep(run, { do: "origin", key: step.key, ttl: 600, big: false });
      await runStep(run, { do: "purge", isolate: step.reader, selector: "family", keys: [step.key], wait: true });
      await runStep(run, { do: "read", isolate: step.reader, key: step.key, refresh: false, wait: true });
      return;
    }
    case "writePair":
      await runStep(run, writeOf(step.key, step.first, true));
      await runStep(run, writeOf(step.key, step.second, true));
      await runStep(run, { do: "read", isolate: step.second.isolate, key: step.key, refresh: false, wait: true });
      return;
    case "read":
      await read(run, step.isolate, step.key, step.refresh, now);
      return;
    case "put": {
      const n = ++run.versions[step.key]!;
      const expiresAt = now + step.ttl;
      const op = push<Extract<Op, { kind: "put" }>>(run, {
        kind: "put",
        key: run.keys[step.key] as string,
        isolate: step.isolate,
        now,
        version: versionName(run, step.key, n),
        expiresAt,
        ...st(step.sourceTime),
        inv: tick(run),
      });
      const body = versionBytes(run, step.key, n, step.big);
      launch(run, op, async () => {
        const response = await admin(run, step.isolate, now, `/keys/${encodeURIComponent(op.key)}`, {
          method: "PUT",
          body,
          headers: { "X-Edge-Expires-At": String(expiresAt) },
          ...st(step.sourceTime),
        });
        op.status = response.status;
      });
      return;
    }
    case "delete": {
      const op = push<Extract<Op, { kind: "delete" }>>(run, { kind: "delete", key: run.keys[step.key] as string, isolate: step.isolate, now, ...st(step.sourceTime), inv: tick(run) });
      launch(run, op, async () => {
        const response = await admin(run, step.isolate, now, `/keys/${encodeURIComponent(op.key)}`, { method: "DELETE", ...st(step.sourceTime) });
        op.status = response.status;
      });
      return;
    }
    case "purge": {
      const keys = step.keys.map((i) => run.keys[i] as string);
      const selector: PurgeSelector =
        step.selector === "keys" ? { keys } : step.selector === "family" ? { family: FAMILY } : { prefix: run.prefix };
      const covers = step.selector === "keys" ? keys : step.selector === "family" ? [...run.keys] : run.keys.filter((key) => key.startsWith(run.prefix));
      const op = push<Extract<Op, { kind: "purge" }>>(run, { kind: "purge", selector, covers, isolate: step.isolate, now, ...st(step.sourceTime), inv: tick(run) });
      launch(run, op, async () => {
        let cursor: string | null = null;
        do {
          const response = await admin(run, step.isolate, now, "/purge", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify(cursor === null ? selector : { ...selector, cursor }),
            ...st(step.sourceTime),
          });
          op.status = response.status;
          if (response.status !== 200) return;
          const answer = (await response.json()) as { cursor: string | null; superseded?: string[]; visibleWithinSeconds: number };
          if (answer.visibleWithinSeconds !== run.settings.visibleWithinSeconds) {
            throw new Error(`purge says visibleWithinSeconds ${answer.visibleWithinSeconds}, the model ${run.settings.visibleWithinSeconds}`);
          }
          if (answer.superseded !== undefined) op.superseded = answer.superseded;
          cursor = answer.cursor;
        } while (cursor !== null);
      });
      return;
    }
    case "origin":
    case "originAbsent": {
      const n = step.do === "origin" ? ++run.versions[step.key]! : 0;
      const state: OriginState = step.do === "origin" ? { version: versionName(run, step.key, n), expiresAt: now + step.ttl } : "absent";
      const op = push<Extract<Op, { kind: "origin" }>>(run, { kind: "origin", key: run.keys[step.key] as string, state, inv: tick(run) });
      if (state === "absent") await setOriginAbsent(op.key);
      else await setOriginValue(op.key, versionBytes(run, step.key, n, step.do === "origin" && step.big), { expiresAt: state.expiresAt });
      op.res = tick(run);
      return;
    }
    case "advance":
      run.clock += step.seconds;
      push<Extract<Op, { kind: "clock" }>>(run, { kind: "clock", to: run.clock, inv: tick(run), res: tick(run) });
      return;
    case "await": {
      const target = run.launched[step.index % Math.max(1, run.launched.length)];
      if (target !== undefined) await Promise.race([target.done, sleep(AWAIT_CAP_MS)]);
      return;
    }
    case "yield":
      await sleep(step.ms);
      return;
    case "gate": {
      const gate = await gateOrigin({ key: run.keys[step.key] as string }, step.times);
      run.gates.set(step.key, [...(run.gates.get(step.key) ?? []), gate]);
      countInjected(run.nemesis, "origin gate");
      return;
    }
    case "release": {
      const gate = run.gates.get(step.key)?.[0];
      if (gate === undefined) return;
      const state = await gate.state();
      // Wait a moment for a request to reach the gate, then let the oldest held one go.
      await devControl(`/__dev/gates/${gate.id}?arrived=${state.released + 1}&waitMs=${GATE_ARRIVAL_WAIT_MS}`);
      const after = await gate.release(1);
      if (after.remaining === 0 && after.held === 0) {
        run.gates.get(step.key)?.shift();
        await gate.close();
      }
      return;
    }
    case "originFault": {
      const key = run.keys[step.key] as string;
      const fault = ORIGIN_FAULTS[step.fault];
      const op = push<Extract<Op, { kind: "fault" }>>(run, { kind: "fault", key, fault: step.fault, inv: tick(run) });
      await setFault(key, fault, step.times);
      op.res = tick(run);
      run.faults.set(step.key, [...(run.faults.get(step.key) ?? []), op.id]);
      countInjected(run.nemesis, `origin ${step.fault}`);
      return;
    }
    case "kvFault":
      (step.shield ? run.nemesis.shieldKvFaults : run.nemesis.workerKvFaults).left[step.kind] += step.times;
      return;
    case "kvLag":
      run.nemesis.lagSeconds.set("B", step.seconds);
      run.nemesis.maxLagSeconds.set("B", Math.max(run.nemesis.maxLagSeconds.get("B") ?? 0, step.seconds));
      return;
    case "holdBackfills":
      run.nemesis.holdCachePuts.set(step.colo, true);
      return;
    case "releaseBackfills":
      run.nemesis.holdCachePuts.set(step.colo, false);
      releaseCachePuts(run.nemesis, step.colo);
      return;
    case "holdCommits":
      run.nemesis.holdShieldPuts = true;
      return;
    case "releaseCommits":
      run.nemesis.holdShieldPuts = false;
      releaseShieldPuts(run.nemesis);
      return;
    case "cacheFault":
      run.nemesis.cacheFaults.set(step.colo, (run.nemesis.cacheFaults.get(step.colo) ?? 0) + step.times);
      return;
    case "shieldDown":
      run.nemesis.shieldDown = step.down;
      return;
    case "shieldReset": {
      const parsed = parseKey(run.keys[step.key] as string);
      if (!parsed.ok) throw new Error(parsed.failure.message);
      const namespace = (env as unknown as { FAMILY_SHIELD: DurableObjectNamespace }).FAMILY_SHIELD;
      const shards = Number((env as unknown as { SHIELD_SHARDS?: string }).SHIELD_SHARDS ?? "16");
      await resetShield(namespace.get(namespace.idFromName(shieldNameFor(parsed.value.family, parsed.value.key, shards))));
      countInjected(run.nemesis, "shield reset");
      return;
    }
  }
}

/** The plain step a composite step's write stands for. */
function writeOf(key: number, write: WriteStep, wait = true): Step {
  const common = { isolate: write.isolate, wait, ...(write.sourceTime === undefined ? {} : { sourceTime: write.sourceTime }) };
  switch (write.kind) {
    case "put":
      return { do: "put", key, ttl: write.ttl, big: write.big, ...common };
    case "delete":
      return { do: "delete", key, ...common };
    case "purge-keys":
      return { do: "purge", selector: "keys", keys: [key], ...common };
    case "purge-family":
      return { do: "purge", selector: "family", keys: [key], ...common };
    case "purge-prefix":
      return { do: "purge", selector: "prefix", keys: [key], ...common };
  }
}

/** Waits (briefly) until the origin saw one more values request for `key` than `before`. */
async function waitForFill(key: string, before: number): Promise<void> {
  const until = Date.now() + FILL_ARRIVAL_WAIT_MS;
  while (Date.now() < until && (await fillCount(key)) <= before) await sleep(5);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let histories = 0;

/** Makes a fresh history's world: keys, isolates, the nemesis around the real bindings, the origin's first values. */
export async function startRun(): Promise<{ run: Run; restore: () => void }> {
  const { settings, overrides } = pinnedSettings();
  histories += 1;
  const id = `${Date.now().toString(36)}${histories.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const uids = KEY_SUFFIXES.map((suffix) => `oseh_t_c${id}${suffix}`);
  const keys = uids.map((uid) => `transcripts:${uid}`);
  const clock = Math.floor(Date.now() / 1000) + histories * HISTORY_CLOCK_SPACING_SECONDS;
  const holder = { clock };
  const nemesis = createNemesis(() => holder.clock);
  const realKv = (env as unknown as { CACHE: KVNamespace }).CACHE;
  const realShields = (env as unknown as { FAMILY_SHIELD: object }).FAMILY_SHIELD;
  const generationKey = `_edge:gen:${FAMILY}`;
  for (const key of keys) {
    nemesis.tracked.add(key);
    nemesis.before.set(key, null);
  }
  nemesis.tracked.add(generationKey);
  const generation = await realKv.get(generationKey, "arrayBuffer");
  nemesis.before.set(generationKey, generation === null ? null : { bytes: new Uint8Array(generation), metadata: null });
  const restore = wrapShieldStorage({ kv: (real) => nemesisKv(nemesis, real, SHIELD_COLO, { shield: true }) });

  const isolates = {} as Run["isolates"];
  const envs = {} as Record<IsolateName, Record<string, unknown>>;
  const coloCaches = new Map<string, Cache>();
  const coloKv = new Map<string, KVNamespace>();
  for (const name of ISOLATE_NAMES) {
    const colo = ISOLATES[name];
    // Each simulated isolate its own Worker state; each colo its own Cache API and KV view.
    if (!coloCaches.has(colo)) coloCaches.set(colo, nemesisCache(nemesis, await caches.open(`consistency-${colo}`), colo));
    if (!coloKv.has(colo)) coloKv.set(colo, nemesisKv(nemesis, realKv, colo));
    const own = createIsolate();
    const cache = coloCaches.get(colo) as Cache;
    isolates[name] = { call: (input, init, options) => callWorker(input, init, { ...options, isolate: own, colo: cache }) };
    envs[name] = productionEnv({ ...overrides, CACHE: coloKv.get(colo), FAMILY_SHIELD: nemesisShields(nemesis, realShields) });
  }
  const run: Run = {
    nemesis,
    isolates,
    envs,
    keys,
    uids,
    prefix: `transcripts:oseh_t_c${id}a`,
    ops: [],
    settings,
    get clock() {
      return holder.clock;
    },
    set clock(value: number) {
      holder.clock = value;
    },
    seq: 0,
    launched: [],
    versions: keys.map(() => 0),
    gates: new Map(),
    faults: new Map(),
    tokens: new Map(),
  };
  // Every key starts with a value at the origin: version 0... as a fresh origin change.
  for (let key = 0; key < keys.length; key += 1) await runStep(run, { do: "origin", key, ttl: 600, big: key === 0 });
  return { run, restore };
}

/** Ends the nemesis, releases everything held, waits for every request, and reads every key everywhere twice. */
export async function finishRun(run: Run): Promise<ReadOp[]> {
  const { nemesis } = run;
  nemesis.shieldDown = false;
  nemesis.lagSeconds.clear();
  for (const faults of [nemesis.workerKvFaults, nemesis.shieldKvFaults]) for (const kind of Object.keys(faults.left) as KvFaultKind[]) faults.left[kind] = 0;
  nemesis.cacheFaults.clear();
  nemesis.holdShieldPuts = false;
  releaseShieldPuts(nemesis);
  for (const colo of ["A", "B"]) {
    nemesis.holdCachePuts.set(colo, false);
    releaseCachePuts(nemesis, colo);
  }
  for (const gates of run.gates.values()) for (const gate of gates) await gate.close();
  run.gates.clear();
  for (const [key, ids] of run.faults) {
    await clearFault(run.keys[key] as string);
    const at = tick(run);
    for (const id of ids) {
      const op = run.ops[id];
      if (op?.kind === "fault") op.until = at;
    }
  }
  await Promise.race([Promise.allSettled(run.launched.map((l) => l.done)), sleep(SETTLE_CAP_MS)]);

  // Once the purge bound has passed, every isolate's read is judged by the same rules...
  run.clock += run.settings.visibleWithinSeconds + 1;
  push<Extract<Op, { kind: "clock" }>>(run, { kind: "clock", to: run.clock, inv: tick(run), res: tick(run) });
  for (const name of ISOLATE_NAMES) {
    for (let key = 0; key < run.keys.length; key += 1) {
      await read(run, name, key, false, run.clock);
      await run.launched.at(-1)?.done;
    }
  }
  // ...and once every value has expired and its stale window passed, each must be the origin's.
  const latest = Math.max(...run.ops.map((op) => (op.kind === "put" ? op.expiresAt : op.kind === "origin" && op.state !== "absent" ? op.state.expiresAt : 0)));
  run.clock = Math.max(run.clock, latest) + run.settings.staleIfErrorSeconds + run.settings.visibleWithinSeconds + 1;
  push<Extract<Op, { kind: "clock" }>>(run, { kind: "clock", to: run.clock, inv: tick(run), res: tick(run) });
  const finals: ReadOp[] = [];
  for (const name of ISOLATE_NAMES) {
    for (let key = 0; key < run.keys.length; key += 1) {
      finals.push(await read(run, name, key, false, run.clock));
      await run.launched.at(-1)?.done;
    }
  }
  return finals;
}

export function historyOf(run: Run, startClock: number): History {
  return {
    settings: run.settings,
    isolates: { ...ISOLATES },
    kvLagSeconds: Object.fromEntries(run.nemesis.maxLagSeconds),
    keys: run.keys,
    ops: run.ops,
    startClock,
  };
}

export interface HistoryResult {
  history: History;
  violations: Violation[];
  operations: number;
  injected: Map<string, number>;
}

/** Runs one generated history start to end and judges it. */
export async function runHistory(commands: Iterable<fc.AsyncCommand<object, Run>>): Promise<HistoryResult> {
  const { run, restore } = await startRun();
  const startClock = run.clock;
  try {
    await fc.asyncModelRun(() => ({ model: {}, real: run }), commands);
    const finals = await finishRun(run);
    const history = historyOf(run, startClock);
    const violations = [...checkHistory(history), ...checkConvergence(history, finals)];
    const operations = run.ops.filter((op) => op.kind !== "clock").length;
    return { history, violations, operations, injected: run.nemesis.injected };
  } finally {
    restore();
  }
}
