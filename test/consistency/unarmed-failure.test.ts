/**
 * The checker's own rule, on the real Worker: a stale answer with `fwd-status=502` needs an origin
 * failure during the read. One the nemesis did not arm still is one (a long run met the dev
 * origin's Miniflare answering 500 with no fault armed, docs/reliability.md "What it found"): the
 * harness records the Worker's log of it as a fault on the key (./harness.ts `noteWorkerEvent`).
 */
import type fc from "fast-check";
import { expect, it, vi } from "vitest";
import { clearFault, setFault } from "../helpers/dev-origin";
import { noteWorkerEvent, runHistory, StepCommand, type Run } from "./harness";

/** A command outside the generated steps: it acts on the origin behind the harness's back. */
class Behind implements fc.AsyncCommand<object, Run> {
  constructor(readonly name: string, readonly act: (run: Run) => Promise<void>) {}
  check(): boolean {
    return true;
  }
  run(_model: object, run: Run): Promise<void> {
    return this.act(run);
  }
  toString(): string {
    return this.name;
  }
}

it("an origin 5xx the nemesis did not arm is an origin failure: the stale answer it causes is allowed", async () => {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "error").mockImplementation((line: unknown) => {
    lines.push(String(line));
    noteWorkerEvent(JSON.parse(String(line)) as { msg?: unknown });
  });
  let result: Awaited<ReturnType<typeof runHistory>>;
  try {
    result = await runHistory([
      new StepCommand({ do: "put", isolate: "a1", key: 0, ttl: 20, big: false, wait: true }),
      new StepCommand({ do: "advance", seconds: 30 }),
      new Behind("the origin answers 500 once, no fault step armed it", (run) => setFault(run.keys[0] as string, { kind: "status", status: 500 }, 1)),
      new StepCommand({ do: "read", isolate: "a1", key: 0, refresh: false, wait: true }),
      new Behind("the origin answers again", (run) => clearFault(run.keys[0] as string)),
    ]);
  } finally {
    spy.mockRestore();
  }
  const stale = result.history.ops.find((op) => op.kind === "read" && op.answer?.kind === "value" && op.answer.tier === "stale");
  expect(stale?.kind === "read" ? stale.answer : undefined).toMatchObject({ kind: "value", tier: "stale", fwdStatus: 502 });
  expect(result.history.ops.filter((op) => op.kind === "fault").map((op) => (op.kind === "fault" ? op.fault : ""))).toEqual(["unarmed 500"]);
  expect(result.violations).toEqual([]);
  expect(lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(["origin fill failed"]);
});
