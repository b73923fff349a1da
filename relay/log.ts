/** Structured log lines: one JSON object per line, `event` naming what happened. */

export type LogLevel = "info" | "warn" | "error";
export type LogFields = Record<string, string | number | boolean | null | undefined>;
export type Logger = (level: LogLevel, event: string, fields?: LogFields) => void;

/** The production sink: JSON lines on stdout (info) and stderr (warn, error). */
export function createJsonLogger(now: () => number): Logger {
  return (level, event, fields = {}) => {
    const line = JSON.stringify({ time: new Date(now() * 1000).toISOString(), level, event, ...fields });
    (level === "info" ? process.stdout : process.stderr).write(`${line}\n`);
  };
}

/** How many bytes of a refused message the log shows. */
export const HEX_PREVIEW_BYTES = 64;

/** The first bytes of a message as hex, so a refusal can be diagnosed without logging a value. */
export function hexPreview(bytes: Uint8Array): string {
  const shown = bytes.subarray(0, HEX_PREVIEW_BYTES);
  return Buffer.from(shown.buffer, shown.byteOffset, shown.byteLength).toString("hex") + (bytes.byteLength > HEX_PREVIEW_BYTES ? "…" : "");
}
