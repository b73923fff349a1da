import { describe, expect, it } from "vitest";
import {
  planImagePlaylist,
  planM3uCredential,
  planTranscriptCredential,
  planWebPlaylist,
} from "../../src/routes/resource-plan";
import { planTopSharers } from "../../src/routes/top-sharers-plan";
import { isoToUnixDate } from "../../src/keys/la-time";

const q = (s: string) => new URLSearchParams(s);

describe("image playlist credential and presign (A #1)", () => {
  it("query jwt presigns by default", () => {
    expect(planImagePlaylist(q("jwt=a.b.c"), null)).toEqual({ kind: "credential", presign: true, credential: { kind: "token", token: "a.b.c", presignWith: "a.b.c" } });
    expect(planImagePlaylist(q("jwt=a.b.c&presign=false"), null)).toEqual({ kind: "credential", presign: false, credential: { kind: "token", token: "a.b.c", presignWith: null } });
  });
  it("the header wins and does not presign by default", () => {
    expect(planImagePlaylist(q("jwt=x.y.z"), "bearer a.b.c")).toEqual({ kind: "credential", presign: false, credential: { kind: "token", token: "a.b.c", presignWith: null } });
    expect(planImagePlaylist(q("presign=True"), "bearer a.b.c")).toEqual({ kind: "credential", presign: true, credential: { kind: "token", token: "a.b.c", presignWith: "a.b.c" } });
  });
  it("nothing at all is 403 (the backend checks 'bearer None'), a bad prefix is 401", () => {
    const none = planImagePlaylist(q(""), null);
    expect(none.kind === "credential" && none.credential.kind === "failure" && none.credential.failure.reason).toBe("invalid");
    const bad = planImagePlaylist(q("jwt=a.b.c"), "Bearer a.b.c");
    expect(bad.kind === "credential" && bad.credential.kind === "failure" && bad.credential.failure.reason).toBe("bad_format");
  });
  it("public", () => {
    expect(planImagePlaylist(q("public=true"), null)).toEqual({ kind: "public", presign: false });
    expect(planImagePlaylist(q("public=1&presign=yes"), "bearer x")).toEqual({ kind: "public", presign: true });
  });
  it("unknown spellings and odd token characters pass through", () => {
    expect(planImagePlaylist(q("public=maybe"), null).kind).toBe("passthrough");
    const odd = planImagePlaylist(q("jwt=a b"), null);
    expect(odd.kind === "credential" && odd.credential.kind).toBe("passthrough");
  });
});

describe("web.json (A #6)", () => {
  it("presign defaults to true unless the header is used", () => {
    expect(planWebPlaylist(q("jwt=a.b.c"), null)).toEqual({ kind: "token", token: "a.b.c", presignWith: "a.b.c" });
    expect(planWebPlaylist(q(""), "bearer a.b.c")).toEqual({ kind: "token", token: "a.b.c", presignWith: null });
    expect(planWebPlaylist(q("presign=true"), "bearer a.b.c")).toEqual({ kind: "token", token: "a.b.c", presignWith: "a.b.c" });
    expect(planWebPlaylist(q("jwt=a.b.c&presign=false"), null)).toEqual({ kind: "token", token: "a.b.c", presignWith: null });
  });
  it("nothing is 401 not_set", () => {
    expect(planWebPlaylist(q(""), null)).toEqual({ kind: "failure", failure: { reason: "not_set" } });
  });
});

describe("m3u8 routes (A #7–#9) and transcripts (blocks §5)", () => {
  it("query presigns by default, header does not", () => {
    expect(planM3uCredential(q("jwt=a.b.c"), null)).toEqual({ kind: "token", token: "a.b.c", presignWith: "a.b.c" });
    expect(planM3uCredential(q("jwt=x"), "bearer a.b.c")).toEqual({ kind: "token", token: "a.b.c", presignWith: null });
    expect(planM3uCredential(q("presign=true"), "bearer a.b.c")).toEqual({ kind: "token", token: "a.b.c", presignWith: "a.b.c" });
    expect(planM3uCredential(q(""), null)).toEqual({ kind: "failure", failure: { reason: "not_set" } });
    expect(planM3uCredential(q(""), "Bearer a")).toEqual({ kind: "failure", failure: { reason: "bad_format" } });
  });
  it("transcripts: header only", () => {
    expect(planTranscriptCredential(null)).toEqual({ kind: "failure", failure: { reason: "not_set" } });
    expect(planTranscriptCredential("bearer a.b.c")).toEqual({ kind: "token", token: "a.b.c", presignWith: null });
  });
});

describe("top sharers window (blocks §6)", () => {
  const now = Date.parse("2023-11-14T22:13:20Z") / 1000; // 1700000000: 2023-11-14 14:13 PST
  const today = isoToUnixDate("2023-11-14") as number;
  it("defaults: None to yesterday (exclusive)", () => {
    expect(planTopSharers("{}", "application/json", now)).toEqual({ kind: "serve", values: ["None", String(today - 1)] });
    expect(planTopSharers('{"start_date":null,"end_date":null,"x":1}', null, now)).toEqual({ kind: "serve", values: ["None", String(today - 1)] });
  });
  it("clamps both ends to yesterday", () => {
    expect(planTopSharers('{"start_date":"2023-11-01","end_date":"2023-12-01"}', "application/json", now)).toEqual({
      kind: "serve",
      values: [String(isoToUnixDate("2023-11-01")), String(today - 1)],
    });
  });
  it("start ≥ end and bodies FastAPI would refuse pass through", () => {
    expect(planTopSharers('{"start_date":"2023-11-13","end_date":"2023-11-01"}', "application/json", now).kind).toBe("passthrough");
    expect(planTopSharers('{"start_date":"2023-11-20"}', "application/json", now).kind).toBe("passthrough");
    expect(planTopSharers("", "application/json", now).kind).toBe("passthrough");
    expect(planTopSharers("[]", "application/json", now).kind).toBe("passthrough");
    expect(planTopSharers('{"start_date":5}', "application/json", now).kind).toBe("passthrough");
    expect(planTopSharers("{}", "text/plain", now).kind).toBe("passthrough");
    expect(planTopSharers('{"end_date":"2023/11/01"}', "application/json", now).kind).toBe("passthrough");
  });
});
