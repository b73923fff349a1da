/**
 * Runs in Node before the workerd test pool starts: reads the golden vectors from the repo's
 * fixture (test/fixtures/blocks.json, see its README) and hands them to the tests via `inject`, and
 * starts the dev origin (dev/origin) under its own Miniflare on a loopback port, so the edge's
 * integration tests talk to it over real HTTP (`inject("originUrl")`, the edge's ORIGIN_URL).
 * The dev origin's test controls need a bearer secret that the edge must not hold: it is made
 * here, bound to the dev origin only, and handed to the tests (`inject("devControlSecret")`,
 * used by test/helpers/dev-origin.ts alone).
 * Also starts a bare TCP origin that resets every connection mid-body (`inject("resetOriginUrl")`),
 * a fault neither Miniflare nor the dev origin can make.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { startDevOrigin } from "../test-node/harness/workers.ts";

export { TEST_SECRETS } from "../test-node/harness/workers.ts";

/** What the resetting origin sends before it resets: a 200 head promising more than it sends. */
export const RESET_ORIGIN_PARTIAL_BODY = "partial value, then a reset";

/**
 * A TCP server that reads a request head, answers `200` with `Content-Length: 65536` and a few
 * body bytes, then resets the connection (RST, not FIN): an origin dying mid-body.
 */
async function startResettingOrigin(): Promise<{ url: string; dispose: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined); // the reset is the point; the peer may reset first
    let head = "";
    socket.on("data", (chunk) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 65536\r\n\r\n${RESET_ORIGIN_PARTIAL_BODY}`, () => {
        socket.resetAndDestroy();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("resetting origin has no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    dispose: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * The most the kernel can hold between the edge and an origin that reads nothing: the sending
 * socket's buffer and the receiving one's, at their largest (Linux: the third field of
 * net.ipv4.tcp_wmem and tcp_rmem). Elsewhere, 8 MiB each (macOS's kern.ipc.maxsockbuf default).
 */
function socketBufferMaxBytes(): number {
  const third = (path: string) => Number(readFileSync(path, "utf8").trim().split(/\s+/)[2]);
  try {
    const total = third("/proc/sys/net/ipv4/tcp_wmem") + third("/proc/sys/net/ipv4/tcp_rmem");
    if (Number.isSafeInteger(total) && total > 0) return total;
  } catch {
    // Not Linux.
  }
  return 2 * 8 * 1024 * 1024;
}

/** The golden vectors: data from the backend's serializers, kept in the repo (test/fixtures/README.md). */
export const VECTORS_PATH = fileURLToPath(new URL("./fixtures/blocks.json", import.meta.url));

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  project.provide("blocksVectorsJson", readFileSync(VECTORS_PATH, "utf8"));
  project.provide("socketBufferMaxBytes", socketBufferMaxBytes());

  const controlSecret = randomBytes(24).toString("base64url");
  const origin = await startDevOrigin({ controlSecret });
  project.provide("originUrl", origin.url);
  project.provide("devControlSecret", controlSecret);
  const resetting = await startResettingOrigin();
  project.provide("resetOriginUrl", resetting.url);
  return async () => {
    await resetting.dispose();
    await origin.dispose();
  };
}
