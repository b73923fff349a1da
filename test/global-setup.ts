/**
 * Runs in Node before the workerd test pool starts: reads the golden vectors from
 * ../shared/vectors (never copied into the repo) and hands them to the tests via `inject`.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

/** `../shared` beside the checkout (as on the developers' machines and in CI); overridable. */
export const SHARED_DIR = process.env.OSEH_SHARED_DIR
  ? `${process.env.OSEH_SHARED_DIR.replace(/\/+$/, "")}/`
  : fileURLToPath(new URL("../../shared/", import.meta.url));

export default function setup(project: TestProject): void {
  let vectors: string;
  try {
    vectors = readFileSync(`${SHARED_DIR}vectors/blocks.json`, "utf8");
  } catch (cause) {
    throw new Error(`golden vectors not found at ${SHARED_DIR}vectors/blocks.json (set OSEH_SHARED_DIR)`, { cause });
  }
  project.provide("blocksVectorsJson", vectors);
}

declare module "vitest" {
  export interface ProvidedContext {
    blocksVectorsJson: string;
  }
}
