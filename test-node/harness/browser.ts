/**
 * Headless Chromium for the browser tests (test-node/ui, test-node/player): Debian's `chromium`
 * (or CHROMIUM_PATH), driven by playwright-core. `npm test` installs the package when it is
 * missing (scripts/test-prepare.ts), so this resolves it the same way.
 */
import { chromium, type Browser } from "playwright-core";
import { findExecutable } from "../../scripts/test-prepare.ts";

export function chromiumPath(): string {
  const path = findExecutable(process.env.CHROMIUM_PATH || "chromium", process.env.PATH);
  if (path === undefined) throw new Error("chromium is not installed: `npm test` installs it first (scripts/test-prepare.ts), or apt-get install -y chromium");
  return path;
}

/** `--no-sandbox`: the tests run as root in CI's container, where Chromium's sandbox refuses to start. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ["--no-sandbox"] });
}
