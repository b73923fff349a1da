/**
 * No module-level mutable state in `src/` (docs/design.md "Per-isolate state"): what lives as
 * long as the isolate lives is in the one object src/isolate.ts makes, created by `createWorker`
 * and passed in. A module-level `let`, or a module-level `const` holding a Map, Set, WeakMap or
 * WeakSet, fails this test (constant tables — readonly arrays, frozen records — are not state) — unless it is a bounded memo of pure derived data (the same input
 * always gives the same value, so sharing it across isolates' requests can never be wrong), which
 * says so in a comment starting `Pure memo:` on the line before.
 *
 * The source is bundled into the test (Vite's `?raw` glob), so this reads exactly what ships.
 */
import { describe, expect, it } from "vitest";

const sources = import.meta.glob("../../src/**/*.ts", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

const MUTABLE_CONST = /^(?:export\s+)?const\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*new\s+(?:Map|Set|WeakMap|WeakSet)\b/;
const TOP_LEVEL_LET = /^(?:export\s+)?(?:let|var)\s+([A-Za-z_$][\w$]*)/;

/** `file:line name` for each module-level mutable binding without a `Pure memo:` comment above it. */
export function moduleState(files: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [file, text] of Object.entries(files)) {
    const lines = text.split("\n");
    lines.forEach((line, index) => {
      const match = TOP_LEVEL_LET.exec(line) ?? MUTABLE_CONST.exec(line);
      if (match === null) return;
      const before = lines.slice(Math.max(0, index - 4), index).join("\n");
      if (/Pure memo:/.test(before)) return;
      found.push(`${file.replace("../../", "")}:${index + 1} ${match[1]}`);
    });
  }
  return found.sort();
}

describe("module-level state in src/", () => {
  it("finds the patterns it is meant to find (the check can fail)", () => {
    expect(
      moduleState({
        "a.ts": "let count = 0;\nexport const cache = new Map<string, number>();\nconst seen: Set<string> = new Set();\n// Pure memo: derived\nconst memo = new WeakMap();\nconst TABLE = [1, 2] as const;\nfunction f() {\n  let inner = 1;\n}",
      }),
    ).toEqual(["a.ts:1 count", "a.ts:2 cache", "a.ts:3 seen"]);
  });

  it("src/ has none", () => {
    expect(Object.keys(sources).length).toBeGreaterThan(50);
    expect(moduleState(sources)).toEqual([]);
  });
});
