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
