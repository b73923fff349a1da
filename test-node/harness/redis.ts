/**
 * A real `redis-server` (the Debian package) on a free loopback port, for tests that run in Node.
 * Quiet (no persistence, warnings only, output discarded) and stoppable/restartable on the same
 * port, so a test can cut a client's connection for real.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer, connect } from "node:net";

export const REDIS_SERVER_BIN = process.env.REDIS_SERVER_BIN ?? "redis-server";
/** How long a starting server may take to accept connections before the test setup gives up. */
const START_TIMEOUT_MS = 10_000;

export interface RedisServer {
  url: string;
  port: number;
  /** Kills the server (SIGKILL: clients see the connection drop, as on a crash). */
  stop: () => Promise<void>;
  /** Starts it again on the same port, empty. */
  start: () => Promise<void>;
}

/** A port the kernel says is free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function assertInstalled(): void {
  const probe = spawnSync(REDIS_SERVER_BIN, ["--version"], { stdio: "ignore" });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(`${REDIS_SERVER_BIN} is not installed: \`npm test\` installs it first (scripts/test-prepare.ts), or apt-get install -y redis-server`);
  }
}

/** Resolves once something answers a TCP connect on the port. */
async function waitForPort(port: number, deadline: number, child: ChildProcess): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} on port ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server did not accept connections on port ${port} within ${START_TIMEOUT_MS} ms`);
}

export async function startRedis(): Promise<RedisServer> {
  assertInstalled();
  const port = await freePort();
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"];
    const proc = spawn(REDIS_SERVER_BIN, args, { stdio: "ignore" });
    child = proc;
    await waitForPort(port, Date.now() + START_TIMEOUT_MS, proc);
  }

  async function stop(): Promise<void> {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once("exit", () => resolve());
      proc.kill("SIGKILL");
    });
  }

  await start();
  return { url: `redis://127.0.0.1:${port}`, port, stop, start };
}
