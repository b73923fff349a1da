/**
 * Runs a generated history against the real Worker (docs/reliability.md "Consistency"): three
 * simulated isolates in two colos (each isolate its own L0, each colo its own Cache API; KV, R2
 * and the family shields shared, as in production), in the production configuration (the shield
 * bound, L0 on), with the dev origin over real HTTP. Every request goes through the Worker's own
 * fetch and is recorded as the client saw it; the checker (./checker.ts) judges the record.
 *
 * The steps (./steps.ts; fast-check commands, so a failure shrinks to a minimal history and prints
 * its seed) launch requests without waiting for them, change the origin, move the clock, arm
 * faults, hold and release calls (origin gates, shield commits, colo back-fills), and wait for a
 * launched request. Which interleavings happen is decided by these steps — that is what replaying
 * a seed repeats; the simulators' own timing is not.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { shieldNameFor } from "../../src/shield";
import { parseKey } from "../../src/keys";
import { clearFault, devControl, gateOrigin, setFault, setOriginAbsent, setOriginValue, type OriginGate } from "../helpers/dev-origin";
import { resetShield, wrapShieldStorage } from "../helpers/shield-seams";
import { adminToken, idToken } from "../helpers/tokens";
import { createIsolate } from "../../src/isolate";
import { BrokenBody, callWorker, productionEnv } from "../helpers/worker";
import { resourceToken } from "../routes/helpers";
import { checkConvergence, checkHistory, type Violation } from "./checker";
import type { History, Op, OriginState, PurgeSelector, ReadOp, Settings } from "./model";
import {
  countInjected,
  createNemesis,
  nemesisCache,
  nemesisKv,
  nemesisR2,
  nemesisShields,
  releaseCachePuts,
  releaseShieldPuts,
  SHIELD_COLO,
  type KvFaultKind,
  type Nemesis,
} from "./nemesis";
import { ISOLATE_NAMES, ISOLATES, SUBJECT_KINDS, stepArbitrary, type IsolateName, type OriginFaultKind, type Step, type WriteStep } from "./steps";
import { mediaPartMetadata, mediaSubject, templateSubject, transcriptSubject, versionName, type Subject, type Tokens } from "./subjects";

export { ISOLATES } from "./steps";

const EDGE = "https://edge.test";
/** Each history gets its own stretch of the injected clock, so no mark or generation of an earlier one orders it. */
const HISTORY_CLOCK_SPACING_SECONDS = 100_000;
/** How long a step waits for a launched request before going on (it may be held on purpose). */
const AWAIT_CAP_MS = 800;
/** How long a release waits for a request to reach its gate. */
const GATE_ARRIVAL_WAIT_MS = 250;
/** How long a race waits for its read's fill to reach the origin (a hit never does). */
const FILL_ARRIVAL_WAIT_MS = 300;
/** At the end every request is released; one still unanswered after this is recorded as such. */
const SETTLE_CAP_MS = 15_000;
/** A stale race's value lives this long, so the clock passes its expiry in one step. */
const STALE_RACE_TTL_SECONDS = 20;
/**
 * A refresh race's value lives this long and is hit this long before its expiry: inside its last
 * tenth of life or last 60 s (src/cache/refresh-ahead.ts), where a hit refreshes it.
 */
const REFRESH_RACE_TTL_SECONDS = 600;
const REFRESH_RACE_LEFT_SECONDS = 30;
/** The user whose id token starts journeys (any sub: the dev origin's start route checks only the token). */
const USER_SUB = "oseh_u_devUser00000000000001";

/** The settings the model relies on, read from the project's bindings (vitest.config.ts pins them for the shields too). */
export function pinnedSettings(): { settings: Settings; overrides: Record<string, string> } {
  const e = env as unknown as Record<string, string | undefined>;
  const read = (name: string): string => {
    const value = e[name];
    if (value === undefined || value === "") throw new Error(`the consistency project must pin ${name} (vitest.config.ts)`);
    return value;
  };
  const names = [
    "ORIGIN_TIMEOUT_MS",
    "L0_MAX_BYTES",
    "L1_CACHE",
    "L1_MAX_AGE_SECONDS",
    "STALE_IF_ERROR_SECONDS",
    "SHIELD_MAX_VALUE_BYTES",
    "SOURCE_TIME_WINDOW_SECONDS",
    "COLLAB_MAX_SECONDS",
    "EDGE_MODE",
    "MEDIA_LEASE_MS",
  ];
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

const ORIGIN_FAULTS: Record<OriginFaultKind, (originTimeoutMs: number) => Record<string, unknown>> = {
  "500": () => ({ kind: "status", status: 500 }),
  garbage: () => ({ kind: "garbage" }),
  truncated: () => ({ kind: "truncated" }),
  timeout: (ms) => ({ kind: "slow", ms: ms + 200 }),
  stall: (ms) => ({ kind: "stall", ms: Math.floor(ms * 0.6) }),
};

/** The running history: what the steps act on and what they record. */
export interface Run {
  readonly nemesis: Nemesis;
  readonly isolates: Record<IsolateName, { call: (input: string, init: RequestInit, options: { now: number; env: Record<string, unknown> }) => Promise<Response> }>;
  readonly envs: Record<IsolateName, Record<string, unknown>>;
  readonly subjects: Subject[];
  readonly keys: string[];
  /** Prefixes a prefix purge may name, each covering some of the subjects. */
  readonly prefixes: string[];
  readonly ops: Op[];
  readonly settings: Settings;
  readonly originTimeoutMs: number;
  clock: number;
  seq: number;
  /** Launched requests, in launch order: the op index and its settling promise. */
  readonly launched: { id: number; done: Promise<void> }[];
  readonly versions: number[];
  /** Every version's bytes (the classifiers compare bodies with them). */
  readonly made: Map<string, Uint8Array>;
  readonly gates: Map<number, OriginGate[]>;
  /** Origin faults armed, by key: their `fault` ops. */
  readonly faults: Map<number, number[]>;
  readonly tokens: Tokens & { admin(now: number): Promise<string> };
}

export class StepCommand implements fc.AsyncCommand<object, Run> {
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
  return fc.commands([stepArbitrary.map((step) => new StepCommand(step))], { maxCommands: maxSteps, size: "max" });
}

const tick = (run: Run): number => run.seq++;

function push<T extends Op>(run: Run, op: Omit<T, "id">): T {
  const full = { ...op, id: run.ops.length } as T;
  run.ops.push(full);
  return full;
}

/** Tokens, signed once per (kind, sub, second): signing costs, and a history repeats them. */
function memoTokens(): Run["tokens"] {
  const made = new Map<string, Promise<string>>();
  const memo = (id: string, make: () => Promise<string>) => {
    let token = made.get(id);
    if (token === undefined) {
      token = make();
      made.set(id, token);
    }
    return token;
  };
  return {
    resource: (kind, sub, now) => memo(`${kind}:${sub}:${now}`, () => resourceToken(kind, sub, now)),
    // The origin checks it on the platform clock; valid for an hour, longer than any run.
    user: () => memo("user", () => idToken(USER_SUB, Math.floor(Date.now() / 1000))),
    admin: (now) => memo(`admin:${now}`, () => adminToken(now)),
  };
}

/** Starts a request without waiting; its answer is recorded when it arrives. */
function launch(run: Run, op: Op, send: () => Promise<void>): void {
  const done = send()
    .catch((error: unknown) => {
      // A request the Worker let throw is an answer no rule allows.
      // A body that broke off after the head is a broken answer, which the checker judges.
      if (op.kind === "read") op.answer = error instanceof BrokenBody ? { kind: "broken", reason: `${error.status}: ${error.message}` } : { kind: "bad", reason: `threw: ${String(error)}` };
      else if (op.kind === "put" || op.kind === "delete" || op.kind === "purge") op.status = 500;
    })
    .finally(() => {
      op.res = tick(run);
    });
  run.launched.push({ id: op.id, done });
}

async function admin(run: Run, name: IsolateName, now: number, path: string, init: RequestInit & { sourceTime?: number }): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${await run.tokens.admin(now)}`);
  if (init.sourceTime !== undefined) headers.set("X-Edge-Source-Time", String(init.sourceTime));
  return run.isolates[name].call(`${EDGE}/_edge/v1${path}`, { ...init, headers }, { now, env: run.envs[name] });
}

async function read(run: Run, name: IsolateName, key: number, refresh: boolean, now: number): Promise<ReadOp> {
  const subject = run.subjects[key] as Subject;
  // Forced refreshes are a transcript route's (`Pragma: no-cache`); the others read plainly.
  const refreshing = refresh && subject.kind === "transcript";
  const { path, init } = await subject.request(now, refreshing, run.tokens);
  const op = push<ReadOp>(run, { kind: "read", key: subject.key, isolate: name, now, refresh: refreshing, inv: tick(run) });
  launch(run, op, async () => {
    const response = await run.isolates[name].call(`${EDGE}${path}`, init, { now, env: run.envs[name] });
    op.answer = await subject.classify(response, run.made);
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

/** A new version of `key` (its bytes remembered for the classifiers). */
function newVersion(run: Run, key: number, big: boolean): { name: string; bytes: Uint8Array } {
  const n = ++run.versions[key]!;
  const subject = run.subjects[key] as Subject;
  const name = versionName(subject.key, n);
  const bytes = subject.bytes(n, big);
  run.made.set(name, bytes);
  return { name, bytes };
}

/** The prefix (of `run.prefixes`) covering `key`, if any. */
function prefixOf(run: Run, key: number): string | undefined {
  return run.prefixes.find((prefix) => (run.keys[key] as string).startsWith(prefix));
}

/** Closes the origin gates and clears the origin faults left on `key`, so a race's fill meets the origin it sets up. */
async function quietOrigin(run: Run, key: number): Promise<void> {
  for (const gate of run.gates.get(key) ?? []) await gate.close();
  run.gates.delete(key);
  const faults = run.faults.get(key);
  if (faults === undefined) return;
  await clearFault(run.keys[key] as string);
  const at = tick(run);
  for (const id of faults) {
    const op = run.ops[id];
    if (op?.kind === "fault" && op.until === undefined) op.until = at;
  }
  run.faults.delete(key);
}

async function applyStep(run: Run, step: Step): Promise<void> {
  const now = run.clock;
  const st = (offset: number | undefined) => (offset === undefined ? {} : { sourceTime: now + offset });
  switch (step.do) {
    case "race": {
      const key = run.keys[step.key] as string;
      await quietOrigin(run, step.key);
      // An operator's purge of the key from the reader first: its read misses every tier it looks in.
      await runStep(run, { do: "purge", isolate: step.reader, selector: "keys", keys: [step.key], wait: true });
      const gate = await gateOrigin({ key }, 1, { hold: step.hold });
      countInjected(run.nemesis, `race (${step.hold} gate)`);
      await read(run, step.reader, step.key, false, run.clock);
      const reading = run.launched.at(-1)?.done;
      const state = await (await devControl(`/__dev/gates/${gate.id}?arrived=1&waitMs=${FILL_ARRIVAL_WAIT_MS}`)).json<{ arrived: number }>();
      if (state.arrived > 0) countInjected(run.nemesis, "race fill held at the origin");
      if (step.originChanges) await applyStep(run, { do: "origin", key: step.key, ttl: 600, big: step.write.big });
      await runStep(run, writeOf(run, step.key, step.write));
      await gate.close();
      await Promise.race([reading, sleep(AWAIT_CAP_MS)]);
      // The writer first (it must see its write at once), then the others.
      for (const name of [step.write.isolate, ...ISOLATE_NAMES.filter((other) => other !== step.write.isolate)]) {
        await runStep(run, { do: "read", isolate: name, key: step.key, refresh: false, wait: true });
      }
      return;
    }
    case "refreshRace": {
      const key = run.keys[step.key] as string;
      await quietOrigin(run, step.key);
      await applyStep(run, { do: "origin", key: step.key, ttl: REFRESH_RACE_TTL_SECONDS, big: false });
      // Purged first, so the read fills this version and the clock's step lands in its last seconds.
      await runStep(run, { do: "purge", isolate: step.reader, selector: "keys", keys: [step.key], wait: true });
      await runStep(run, { do: "read", isolate: step.reader, key: step.key, refresh: false, wait: true });
      await applyStep(run, { do: "advance", seconds: REFRESH_RACE_TTL_SECONDS - REFRESH_RACE_LEFT_SECONDS });
      await applyStep(run, { do: "origin", key: step.key, ttl: 600, big: false });
      // The refresh's origin answer is made at arrival (the version just set) and held.
      const gate = await gateOrigin({ key }, 1, { hold: "answer" });
      countInjected(run.nemesis, "refresh race");
      // A hit in the value's last seconds: answered at once, the refresh in its background work
      // (which the launched request's settling waits for).
      await read(run, step.reader, step.key, false, run.clock);
      const reading = run.launched.at(-1)?.done;
      const state = await (await devControl(`/__dev/gates/${gate.id}?arrived=1&waitMs=${FILL_ARRIVAL_WAIT_MS}`)).json<{ arrived: number }>();
      if (state.arrived > 0) countInjected(run.nemesis, "refresh held at the origin");
      if (step.originChanges) await applyStep(run, { do: "origin", key: step.key, ttl: 600, big: false });
      await runStep(run, writeOf(run, step.key, step.write));
      await gate.close();
      await Promise.race([reading, sleep(AWAIT_CAP_MS)]);
      for (const name of [step.write.isolate, ...ISOLATE_NAMES.filter((other) => other !== step.write.isolate)]) {
        await runStep(run, { do: "read", isolate: name, key: step.key, refresh: false, wait: true });
      }
      return;
    }
    case "generationRace": {
      const remover = ISOLATE_NAMES.find((name) => ISOLATES[name] !== ISOLATES[step.reader]) as IsolateName;
      await quietOrigin(run, step.key);
      await applyStep(run, { do: "origin", key: step.key, ttl: 600, big: step.big });
      // The reader holds a copy (its L0, its colo's L1)...
      await runStep(run, { do: "read", isolate: step.reader, key: step.key, refresh: false, wait: true });
      await runStep(run, { do: "read", isolate: step.reader, key: step.key, refresh: false, wait: true });
      // ...which another colo's DELETE does not reach; the origin moves on, so it cannot be filled anew.
      await runStep(run, { do: "delete", isolate: remover, key: step.key, wait: true });
      await applyStep(run, { do: "origin", key: step.key, ttl: 600, big: step.big });
      // The reader's family purge: its pages no longer list the key; only the generation hides the copy.
      countInjected(run.nemesis, "generation race");
      await runStep(run, { do: "purge", isolate: step.reader, selector: "family", keys: [step.key], wait: true });
      await runStep(run, { do: "read", isolate: step.reader, key: step.key, refresh: false, wait: true });
      return;
    }
    case "staleRace": {
      await quietOrigin(run, step.key);
      if (step.source === "put") {
        await runStep(run, { do: "put", isolate: step.writer, key: step.key, ttl: STALE_RACE_TTL_SECONDS, big: false, wait: true });
      } else {
        await applyStep(run, { do: "origin", key: step.key, ttl: STALE_RACE_TTL_SECONDS, big: false });
        await runStep(run, { do: "read", isolate: step.writer, key: step.key, refresh: false, wait: true });
      }
      // Past the expiry by a third of the stale window, then (or at once, `beyond`) by more than
      // the whole of it, the origin failing each time: stale within the bound, never past it.
      const stale = run.settings.staleIfErrorSeconds;
      const within = Math.floor(stale / 3);
      const phases = step.beyond ? [STALE_RACE_TTL_SECONDS + stale + 10] : [STALE_RACE_TTL_SECONDS + within, stale - within + 10];
      for (const [at, seconds] of phases.entries()) {
        await applyStep(run, { do: "advance", seconds });
        countInjected(run.nemesis, `stale race (${step.beyond || at > 0 ? "past" : "within"} the bound)`);
        await applyStep(run, { do: "originFault", key: step.key, fault: "500", times: 4 });
        await runStep(run, { do: "read", isolate: step.reader, key: step.key, refresh: false, wait: true });
        await runStep(run, { do: "read", isolate: step.writer, key: step.key, refresh: false, wait: true });
      }
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
    case "writePair":
      await runStep(run, writeOf(run, step.key, step.first));
      await runStep(run, writeOf(run, step.key, step.second));
      await runStep(run, { do: "read", isolate: step.second.isolate, key: step.key, refresh: false, wait: true });
      return;
    case "read":
      await read(run, step.isolate, step.key, step.refresh, now);
      return;
    case "put": {
      const version = newVersion(run, step.key, step.big);
      const expiresAt = now + step.ttl;
      const op = push<Extract<Op, { kind: "put" }>>(run, {
        kind: "put",
        key: run.keys[step.key] as string,
        isolate: step.isolate,
        now,
        version: version.name,
        expiresAt,
        ...st(step.sourceTime),
        inv: tick(run),
      });
      launch(run, op, async () => {
        const response = await admin(run, step.isolate, now, `/keys/${encodeURIComponent(op.key)}`, {
          method: "PUT",
          body: version.bytes,
          headers: { "X-Edge-Expires-At": String(expiresAt) },
          ...st(step.sourceTime),
        });
        await response.arrayBuffer();
        op.status = response.status;
      });
      return;
    }
    case "delete": {
      const op = push<Extract<Op, { kind: "delete" }>>(run, { kind: "delete", key: run.keys[step.key] as string, isolate: step.isolate, now, ...st(step.sourceTime), inv: tick(run) });
      launch(run, op, async () => {
        const response = await admin(run, step.isolate, now, `/keys/${encodeURIComponent(op.key)}`, { method: "DELETE", ...st(step.sourceTime) });
        await response.arrayBuffer();
        op.status = response.status;
      });
      return;
    }
    case "purge": {
      const first = step.keys[0] as number;
      const prefix = prefixOf(run, first);
      // A prefix purge names the prefix covering its first subject; a subject under none is purged by key.
      const kind = step.selector === "prefix" && prefix === undefined ? "keys" : step.selector;
      const keys = step.keys.map((i) => run.keys[i] as string);
      const family = (run.subjects[first] as Subject).family;
      const selector: PurgeSelector = kind === "keys" ? { keys } : kind === "family" ? { family } : { prefix: prefix as string };
      const covers =
        kind === "keys"
          ? keys
          : kind === "family"
            ? run.subjects.filter((subject) => subject.family === family).map((subject) => subject.key)
            : run.keys.filter((key) => key.startsWith(prefix as string));
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
          if (response.status !== 200) {
            await response.arrayBuffer();
            return;
          }
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
      const version = step.do === "origin" ? newVersion(run, step.key, step.big) : undefined;
      const state: OriginState = version === undefined ? "absent" : { version: version.name, expiresAt: now + (step as { ttl: number }).ttl };
      const op = push<Extract<Op, { kind: "origin" }>>(run, { kind: "origin", key: run.keys[step.key] as string, state, inv: tick(run) });
      if (state === "absent" || version === undefined) await setOriginAbsent(op.key);
      else await setOriginValue(op.key, version.bytes, { expiresAt: state.expiresAt });
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
      await (await devControl(`/__dev/gates/${gate.id}?arrived=${state.released + 1}&waitMs=${GATE_ARRIVAL_WAIT_MS}`)).arrayBuffer();
      const after = await gate.release(1);
      if (after.remaining === 0 && after.held === 0) {
        run.gates.get(step.key)?.shift();
        await gate.close();
      }
      return;
    }
    case "originFault": {
      const key = run.keys[step.key] as string;
      // A media object is raw bytes with no codec: a well-formed 200 from the values endpoint is
      // the origin's object by contract (docs/origin.md), which neither the edge nor the backend
      // can tell from wrong bytes. What the edge must catch there is a body cut short, so a media
      // key's "garbage" is a truncation, which the dev origin sends for an object as its whole
      // Content-Length and a body cut after half (docs/origin.md, docs/reliability.md "Consistency").
      const fault: OriginFaultKind = step.fault === "garbage" && run.subjects[step.key]?.kind === "media" ? "truncated" : step.fault;
      const op = push<Extract<Op, { kind: "fault" }>>(run, { kind: "fault", key, fault, inv: tick(run) });
      // Known as armed before the origin has it, so no failure it causes is taken for an un-armed one.
      run.faults.set(step.key, [...(run.faults.get(step.key) ?? []), op.id]);
      await setFault(key, ORIGIN_FAULTS[fault](run.originTimeoutMs), step.times);
      op.res = tick(run);
      countInjected(run.nemesis, `origin ${fault}`);
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
      run.nemesis.shieldDown += step.calls;
      return;
    case "r2Fault":
      run.nemesis.r2Faults[step.kind] += step.times;
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
function writeOf(run: Run, key: number, write: WriteStep, wait = true): Step {
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
      return { do: "purge", selector: prefixOf(run, key) === undefined ? "keys" : "prefix", keys: [key], ...common };
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let histories = 0;
/** The history running now: the run's captured event lines are judged against it (`noteWorkerEvent`). */
let current: Run | undefined;

/**
 * An origin failure the nemesis did not arm still is one: the Worker's log of a fill the origin
 * answered with a 5xx for one of this history's keys (`src/origin/client.ts`: "values endpoint
 * answered 500 for <key>") is recorded as a fault on that key at that moment, so a stale answer
 * with `fwd-status=502` during it is allowed. Seen once in a long run: the dev origin's Miniflare
 * answered an un-gated values request 500 ("Cannot perform I/O on behalf of a different request")
 * with no fault armed (docs/reliability.md "What it found").
 */
export function noteWorkerEvent(event: { msg?: unknown; status?: unknown; message?: unknown }): void {
  const run = current;
  if (run === undefined || (event.msg !== "origin fill failed" && event.msg !== "media fill failed") || typeof event.message !== "string") return;
  const answered = /values endpoint answered (5\d\d) for (\S+)$/.exec(event.message);
  if (answered === null || !run.keys.includes(answered[2] as string)) return;
  const key = answered[2] as string;
  const armed = run.faults.get(run.keys.indexOf(key)) ?? [];
  if (armed.some((id) => { const op = run.ops[id]; return op?.kind === "fault" && op.until === undefined; })) return;
  const inv = tick(run);
  push<Extract<Op, { kind: "fault" }>>(run, { kind: "fault", key, fault: `unarmed ${answered[1]}`, inv, res: inv, until: tick(run) });
  countInjected(run.nemesis, "origin 5xx not armed");
}

/** The history's subjects, with fresh uids (and the media part's metadata at the origin). */
async function makeSubjects(id: string): Promise<Subject[]> {
  const transcripts = ["a0", "a1", "b0"].map((suffix) => transcriptSubject(`oseh_t_c${id}${suffix}`));
  const part = `oseh_cfep_c${id}`;
  const object = `oseh_s3f_c${id}`;
  const owner = `oseh_cf_c${id}`;
  // The part's metadata, as the backend caches it, points at the history's object; it never changes.
  await setOriginValue(`content_files:exports:parts:${part}`, mediaPartMetadata(owner, object));
  const subjects = [...transcripts, mediaSubject(part, object, owner), templateSubject(`oseh_j_genc${id}`)];
  if (subjects.map((subject) => subject.kind).join() !== SUBJECT_KINDS.join()) throw new Error("the subjects and steps.ts SUBJECT_KINDS disagree");
  return subjects;
}

/** Makes a fresh history's world: keys, isolates, the nemesis around the real bindings, the origin's first values. */
export async function startRun(): Promise<{ run: Run; restore: () => void }> {
  const { settings, overrides } = pinnedSettings();
  histories += 1;
  const id = `${Date.now().toString(36)}${histories.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const subjects = await makeSubjects(id);
  const keys = subjects.map((subject) => subject.key);
  const clock = Math.floor(Date.now() / 1000) + histories * HISTORY_CLOCK_SPACING_SECONDS;
  const holder = { clock };
  const nemesis = createNemesis(() => holder.clock);
  const bindings = env as unknown as { CACHE: KVNamespace; FAMILY_SHIELD: object; MEDIA: R2Bucket };
  for (const subject of subjects) {
    if (subject.kind === "media") continue; // R2, not KV
    nemesis.tracked.add(subject.key);
    nemesis.before.set(subject.key, null);
  }
  for (const family of new Set(subjects.map((subject) => subject.family))) {
    const generationKey = `_edge:gen:${family}`;
    nemesis.tracked.add(generationKey);
    const generation = await bindings.CACHE.get(generationKey, "arrayBuffer");
    nemesis.before.set(generationKey, generation === null ? null : { bytes: new Uint8Array(generation), metadata: null });
  }
  const restore = wrapShieldStorage({ kv: (real) => nemesisKv(nemesis, real, SHIELD_COLO, { shield: true }), media: (real) => nemesisR2(nemesis, real) });

  const isolates = {} as Run["isolates"];
  const envs = {} as Record<IsolateName, Record<string, unknown>>;
  const coloCaches = new Map<string, Cache>();
  const coloKv = new Map<string, KVNamespace>();
  const media = nemesisR2(nemesis, bindings.MEDIA);
  for (const name of ISOLATE_NAMES) {
    const colo = ISOLATES[name];
    // Each simulated isolate its own Worker state; each colo its own Cache API and KV view.
    if (!coloCaches.has(colo)) coloCaches.set(colo, nemesisCache(nemesis, await caches.open(`consistency-${colo}`), colo));
    if (!coloKv.has(colo)) coloKv.set(colo, nemesisKv(nemesis, bindings.CACHE, colo));
    const own = createIsolate();
    const cache = coloCaches.get(colo) as Cache;
    isolates[name] = { call: (input, init, options) => callWorker(input, init, { ...options, isolate: own, colo: cache }) };
    envs[name] = productionEnv({ ...overrides, CACHE: coloKv.get(colo), MEDIA: media, FAMILY_SHIELD: nemesisShields(nemesis, bindings.FAMILY_SHIELD) });
  }
  const run: Run = {
    nemesis,
    isolates,
    envs,
    subjects,
    keys,
    prefixes: [`transcripts:oseh_t_c${id}a`, `s3_files:oseh_s3f_c${id}`],
    ops: [],
    settings,
    originTimeoutMs: Number(overrides.ORIGIN_TIMEOUT_MS),
    get clock() {
      return holder.clock;
    },
    set clock(value: number) {
      holder.clock = value;
    },
    seq: 0,
    launched: [],
    versions: keys.map(() => 0),
    made: new Map(),
    gates: new Map(),
    faults: new Map(),
    tokens: memoTokens(),
  };
  // Every key starts with a value at the origin: version 1, as a fresh origin change.
  for (let key = 0; key < keys.length; key += 1) await runStep(run, { do: "origin", key, ttl: 600, big: key === 0 });
  return { run, restore };
}

/** Ends the nemesis, releases everything held, waits for every request, and reads every key everywhere twice. */
export async function finishRun(run: Run): Promise<ReadOp[]> {
  const { nemesis } = run;
  nemesis.shieldDown = 0;
  nemesis.r2Faults.put = 0;
  nemesis.r2Faults.get = 0;
  nemesis.lagSeconds.clear();
  for (const faults of [nemesis.workerKvFaults, nemesis.shieldKvFaults]) for (const kind of Object.keys(faults.left) as KvFaultKind[]) faults.left[kind] = 0;
  nemesis.cacheFaults.clear();
  nemesis.holdShieldPuts = false;
  releaseShieldPuts(nemesis);
  for (const colo of ["A", "B"]) {
    nemesis.holdCachePuts.set(colo, false);
    releaseCachePuts(nemesis, colo);
  }
  for (let key = 0; key < run.keys.length; key += 1) await quietOrigin(run, key);
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
    media: run.subjects.filter((subject) => subject.kind === "media").map((subject) => subject.key),
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
  current = run;
  try {
    await fc.asyncModelRun(() => ({ model: {}, real: run }), commands);
    const finals = await finishRun(run);
    const history = historyOf(run, startClock);
    const violations = [...checkHistory(history), ...checkConvergence(history, finals)];
    const operations = run.ops.filter((op) => op.kind !== "clock").length;
    return { history, violations, operations, injected: run.nemesis.injected };
  } finally {
    current = undefined;
    restore();
  }
}
