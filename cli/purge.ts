/**
 * `oseh-edge purge`: by keys (in calls of up to 100), or a whole family / prefix page by page
 * (the edge purges up to 400 keys per call and returns a cursor, docs/admin-api.md). A progress
 * bar counts purged keys against a count listed beforehand. Ctrl-C stops after the page in
 * flight and prints the cursor; `--cursor` resumes there.
 */
import { SingleBar } from "cli-progress";
import type { Command, CommandContext } from "./command.ts";
import { CliError, EXIT } from "./errors.ts";

/** The edge's limit for one purge-by-keys call (src/admin/api.ts MAX_PURGE_KEYS). */
const KEYS_PER_CALL = 100;

interface PurgePage {
  purged: number;
  cursor: string | null;
  visibleWithinSeconds: number;
}

type Selector = { keys: string[] } | { family: string } | { prefix: string };

function selectorOf(ctx: CommandContext): Selector {
  const keys = ctx.values.keys;
  const family = ctx.values.family;
  const prefix = ctx.values.prefix;
  const given = [keys, family, prefix].filter((v) => v !== undefined).length;
  if (given !== 1) throw new CliError(EXIT.usage, "purge takes exactly one of --keys, --family, --prefix");
  if (keys !== undefined) {
    const list = (Array.isArray(keys) ? keys.map(String) : [String(keys)]).flatMap((k) => k.split(",")).map((k) => k.trim()).filter((k) => k !== "");
    if (list.length === 0) throw new CliError(EXIT.usage, "--keys needs at least one key");
    return { keys: list };
  }
  if (family !== undefined) return { family: String(family) };
  return { prefix: String(prefix) };
}

/** What the paged selector's keys start with, to count them before purging. */
function countPrefix(selector: { family: string } | { prefix: string }): string {
  if ("prefix" in selector) return selector.prefix;
  const brace = selector.family.indexOf("{");
  return brace === -1 ? selector.family : selector.family.slice(0, brace);
}

async function countKeys(ctx: CommandContext, prefix: string): Promise<number> {
  let total = 0;
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ prefix, limit: "1000" });
    if (cursor !== null) query.set("cursor", cursor);
    const page: { keys: unknown[]; cursor: string | null } = await ctx.client().json(`/keys?${query}`);
    total += page.keys.length;
    cursor = page.cursor;
  } while (cursor !== null && !ctx.io.signal.aborted);
  return total;
}

function progressBar(ctx: CommandContext, total: number): SingleBar | null {
  if (ctx.json) return null;
  const stream = ctx.io.stderr as NodeJS.WritableStream & { isTTY?: boolean };
  const bar = new SingleBar({
    stream: stream as NodeJS.WritableStream as never,
    format: "purge |{bar}| {value}/{total} keys | {pages} pages",
    barsize: 30,
    hideCursor: stream.isTTY === true,
    // Not a terminal (CI logs, a pipe): a plain line now and then instead of redraws.
    noTTYOutput: true,
    notTTYSchedule: 2000,
  });
  bar.start(Math.max(total, 0), 0, { pages: 0 });
  return bar;
}

export const purgeCommand: Command = {
  name: "purge",
  usage: "purge (--keys K1,K2 | --family PATTERN | --prefix PREFIX) [--cursor CURSOR]",
  summary: "removes keys everywhere; family/prefix purges go page by page with a progress bar and resume with --cursor",
  options: {
    keys: { type: "string", multiple: true },
    family: { type: "string" },
    prefix: { type: "string" },
    cursor: { type: "string" },
  },
  async run(ctx) {
    const selector = selectorOf(ctx);
    const client = ctx.client();
    let purged = 0;
    let visibleWithinSeconds = 0;

    if ("keys" in selector) {
      if (ctx.values.cursor !== undefined) throw new CliError(EXIT.usage, "--cursor only applies to --family and --prefix purges");
      const bar = progressBar(ctx, selector.keys.length);
      for (let i = 0; i < selector.keys.length; i += KEYS_PER_CALL) {
        const page = await client.json<PurgePage>("/purge", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ keys: selector.keys.slice(i, i + KEYS_PER_CALL) }),
        });
        purged += page.purged;
        visibleWithinSeconds = page.visibleWithinSeconds;
        bar?.update(Math.min(selector.keys.length, i + KEYS_PER_CALL), { pages: i / KEYS_PER_CALL + 1 });
      }
      bar?.stop();
      ctx.print(`purged ${purged} keys; no colo serves them after ${visibleWithinSeconds} s`, { purged, cursor: null, visibleWithinSeconds });
      return EXIT.ok;
    }

    let cursor = typeof ctx.values.cursor === "string" && ctx.values.cursor !== "" ? ctx.values.cursor : null;
    // A resumed purge counts what is left; a fresh one everything under the prefix.
    const total = await countKeys(ctx, countPrefix(selector));
    const bar = progressBar(ctx, total);
    let pages = 0;
    do {
      // Between pages only: the page in flight finishes, so its cursor is a safe place to resume.
      if (ctx.io.signal.aborted && pages > 0) {
        bar?.stop();
        const again = "family" in selector ? `--family '${selector.family}'` : `--prefix '${selector.prefix}'`;
        ctx.io.stderr.write(`interrupted after ${purged} keys; resume with: oseh-edge purge ${again} --cursor '${cursor}'\n`);
        if (ctx.json) ctx.print("", { purged, cursor, visibleWithinSeconds, interrupted: true });
        return EXIT.interrupted;
      }
      const page: PurgePage = await client.json<PurgePage>("/purge", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...selector, ...(cursor !== null ? { cursor } : {}) }),
      });
      pages += 1;
      purged += page.purged;
      cursor = page.cursor;
      visibleWithinSeconds = page.visibleWithinSeconds;
      if (bar !== null) {
        // The count is listed before purging; keys written meanwhile can push past it.
        if (purged > bar.getTotal()) bar.setTotal(purged);
        bar.update(purged, { pages });
      }
    } while (cursor !== null);
    if (bar !== null) {
      bar.setTotal(purged);
      bar.update(purged, { pages });
      bar.stop();
    }
    ctx.print(`purged ${purged} keys in ${pages} pages; no colo serves them after ${visibleWithinSeconds} s`, { purged, cursor: null, visibleWithinSeconds, pages });
    return EXIT.ok;
  },
};
