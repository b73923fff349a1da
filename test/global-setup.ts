/**
 * Runs in Node before the workerd test pool starts: reads the golden vectors from
 * ../shared/vectors (never copied into the repo) and hands them to the tests via `inject`.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

export const SHARED_DIR = fileURLToPath(new URL("../../shared/", import.meta.url));

export default function setup(project: TestProject): void {
  const vectors = readFileSync(`${SHARED_DIR}vectors/blocks.json`, "utf8");
  project.provide("blocksVectorsJson", vectors);
}

declare module "vitest" {
  export interface ProvidedContext {
    blocksVectorsJson: string;
  }
}
