/**
 * The command table of `oseh-edge`: one entry per command, each with its usage line and options.
 * A new command is one more entry in COMMANDS.
 */
import { readFile, writeFile } from "node:fs/promises";
import type { Command, CommandContext } from "./command.ts";
import { CliError, EXIT } from "./errors.ts";
import { conformanceCommand } from "./conformance.ts";
import { purgeCommand } from "./purge.ts";
import { mintAdminToken } from "../shared/admin-client.ts";

interface FamilyInfo {
  name: string;
  codec: string;
  expiry: unknown;
  sensitivity: string;
  route: string | null;
}

type FamilyCounters = Record<"hits" | "misses" | "staleServes" | "fills" | "originErrors" | "writes" | "skippedWrites", number>;

export interface StatsBody {
  isolate?: string;
  since: number;
  families: Record<string, FamilyCounters>;
}

function keyPath(key: string): string {
  return `/keys/${encodeURIComponent(key)}`;
}

function onePositional(ctx: CommandContext, what: string): string {
  const value = ctx.positionals[0];
  if (value === undefined || value === "") throw new CliError(EXIT.usage, `missing <${what}>`);
  return value;
}

/** Left-aligned columns, for tables meant for eyes (--json is for scripts). */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ")).join("\n");
}

function expiryLabel(expiry: unknown): string {
  if (typeof expiry === "string") return expiry;
  if (expiry !== null && typeof expiry === "object" && "kind" in expiry) return String((expiry as { kind: unknown }).kind);
  return JSON.stringify(expiry);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk));
  return new Uint8Array(Buffer.concat(chunks));
}

/** A hit ratio as a percentage, or "-" before any read. */
export function hitRatio(c: Pick<FamilyCounters, "hits" | "misses">): string {
  const reads = c.hits + c.misses;
  return reads === 0 ? "-" : `${((100 * c.hits) / reads).toFixed(1)}%`;
}

export const COMMANDS: Command[] = [
  {
    name: "families",
    usage: "families",
    summary: "every key family the edge knows (pattern, codec, expiry, sensitivity)",
    async run(ctx) {
      const families = await ctx.client().json<FamilyInfo[]>("/families");
      ctx.print(table([["FAMILY", "CODEC", "EXPIRY", "SENSITIVITY"], ...families.map((f) => [f.name, f.codec, expiryLabel(f.expiry), f.sensitivity])]), families);
      return EXIT.ok;
    },
  },
  {
    name: "get",
    usage: "get <key> [--out FILE]",
    summary: "a stored value's bytes (to stdout or FILE); --json adds its metadata",
    options: { out: { type: "string", short: "o" } },
    async run(ctx) {
      const key = onePositional(ctx, "key");
      const response = await ctx.client().call(keyPath(key));
      const bytes = new Uint8Array(await response.arrayBuffer());
      const meta = {
        key,
        family: response.headers.get("x-edge-family"),
        storedAt: Number(response.headers.get("x-edge-stored-at")),
        expiresAt: Number(response.headers.get("x-edge-expires-at")),
        sha256: response.headers.get("x-edge-sha256"),
        size: bytes.byteLength,
      };
      const out = ctx.values.out;
      if (typeof out === "string") {
        await writeFile(out, bytes);
        ctx.print(`wrote ${bytes.byteLength} bytes to ${out}`, meta);
      } else if (ctx.json) {
        let text: string | undefined;
        try {
          text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
        } catch {
          text = undefined;
        }
        ctx.print("", text === undefined ? { ...meta, valueBase64: Buffer.from(bytes).toString("base64") } : { ...meta, value: text });
      } else {
        ctx.io.stdout.write(bytes);
      }
      return EXIT.ok;
    },
  },
  {
    name: "put",
    usage: "put <key> [FILE|-] [--expires-at UNIX_SECONDS]",
    summary: "stores a value from FILE or stdin (validated by the edge against the family's codec); needs a service token, not an admin's id token",
    options: { "expires-at": { type: "string" } },
    async run(ctx) {
      const key = onePositional(ctx, "key");
      const source = ctx.positionals[1];
      const expiresAt = ctx.values["expires-at"];
      if (typeof expiresAt === "string" && !/^\d{1,12}$/.test(expiresAt)) throw new CliError(EXIT.usage, "--expires-at takes unix seconds");
      let bytes: Uint8Array;
      try {
        bytes = source === undefined || source === "-" ? await readAll(ctx.io.stdin) : new Uint8Array(await readFile(source));
      } catch (error) {
        throw new CliError(EXIT.usage, `cannot read ${source}: ${error instanceof Error ? error.message : String(error)}`);
      }
      await ctx.client().call(keyPath(key), {
        method: "PUT",
        body: bytes,
        headers: typeof expiresAt === "string" ? { "x-edge-expires-at": expiresAt } : {},
      });
      ctx.print(`stored ${key} (${bytes.byteLength} bytes)`, { key, stored: true, size: bytes.byteLength });
      return EXIT.ok;
    },
  },
  {
    name: "delete",
    usage: "delete <key>",
    summary: "removes a stored value (idempotent)",
    async run(ctx) {
      const key = onePositional(ctx, "key");
      await ctx.client().call(keyPath(key), { method: "DELETE" });
      ctx.print(`deleted ${key}`, { key, deleted: true });
      return EXIT.ok;
    },
  },
  {
    name: "list",
    usage: "list [--prefix PREFIX] [--limit N]",
    summary: "stored keys starting with PREFIX (all pages, or the first N keys)",
    options: { prefix: { type: "string", default: "" }, limit: { type: "string" } },
    async run(ctx) {
      const limitText = ctx.values.limit;
      if (limitText !== undefined && (typeof limitText !== "string" || !/^[1-9]\d*$/.test(limitText))) {
        throw new CliError(EXIT.usage, "--limit takes a positive integer");
      }
      const max = limitText === undefined ? Infinity : Number(limitText);
      const keys: { name: string; expiresAt: number | null }[] = [];
      let cursor: string | null = null;
      do {
        const query = new URLSearchParams({ prefix: String(ctx.values.prefix ?? ""), limit: String(Math.min(1000, max - keys.length)) });
        if (cursor !== null) query.set("cursor", cursor);
        const page: { keys: typeof keys; cursor: string | null } = await ctx.client().json(`/keys?${query}`);
        keys.push(...page.keys);
        cursor = page.cursor;
      } while (cursor !== null && keys.length < max && !ctx.io.signal.aborted);
      const shown = keys.slice(0, max);
      ctx.print(shown.map((k) => `${k.name}\t${k.expiresAt ?? "-"}`).join("\n") || "(no keys)", { keys: shown });
      return EXIT.ok;
    },
  },
  purgeCommand,
  {
    name: "stats",
    usage: "stats",
    summary: "per-family counters of the isolate that answers (hit ratio, stale serves, fills, origin errors)",
    async run(ctx) {
      const stats = await ctx.client().json<StatsBody>("/stats");
      const rows = Object.entries(stats.families)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([family, c]) => [family, hitRatio(c), String(c.hits), String(c.misses), String(c.staleServes), String(c.fills), String(c.originErrors)]);
      const head = `isolate ${stats.isolate ?? "?"}, counting since ${new Date(stats.since * 1000).toISOString()}`;
      ctx.print(
        rows.length === 0 ? `${head}\n(no requests counted yet)` : `${head}\n${table([["FAMILY", "HIT RATIO", "HITS", "MISSES", "STALE", "FILLS", "ORIGIN ERRORS"], ...rows])}`,
        stats,
      );
      return EXIT.ok;
    },
  },
  {
    name: "token",
    usage: "token admin [--sub SUB] [--seconds N]",
    summary: "prints an admin service token signed with EDGE_ADMIN_JWT_SECRET (for curl or the status page)",
    options: { sub: { type: "string" }, seconds: { type: "string" } },
    async run(ctx) {
      if (ctx.positionals[0] !== "admin") throw new CliError(EXIT.usage, "usage: token admin [--sub SUB] [--seconds N]");
      const secret = ctx.io.env.EDGE_ADMIN_JWT_SECRET;
      if (!secret) throw new CliError(EXIT.usage, "EDGE_ADMIN_JWT_SECRET is not set");
      const seconds = ctx.values.seconds;
      if (seconds !== undefined && (typeof seconds !== "string" || !/^[1-9]\d{0,6}$/.test(seconds))) {
        throw new CliError(EXIT.usage, "--seconds takes a positive integer");
      }
      const sub = typeof ctx.values.sub === "string" ? ctx.values.sub : undefined;
      const token = await mintAdminToken(secret, { now: ctx.io.now(), ...(sub ? { sub } : {}), ...(seconds ? { seconds: Number(seconds) } : {}) });
      ctx.print(token, { token });
      return EXIT.ok;
    },
  },
  conformanceCommand,
];
