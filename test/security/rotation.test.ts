/**
 * Secret rotation without downtime (docs/security.md): every secret the edge verifies with may
 * have a `<NAME>_PREVIOUS` companion that is accepted too; the edge always signs with the current
 * one. Through the Worker's own fetch.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import { idToken, signToken, TEST_SECRETS } from "../helpers/tokens";
import { callWorker } from "../helpers/worker";
import { seed } from "../routes/edge";

const EDGE = "http://edge.test";
const NOW = 1_700_000_000;
const baseEnv = env as unknown as Record<string, unknown>;

function transcriptToken(secret: string, uid: string): Promise<string> {
  return signToken({ secret, claims: { sub: uid, iss: "oseh", aud: "oseh-transcript", iat: NOW - 1, exp: NOW + 1800 } });
}

describe("previous secrets", () => {
  it("a resource JWT signed with OSEH_TRANSCRIPT_JWT_SECRET_PREVIOUS is accepted during the rotation only", async () => {
    const uid = `oseh_t_genrot${Date.now().toString(36)}`;
    await seed({ [`transcripts:${uid}`]: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 2, 0x7b, 0x7d]) }, NOW);
    const old = await transcriptToken("old-transcript-secret", uid);
    const get = (token: string, e: Record<string, unknown>) => callWorker(`${EDGE}/api/1/transcripts/${uid}`, { headers: { authorization: `bearer ${token}` } }, { now: NOW, env: e });
    const rotating = { ...baseEnv, OSEH_TRANSCRIPT_JWT_SECRET_PREVIOUS: "old-transcript-secret" };
    expect((await get(old, rotating)).status).toBe(200);
    expect((await get(await transcriptToken(TEST_SECRETS.transcript, uid), rotating)).status).toBe(200);
    expect((await get(old, baseEnv)).status).toBe(403);
    // Another kind's previous secret does not open transcripts.
    expect((await get(old, { ...baseEnv, OSEH_IMAGE_FILE_JWT_SECRET_PREVIOUS: "old-transcript-secret" })).status).toBe(403);
  });

  it("an id token signed with OSEH_ID_TOKEN_SECRET_PREVIOUS is an admin's during the rotation", async () => {
    const admin = "oseh_u_devAdmin0000000000001";
    const old = await signToken({ secret: "old-id-secret", claims: { sub: admin, iss: "oseh", aud: "oseh-id", iat: NOW - 1, exp: NOW + 600, jti: "j" } });
    const rotating = { ...baseEnv, OSEH_ID_TOKEN_SECRET_PREVIOUS: "old-id-secret" };
    const families = (token: string, e: Record<string, unknown>, now = NOW) => callWorker(`${EDGE}/_edge/v1/families`, { headers: { authorization: `Bearer ${token}` } }, { now, env: e });
    // The admin bit is filled from the dev origin, which checks the values token on the wall clock.
    const wall = Math.floor(Date.now() / 1000);
    const oldNow = await signToken({ secret: "old-id-secret", claims: { sub: admin, iss: "oseh", aud: "oseh-id", iat: wall - 1, exp: wall + 600, jti: "j" } });
    expect((await families(oldNow, rotating, wall)).status).toBe(200);
    expect((await families(await idToken(admin, wall), rotating, wall)).status).toBe(200);
    const refused = await families(old, baseEnv);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toBe("token is invalid: id token has a bad signature");
  });

  it("parses the companions (blank = unset) and ADMIN_TOKEN_MAX_SECONDS", () => {
    const config = parseConfig({ ...baseEnv, OSEH_ID_TOKEN_SECRET_PREVIOUS: "p", EDGE_ADMIN_JWT_SECRET_PREVIOUS: "", ADMIN_TOKEN_MAX_SECONDS: "120" });
    expect(config.previousSecrets).toEqual({ idToken: "p" });
    expect(config.adminTokenMaxSeconds).toBe(120);
    expect(parseConfig(baseEnv).adminTokenMaxSeconds).toBe(3600);
    expect(() => parseConfig({ ...baseEnv, ADMIN_TOKEN_MAX_SECONDS: "forever" })).toThrow(/ADMIN_TOKEN_MAX_SECONDS must be an integer/);
  });
});
