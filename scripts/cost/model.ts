/**
 * What requests cost (docs/cost.md), pure: the measured operation counts per kind of request
 * (./operations.json, asserted by test/cost/operations.test.ts), the platform's list prices
 * (./prices.json, cited in docs/platform.md §5), and a traffic mix (requests per route and the
 * share of each kind) → usage and dollars. Used by `npm run cost` (scripts/cost.mjs) under Node's
 * type stripping and by the test inside workerd, so it imports nothing and uses erasable syntax only.
 */

/** One side's operations for one request (zero counts left out). */
export type SideCounts = Record<string, number>;

export interface KindCounts {
  /** Made by the Worker (its bindings, the colo's Cache API, its shield calls, its origin requests). */
  worker: SideCounts;
  /** Made by a family shield (its own KV and R2 through the storage seam, its origin requests). */
  shield: SideCounts;
}

export interface Kind extends KindCounts {
  label: string;
  status: number;
  cacheStatus: string | null;
  /**
   * What was made before the Worker's fetch returned its Response: the round trips the client
   * waited on before the answer started (the rest ran while the body streamed, or in waitUntil).
   */
  beforeAnswer: KindCounts;
  /** The issue's target for this kind, and whether today's count meets it. */
  target?: string;
  targetMet?: boolean;
}

export interface OperationsFile {
  $comment?: string;
  kinds: Record<string, Kind>;
}

export interface Prices {
  read: string;
  sources: Record<string, string>;
  workers: { basePerMonth: number; requestsPerMillion: number; includedRequests: number; cpuMsPerMillion: number; includedCpuMs: number };
  kv: {
    readsPerMillion: number;
    includedReads: number;
    writesPerMillion: number;
    includedWrites: number;
    deletesPerMillion: number;
    includedDeletes: number;
    listsPerMillion: number;
    includedLists: number;
  };
  durableObjects: { requestsPerMillion: number; includedRequests: number; gbSecondsPerMillion: number; includedGbSeconds: number; billedMemoryGb: number };
  r2: { classAPerMillion: number; includedClassA: number; classBPerMillion: number; includedClassB: number };
}

export interface Mix {
  description?: string;
  assumptions?: string[];
  /** Route label → requests in the period and the share of each measured kind (shares sum to 1). */
  routes: Record<string, { requests: number; kinds: Record<string, number> }>;
  /** The Worker's CPU milliseconds per request, by kind (`default` for the rest): from `npm run load`. */
  cpuMsPerRequest: Record<string, number>;
  /** Wall-clock milliseconds a shield stays active per shield request (Durable Object duration). */
  shieldActiveMsPerRequest: number;
}

/** The operation columns, in table order; a kind's count in each is the Worker's plus its shield's. */
const COLUMNS: ReadonlyArray<{ key: string; head: string; worker: boolean; shield: boolean }> = [
  { key: "kvReads", head: "KV reads", worker: true, shield: true },
  { key: "kvGenerationReads", head: "KV gen. reads", worker: true, shield: true },
  { key: "kvWrites", head: "KV writes", worker: true, shield: true },
  { key: "kvDeletes", head: "KV deletes", worker: true, shield: true },
  { key: "kvLists", head: "KV lists", worker: true, shield: true },
  { key: "durableObjectRequests", head: "DO requests", worker: true, shield: false },
  { key: "r2ClassA", head: "R2 class A", worker: true, shield: true },
  { key: "r2ClassB", head: "R2 class B", worker: true, shield: true },
  { key: "r2Deletes", head: "R2 deletes (free)", worker: true, shield: true },
  { key: "cacheReads", head: "Cache reads", worker: true, shield: false },
  { key: "cacheWrites", head: "Cache writes", worker: true, shield: false },
  { key: "cacheDeletes", head: "Cache deletes", worker: true, shield: false },
  { key: "originRequests", head: "origin requests", worker: true, shield: true },
];

/** What the Worker's own invocation spends of its subrequest budget (docs/platform.md §5.5). */
const SUBREQUEST_KEYS = ["kvReads", "kvGenerationReads", "kvWrites", "kvDeletes", "kvLists", "durableObjectRequests", "r2ClassA", "r2ClassB", "r2Deletes", "cacheReads", "cacheWrites", "cacheDeletes", "originRequests"];

export function total(kind: KindCounts, key: string): number {
  return (kind.worker[key] ?? 0) + (kind.shield[key] ?? 0);
}

export function workerSubrequests(kind: KindCounts): number {
  return SUBREQUEST_KEYS.reduce((n, key) => n + (kind.worker[key] ?? 0), 0);
}

/** A cell: the total, with the shield's share in brackets where it has one; blank for 0. */
function cell(kind: KindCounts, key: string): string {
  const sum = total(kind, key);
  if (sum === 0) return "";
  const inShield = kind.shield[key] ?? 0;
  return inShield === 0 ? String(sum) : `${sum} (${inShield} shield)`;
}

/** docs/cost.md's operation table, one row per kind (a test checks the doc holds exactly this). */
export function renderOperationsTable(file: OperationsFile): string {
  const head = ["kind", "answer", ...COLUMNS.map((c) => c.head), "Worker subrequests"];
  const align = head.map((_, i) => (i < 2 ? "---" : "---:"));
  const lines = [`| ${head.join(" | ")} |`, `|${align.join("|")}|`];
  for (const [id, kind] of Object.entries(file.kinds)) {
    const answer = `${kind.status} \`${kind.cacheStatus ?? "-"}\``;
    lines.push(`| ${kind.label} (\`${id}\`) | ${answer} | ${COLUMNS.map((c) => cell(kind, c.key)).join(" | ")} | ${workerSubrequests(kind)} |`);
  }
  return lines.join("\n");
}

/** A side's operations as text: `KV reads 1, DO requests 1` (shield ones marked). */
function listed(kind: KindCounts): string {
  const parts: string[] = [];
  for (const column of COLUMNS) {
    const sum = total(kind, column.key);
    if (sum === 0) continue;
    const inShield = kind.shield[column.key] ?? 0;
    parts.push(`${column.head} ${sum}${inShield === 0 ? "" : ` (${inShield} shield)`}`);
  }
  return parts.length === 0 ? "none" : parts.join(", ");
}

/** Every count minus what was started before the answer. */
function afterAnswer(kind: Kind): KindCounts {
  const minus = (all: SideCounts, before: SideCounts): SideCounts =>
    Object.fromEntries(Object.entries(all).map(([key, n]) => [key, n - (before[key] ?? 0)]).filter(([, n]) => n !== 0));
  return { worker: minus(kind.worker, kind.beforeAnswer.worker), shield: minus(kind.shield, kind.beforeAnswer.shield) };
}

/**
 * docs/cost.md's second table: per kind, what was started before the Worker's fetch returned its
 * Response (the client's path to its first byte, or work started in the background meanwhile), what
 * after, and the issue's target for the kind where it has one.
 */
export function renderAnswerPathTable(file: OperationsFile): string {
  const lines = ["| kind | started before the answer | started after | target |", "|---|---|---|---|"];
  for (const [id, kind] of Object.entries(file.kinds)) {
    const target = kind.target === undefined ? "" : `${kind.targetMet === false ? "**missed**" : "met"}: ${kind.target}`;
    lines.push(`| \`${id}\` | ${listed(kind.beforeAnswer)} | ${listed(afterAnswer(kind))} | ${target} |`);
  }
  return lines.join("\n");
}

/** Usage in a period: platform units by name. */
export type Usage = Record<
  | "workerRequests"
  | "workerCpuMs"
  | "kvReads"
  | "kvWrites"
  | "kvDeletes"
  | "kvLists"
  | "durableObjectRequests"
  | "durableObjectGbSeconds"
  | "r2ClassA"
  | "r2ClassB"
  | "cacheOperations"
  | "originRequests",
  number
>;

export interface PricedLine {
  usage: number;
  /** Every unit at list price, no included usage. */
  listPrice: number;
  /** Beyond the Workers Paid plan's monthly included usage (one account, this Worker's traffic alone). */
  beyondIncluded: number;
}

export interface MixCost {
  usage: Usage;
  lines: Record<string, PricedLine>;
  listPriceTotal: number;
  /** The plan's base fee plus everything beyond the included usage. */
  paidPlanTotal: number;
  /** Dollars per million requests of each route, at list price. */
  perMillionByRoute: Record<string, number>;
}

const ZERO_USAGE = (): Usage => ({
  workerRequests: 0,
  workerCpuMs: 0,
  kvReads: 0,
  kvWrites: 0,
  kvDeletes: 0,
  kvLists: 0,
  durableObjectRequests: 0,
  durableObjectGbSeconds: 0,
  r2ClassA: 0,
  r2ClassB: 0,
  cacheOperations: 0,
  originRequests: 0,
});

/** Checks a mix against the measured kinds: every kind known, every route's shares summing to 1. */
export function mixProblems(mix: Mix, file: OperationsFile): string[] {
  const problems: string[] = [];
  if (typeof mix !== "object" || mix === null || typeof mix.routes !== "object" || mix.routes === null) return ["the mix needs a `routes` object"];
  for (const [route, entry] of Object.entries(mix.routes)) {
    if (!(Number.isFinite(entry?.requests) && entry.requests >= 0)) problems.push(`${route}: requests must be a number ≥ 0`);
    const kinds = Object.entries(entry?.kinds ?? {});
    if (kinds.length === 0) problems.push(`${route}: no kinds`);
    let sum = 0;
    for (const [kind, share] of kinds) {
      if (file.kinds[kind] === undefined) problems.push(`${route}: unknown kind ${kind} (known: ${Object.keys(file.kinds).join(", ")})`);
      if (!(Number.isFinite(share) && share >= 0)) problems.push(`${route}: share of ${kind} must be a number ≥ 0`);
      sum += share;
    }
    if (kinds.length > 0 && Math.abs(sum - 1) > 1e-9) problems.push(`${route}: shares sum to ${sum}, not 1`);
  }
  if (!(Number.isFinite(mix.shieldActiveMsPerRequest) && mix.shieldActiveMsPerRequest >= 0)) problems.push("shieldActiveMsPerRequest must be a number ≥ 0");
  if (!(Number.isFinite(mix.cpuMsPerRequest?.default) && (mix.cpuMsPerRequest?.default ?? -1) >= 0)) problems.push("cpuMsPerRequest.default must be a number ≥ 0");
  return problems;
}

function usageOf(requests: number, kinds: Record<string, number>, mix: Mix, file: OperationsFile, prices: Prices): Usage {
  const usage = ZERO_USAGE();
  for (const [id, share] of Object.entries(kinds)) {
    const kind = file.kinds[id] as Kind;
    const n = requests * share;
    usage.workerRequests += n;
    usage.workerCpuMs += n * (mix.cpuMsPerRequest[id] ?? mix.cpuMsPerRequest.default ?? 0);
    usage.kvReads += n * (total(kind, "kvReads") + total(kind, "kvGenerationReads"));
    usage.kvWrites += n * total(kind, "kvWrites");
    usage.kvDeletes += n * total(kind, "kvDeletes");
    usage.kvLists += n * total(kind, "kvLists");
    usage.durableObjectRequests += n * total(kind, "durableObjectRequests");
    usage.durableObjectGbSeconds += n * total(kind, "durableObjectRequests") * (mix.shieldActiveMsPerRequest / 1000) * prices.durableObjects.billedMemoryGb;
    usage.r2ClassA += n * total(kind, "r2ClassA");
    usage.r2ClassB += n * total(kind, "r2ClassB");
    usage.cacheOperations += n * (total(kind, "cacheReads") + total(kind, "cacheWrites") + total(kind, "cacheDeletes"));
    usage.originRequests += n * total(kind, "originRequests");
  }
  return usage;
}

/** Each billed line: [usage key, $ per million units, included units]. */
function billedLines(prices: Prices): Array<[keyof Usage, number, number]> {
  return [
    ["workerRequests", prices.workers.requestsPerMillion, prices.workers.includedRequests],
    ["workerCpuMs", prices.workers.cpuMsPerMillion, prices.workers.includedCpuMs],
    ["kvReads", prices.kv.readsPerMillion, prices.kv.includedReads],
    ["kvWrites", prices.kv.writesPerMillion, prices.kv.includedWrites],
    ["kvDeletes", prices.kv.deletesPerMillion, prices.kv.includedDeletes],
    ["kvLists", prices.kv.listsPerMillion, prices.kv.includedLists],
    ["durableObjectRequests", prices.durableObjects.requestsPerMillion, prices.durableObjects.includedRequests],
    ["durableObjectGbSeconds", prices.durableObjects.gbSecondsPerMillion, prices.durableObjects.includedGbSeconds],
    ["r2ClassA", prices.r2.classAPerMillion, prices.r2.includedClassA],
    ["r2ClassB", prices.r2.classBPerMillion, prices.r2.includedClassB],
  ];
}

function listPriceOf(usage: Usage, prices: Prices): number {
  return billedLines(prices).reduce((sum, [key, perMillion]) => sum + (usage[key] / 1e6) * perMillion, 0);
}

/** Prices a mix (check it with `mixProblems` first). */
export function priceMix(mix: Mix, file: OperationsFile, prices: Prices): MixCost {
  const usage = ZERO_USAGE();
  const perMillionByRoute: Record<string, number> = {};
  for (const [route, entry] of Object.entries(mix.routes)) {
    const routeUsage = usageOf(entry.requests, entry.kinds, mix, file, prices);
    for (const key of Object.keys(usage) as Array<keyof Usage>) usage[key] += routeUsage[key];
    perMillionByRoute[route] = listPriceOf(usageOf(1e6, entry.kinds, mix, file, prices), prices);
  }
  const lines: Record<string, PricedLine> = {};
  for (const [key, perMillion, included] of billedLines(prices)) {
    lines[key] = { usage: usage[key], listPrice: (usage[key] / 1e6) * perMillion, beyondIncluded: (Math.max(0, usage[key] - included) / 1e6) * perMillion };
  }
  const listPriceTotal = Object.values(lines).reduce((sum, line) => sum + line.listPrice, 0);
  const paidPlanTotal = prices.workers.basePerMonth + Object.values(lines).reduce((sum, line) => sum + line.beyondIncluded, 0);
  return { usage, lines, listPriceTotal, paidPlanTotal, perMillionByRoute };
}
