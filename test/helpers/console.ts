/**
 * For a describe block whose fault tests make the Worker log on purpose: console.error is
 * captured instead of printed, and after each test every captured line must match `expected`
 * (an unexpected error still fails the test, with its text). `lines()` gives the current test's.
 */
import { afterEach, beforeEach, expect, vi, type MockInstance } from "vitest";

export function captureConsoleErrors(expected: RegExp): { lines: () => string[] } {
  const lines: string[] = [];
  let spy: MockInstance | undefined;
  beforeEach(() => {
    lines.length = 0;
    spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(" "));
    });
  });
  afterEach(() => {
    spy?.mockRestore();
    for (const line of lines) expect(line).toMatch(expected);
  });
  return { lines: () => [...lines] };
}

/**
 * The Worker's event lines (src/log.ts) as objects; fails the test on a line that is not
 * one JSON object with a `msg`, or that contains any of `forbidden` (ids, tokens, paths).
 */
export function eventRecords(lines: readonly string[], forbidden: readonly string[] = []): Record<string, unknown>[] {
  return lines.map((line) => {
    for (const text of forbidden) expect(line).not.toContain(text);
    const record = JSON.parse(line) as Record<string, unknown>;
    expect(typeof record.msg).toBe("string");
    return record;
  });
}
