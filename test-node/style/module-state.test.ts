/**
 * No module-level mutable state in `src/` (docs/design.md "Per-isolate state"): what lives as
 * long as the isolate lives is in the one object src/isolate.ts makes, created by `createWorker`
 * and passed in. Read with the TypeScript parser, top-level statements only, so code inside
 * functions, classes and strings (the status page's own script) never counts. Refused:
 * - a module-level `let` or `var`;
 * - a module-level `const` whose value is a `new Map`, `Set`, `WeakMap` or `WeakSet`, unless its
 *   declared type is `ReadonlyMap`/`ReadonlySet` (a constant table), or a comment starting
 *   `Pure memo:` stands right above it (a bounded memo of pure derived data: the same input
 *   always gives the same value, so sharing it between requests can never be wrong).
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const COLLECTIONS = new Set(["Map", "Set", "WeakMap", "WeakSet"]);
const READONLY_TYPES = new Set(["ReadonlyMap", "ReadonlySet"]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

/** `file:line name` for each module-level mutable binding in `text`. */
export function moduleState(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const flags = statement.declarationList.flags;
    const isConst = (flags & ts.NodeFlags.Const) !== 0;
    const comments = ts.getLeadingCommentRanges(text, statement.getFullStart()) ?? [];
    const pureMemo = comments.some((range) => /Pure memo:/.test(text.slice(range.pos, range.end)));
    for (const declaration of statement.declarationList.declarations) {
      const name = declaration.name.getText(source);
      const line = source.getLineAndCharacterOfPosition(declaration.getStart(source)).line + 1;
      if (!isConst) {
        found.push(`${file}:${line} ${name}`);
        continue;
      }
      const init = declaration.initializer;
      if (init === undefined || !ts.isNewExpression(init) || !COLLECTIONS.has(init.expression.getText(source))) continue;
      const type = declaration.type;
      const readonlyType = type !== undefined && ts.isTypeReferenceNode(type) && READONLY_TYPES.has(type.typeName.getText(source));
      if (readonlyType || pureMemo) continue;
      found.push(`${file}:${line} ${name}`);
    }
  }
  return found;
}

describe("module-level state in src/", () => {
  it("finds what it is meant to find, and only that (the check can fail)", () => {
    const text = [
      "let count = 0;",
      "export const cache = new Map<string, number>();",
      "const seen = new Set<string>();",
      "// Pure memo: derived",
      "const memo = new WeakMap();",
      'const TABLE: ReadonlySet<string> = new Set(["a"]);',
      "const LIST = [1, 2] as const;",
      "function f() {",
      "  let inner = 1;",
      "  const local = new Map();",
      "}",
      "const page = `",
      "let adminToken = null;",
      "`;",
    ].join("\n");
    expect(moduleState("a.ts", text)).toEqual(["a.ts:1 count", "a.ts:2 cache", "a.ts:3 seen"]);
  });

  it("src/ has none", () => {
    const files = sourceFiles(join(ROOT, "src"));
    expect(files.length).toBeGreaterThan(50);
    const found = files.flatMap((path) => moduleState(relative(ROOT, path), readFileSync(path, "utf8")));
    expect(found).toEqual([]);
  });
});
