/**
 * `npm run relay`: the relay as a process. Settings come from the environment (relay/config.ts,
 * docs/relay.md); a bad setting stops it at once with a message naming each one.
 */
import { parseRelayConfig } from "./config";
import { createJsonLogger } from "./log";
import { startRelay } from "./service";

const now = (): number => Date.now() / 1000;
/** On SIGTERM, how long the queue may keep draining to the edge before the process exits. */
const SHUTDOWN_DRAIN_MS = 10_000;
const log = createJsonLogger(now);
const parsed = parseRelayConfig(process.env);
if (!parsed.ok) {
  for (const error of parsed.errors) process.stderr.write(`relay: ${error}\n`);
  process.exit(2);
}

// Signal handlers go in before the relay starts: /healthz answers as soon as startRelay has
// bound its port, and a SIGTERM that arrived before the handlers would kill the process with the
// default action (exit 143) instead of draining the queue.
const starting = startRelay({ config: parsed.config, log, now, purgeCollabOnStart: true });
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log("info", "stopping", { signal });
    starting.then((relay) => relay.stop({ drainMs: SHUTDOWN_DRAIN_MS })).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

const relay = await starting;
log("info", "started", { edge: parsed.config.edgeUrl, health: `${relay.healthUrl}/healthz` });
