/**
 * The dev origin's values and gates controls (docs/origin.md §8): an origin whose data a test
 * changes, and answers a test holds until it releases them. The consistency checker, the player
 * tests and the bounded-body tests build on these.
 */
import { describe, expect, it } from "vitest";
import { devControl, gateOrigin, restoreOriginValue, setOriginAbsent, setOriginValue } from "../helpers/dev-origin";
import { freshId, getValue, originUrl } from "./helpers";

const text = async (r: Response) => new TextDecoder().decode(await r.arrayBuffer());

describe("values set in place of the fixtures", () => {
  it("a set value is what the values endpoint answers, with its expiry, until restored", async () => {
    const key = `auth:is_admin:oseh_u_gen${freshId("v")}`;
    const fixture = await getValue(key);
    expect(await text(fixture)).toBe("0");

    await setOriginValue(key, "1", { expiresAt: 2_000_000_000 });
    const set = await getValue(key);
    expect([set.status, await text(set), set.headers.get("X-Edge-Expires-At")]).toEqual([200, "1", "2000000000"]);

    await setOriginAbsent(key);
    const absent = await getValue(key);
    expect([absent.status, absent.headers.get("X-Edge-Value")]).toEqual([404, "absent"]);
    await absent.arrayBuffer();

    await restoreOriginValue(key);
    expect(await text(await getValue(key))).toBe("0");
  });

  it("binary values keep every byte, and the media routes serve a set object", async () => {
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
    const key = `s3_files:oseh_s3f_gen${freshId("o")}`;
    await setOriginValue(key, bytes);
    const answer = await getValue(key);
    expect(answer.headers.get("Content-Length")).toBe("300");
    expect(new Uint8Array(await answer.arrayBuffer())).toEqual(bytes);
  });

  it("refuses bad input and changes nothing", async () => {
    const key = `auth:is_admin:oseh_u_gen${freshId("b")}`;
    const put = (headers: Record<string, string>, body?: string) => devControl(`/__dev/values/${encodeURIComponent(key)}`, { method: "PUT", headers, ...(body === undefined ? {} : { body }) });
    for (const [headers, body] of [
      [{ "X-Edge-Expires-At": "soon" }, "1"],
      [{ "X-Edge-Expires-At": "1.5" }, "1"],
      [{ "X-Dev-Value": "gone" }, ""],
      [{ "X-Dev-Value": "absent" }, "1"],
    ] as const) {
      const response = await put(headers, body);
      expect([JSON.stringify(headers), response.status, ((await response.json()) as { type: string }).type]).toEqual([JSON.stringify(headers), 400, "bad_request"]);
    }
    const bad = await devControl("/__dev/values/%E0%A4%A", { method: "PUT", body: "1" });
    expect(bad.status).toBe(400);
    await bad.arrayBuffer();
    const empty = await devControl("/__dev/values/", { method: "PUT", body: "1" });
    expect(empty.status).toBe(400);
    await empty.arrayBuffer();
    expect(await text(await getValue(key))).toBe("0");
    expect(await ((await devControl(`/__dev/values/${encodeURIComponent(key)}`)).json())).toEqual({ key, source: "fixture" });
  });
});

describe("gates", () => {
  it("holds a values request until released, and answers from the origin's state at release", async () => {
    const key = `auth:is_admin:oseh_u_gen${freshId("g")}`;
    const gate = await gateOrigin({ key });
    let settled = false;
    const answer = getValue(key).then(async (r) => {
      settled = true;
      return text(r);
    });
    expect((await gate.arrived(1)).held).toBe(1);
    expect(settled).toBe(false);
    await setOriginValue(key, "1"); // changed while held: the answer is made at release
    expect((await gate.release()).released).toBe(1);
    expect(await answer).toBe("1");
    // Its one use is spent: the next request passes.
    expect(await text(await getValue(key))).toBe("1");
    await gate.close();
    await restoreOriginValue(key);
  });

  it("an answer gate holds the answer made at arrival: the origin changed meanwhile, the old value comes", async () => {
    const key = `auth:is_admin:oseh_u_gen${freshId("h")}`;
    await setOriginValue(key, "0", { expiresAt: 2_000_000_000 });
    const gate = await gateOrigin({ key }, 1, { hold: "answer" });
    let settled = false;
    const answer = getValue(key).then(async (r) => {
      settled = true;
      return [await text(r), r.headers.get("X-Edge-Expires-At")];
    });
    const arrived = await gate.arrived(1);
    expect([arrived.hold, arrived.held]).toEqual(["answer", 1]);
    expect(settled).toBe(false);
    await setOriginValue(key, "1", { expiresAt: 2_000_000_001 });
    await gate.release();
    expect(await answer).toEqual(["0", "2000000000"]);
    expect(await text(await getValue(key))).toBe("1");
    await gate.close();
    await restoreOriginValue(key);
  });

  it("holds requests to a routed path before their body is read, and releases them one at a time", async () => {
    const target = `/api/1/dev/gen-${freshId("p")}`;
    const gate = await gateOrigin({ target }, 2);
    const send = () => fetch(originUrl(target), { method: "POST", body: "abc" }).then((r) => r.status);
    const first = send();
    const second = send();
    expect((await gate.arrived(2)).held).toBe(2);
    const one = await gate.release(1);
    expect([one.held, one.released]).toEqual([1, 1]);
    expect(await Promise.race([first, second])).toBe(404);
    await gate.close();
    expect(await Promise.all([first, second])).toEqual([404, 404]);
  });

  it("a target with a query holds only requests with exactly that query (tests sharing a route hold their own)", async () => {
    const path = `/api/1/dev/gen-${freshId("q")}`;
    const gate = await gateOrigin({ target: `${path}?probe=mine` });
    let settled = false;
    const mine = fetch(originUrl(`${path}?probe=mine`), { method: "POST", body: "abc" }).then((r) => {
      settled = true;
      return r.status;
    });
    expect((await gate.arrived(1)).held).toBe(1);
    // Another query and no query pass the gate while it holds the first.
    expect((await fetch(originUrl(`${path}?probe=other`), { method: "POST", body: "abc" })).status).toBe(404);
    expect((await fetch(originUrl(path), { method: "POST", body: "abc" })).status).toBe(404);
    expect(settled).toBe(false);
    expect((await gate.state()).arrived).toBe(1);
    await gate.close();
    expect(await mine).toBe(404);
  });

  it("refuses bad input", async () => {
    const post = (body: unknown) => devControl("/__dev/gates", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    for (const body of [{}, { key: "a", target: "/b" }, { key: "" }, { target: "relative" }, { key: "k", times: 0 }, { key: "k", times: 1.5 }, { key: "k", hold: "later" }, { target: "/b", hold: "answer" }, [1]]) {
      const response = await post(body);
      expect([JSON.stringify(body), response.status]).toEqual([JSON.stringify(body), 400]);
      await response.arrayBuffer();
    }
    for (const [path, init, status] of [
      ["/__dev/gates/nope", {}, 404],
      ["/__dev/gates/nope/release", { method: "POST" }, 404],
      ["/__dev/gates/nope", { method: "DELETE" }, 404],
      ["/__dev/gates/nope/open", { method: "POST" }, 404],
      ["/__dev/gates/nope?arrived=x", {}, 400],
    ] as const) {
      const response = await devControl(path, init);
      expect([path, response.status]).toEqual([path, status]);
      await response.arrayBuffer();
    }
  });

  it("every new control refuses a request without the bearer DEV_CONTROL_SECRET", async () => {
    const key = `auth:is_admin:oseh_u_gen${freshId("s")}`;
    for (const [path, init] of [
      [`/__dev/values/${encodeURIComponent(key)}`, { method: "PUT", body: "1" }],
      [`/__dev/values/${encodeURIComponent(key)}`, { method: "DELETE" }],
      [`/__dev/values/${encodeURIComponent(key)}`, {}],
      ["/__dev/gates", { method: "POST", body: JSON.stringify({ key }) }],
    ] as const) {
      const response = await fetch(originUrl(path), init);
      expect([path, response.status]).toEqual([path, 403]);
      await response.arrayBuffer();
    }
    expect(await text(await getValue(key))).toBe("0");
  });
});
