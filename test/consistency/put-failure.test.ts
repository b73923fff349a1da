/**
 * An admin PUT whose KV write fails answers 503 "nothing applied": the shield must not keep the
 * value in its own storage either, or its next fill answers it (found by the consistency checker,
 * docs/reliability.md "Consistency").
 */
import { expect, it } from "vitest";
import { faultyKv } from "../helpers/faults";
import { setOriginValue } from "../helpers/dev-origin";
import { wrapShieldStorage } from "../helpers/shield-seams";
import { adminToken } from "../helpers/tokens";
import { callWorker, productionEnv, uniqueId } from "../helpers/worker";
import { resourceToken } from "../routes/helpers";
import { encodeTranscript } from "../../dev/origin/encode/u64";

it("a PUT that KV refused is never served from the shield's own storage", async () => {
  const now = Math.floor(Date.now() / 1000);
  const uid = `oseh_t_${uniqueId("putfail")}`;
  const key = `transcripts:${uid}`;
  // Small values: the shield keeps them in its own storage (this project pins SHIELD_MAX_VALUE_BYTES 160; a Durable Object reads its project's bindings).
  await setOriginValue(key, encodeTranscript({ uid, phrases: [] }));
  const env = productionEnv({ SHIELD_MAX_VALUE_BYTES: "1048576" });
  const restore = wrapShieldStorage({ kv: (real) => faultyKv(real, { put: "error" }).kv });
  let put: Response;
  try {
    put = await callWorker(`https://edge.test/_edge/v1/keys/${encodeURIComponent(key)}`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${await adminToken(now)}` },
      body: encodeTranscript({ uid, phrases: [{ starts_at: 0, ends_at: 1, phrase: "refused" }] }),
    }, { now, env });
  } finally {
    restore();
  }
  expect(put.status).toBe(503);
  const read = await callWorker(`https://edge.test/api/1/transcripts/${uid}`, { headers: { authorization: `bearer ${await resourceToken("transcript", uid, now)}` } }, { now, env });
  expect(read.status).toBe(200);
  expect(await read.text()).not.toContain("refused");
});

it("a PUT that KV refused leaves no source-time mark: an older write is still applied (found by the consistency checker)", async () => {
  const now = Math.floor(Date.now() / 1000);
  const uid = `oseh_t_${uniqueId("putfailmark")}`;
  const key = `transcripts:${uid}`;
  const env = productionEnv({});
  const putWith = (phrase: string, sourceTime: number) =>
    adminToken(now).then((token) =>
      callWorker(`https://edge.test/_edge/v1/keys/${encodeURIComponent(key)}`, {
        method: "PUT",
        headers: { Authorization: `Bearer ${token}`, "X-Edge-Source-Time": String(sourceTime) },
        body: encodeTranscript({ uid, phrases: [{ starts_at: 0, ends_at: 1, phrase }] }),
      }, { now, env }),
    );
  const restore = wrapShieldStorage({ kv: (real) => faultyKv(real, { put: "error" }).kv });
  let refused: Response;
  try {
    refused = await putWith("refused", now - 10);
  } finally {
    restore();
  }
  expect(refused.status).toBe(503);
  // Nothing was applied, so nothing newer orders this older write out.
  expect((await putWith("older", now - 20)).status).toBe(204);
});
