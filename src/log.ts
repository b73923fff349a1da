/**
 * The Worker's one way to print an event that is not the per-request line (src/observe): one JSON
 * object on one line, `msg` first, so log queries and alerts (docs/deploy.md) can select it.
 * Fields are scalars on purpose: callers pass labels they chose (a family pattern, a status, a
 * reason), never a request, a header, a key with its ids, a token or a value.
 */
import { familyNameOf } from "./keys";

export type LogField = string | number | boolean | null;

export function logEvent(msg: string, fields: Record<string, LogField> = {}, level: "error" | "warn" = "error"): void {
  const line = JSON.stringify({ msg, ...fields });
  if (level === "warn") console.warn(line);
  else console.error(line);
}

/** An error as two scalar fields: its name and its message (no stack, no attached objects). */
export function errorFields(error: unknown): { error: string; message: string } {
  return error instanceof Error ? { error: error.name, message: error.message } : { error: typeof error, message: String(error) };
}

/** An error's message alone, for a message a caller reads (never a stack, never a value). */
export function describeError(error: unknown): string {
  return errorFields(error).message;
}

/** A key's family pattern for a log line (never the key itself, which carries ids). */
export function familyLabelOf(key: string): string {
  return familyNameOf(key) ?? "(unknown)";
}
