/**
 * The status page (`/_edge/v1/ui`) in headless Chromium (Debian's, driven by playwright-core)
 * against a real edge: the shell holds no data and needs no token; every data call carries the
 * token pasted once, kept in the page's memory only (no storage, no cookie: a reload asks again);
 * the page says which principal signed in and what needs a service token; every family shows its
 * counters, busiest first; while open it polls `/stats` (the page's timers run on Playwright's
 * clock, so each poll happens when the test advances it) and charts the deltas between polls of
 * one isolate id; a family's shield figures are asked for only while its row is open; a purge
 * asks for confirmation first. The run saves screenshots to .test-results/status-page*.png.
 */
import { mkdirSync } from "node:fs";
import { SignJWT } from "jose";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { mintAdminToken } from "../../shared/admin-client.ts";
import { armFaults } from "../../test/helpers/dev-origin";
import { launchChromium } from "../harness/browser";
import { startEdge, TEST_SECRETS, type ServedWorker } from "../harness/workers";

const TRANSCRIPT = "oseh_t_devTranscript00000000001";
/** An admin in the dev origin's fixtures (dev/origin/fixtures/families.ts). */
const ADMIN = "oseh_u_devAdmin0000000000001";
/** An image in the dev origin's fixtures (dev/origin/fixtures/families.ts). */
const IMAGE = "oseh_if_devBg00000000000000001";
/** The page's poll interval (POLL_MS in src/admin/ui.ts). */
const POLL_MS = 5000;
/** How long to wait for the page's answer to arrive: a loaded 2-core machine is slow, not wrong. */
const POLL_WAIT = { timeout: 15_000 };
let edge: ServedWorker;
let browser: Browser;
let token = "";

/** A resource route through the edge with its JWT (src/auth/jwt.ts audiences); the status. */
async function resourceGet(path: string, sub: string, aud: string, secret: string): Promise<number> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({ sub, iss: "oseh", aud, iat: now - 1, exp: now + 600 })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(secret));
  const res = await fetch(`${edge.url}${path}`, { headers: { authorization: `bearer ${jwt}` } });
  await res.arrayBuffer();
  return res.status;
}

function transcriptGet(uid = TRANSCRIPT): Promise<number> {
  return resourceGet(`/api/1/transcripts/${uid}`, uid, "oseh-transcript", TEST_SECRETS.OSEH_TRANSCRIPT_JWT_SECRET);
}

function imagePlaylistGet(): Promise<number> {
  return resourceGet(`/api/1/image_files/playlist/${IMAGE}`, IMAGE, "oseh-image", TEST_SECRETS.OSEH_IMAGE_FILE_JWT_SECRET);
}

function admin(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${edge.url}/_edge/v1${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `bearer ${token}` } });
}

beforeAll(async () => {
  edge = await startEdge({ originUrl: inject("originUrl") });
  token = await mintAdminToken(inject("edgeAdminSecret"), { now: Date.now() / 1000, sub: "ui-test", seconds: 600 });
  browser = await launchChromium();
  // Traffic for the counters: a miss filled from the origin, then a hit.
  expect(await transcriptGet()).toBe(200);
  expect(await transcriptGet()).toBe(200);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await edge?.dispose();
});

/** Everything the page's origin keeps for it: a token in any of these, any same-origin page could read. */
async function storedAnywhere(page: Page): Promise<{ session: string[]; local: string[]; cookie: string; cookies: number }> {
  const inPage = await page.evaluate(() => {
    const values = (storage: Storage) => Array.from({ length: storage.length }, (_, i) => storage.getItem(storage.key(i) ?? "") ?? "");
    // The page's `document` (this project is typed for Node, which has no DOM).
    const { cookie } = (globalThis as unknown as { document: { cookie: string } }).document;
    return { session: values(sessionStorage), local: values(localStorage), cookie };
  });
  return { ...inPage, cookies: (await page.context().cookies()).length };
}

interface Call {
  /** Path and query, e.g. `/_edge/v1/stats?family=…` (decoded). */
  path: string;
  authorization: string | undefined;
}

/**
 * Opens the page, recording every call it makes to the admin API. The page's clock is
 * Playwright's, paused: its timers (the poll) fire only when a test calls `nextPoll`.
 */
async function open(): Promise<{ page: Page; calls: Call[]; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const start = Date.now();
  await page.clock.install({ time: start });
  await page.clock.pauseAt(start + 1000);
  const calls: Call[] = [];
  const errors: string[] = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.pathname.startsWith("/_edge/v1/")) calls.push({ path: decodeURIComponent(url.pathname + url.search), authorization: request.headers()["authorization"] });
  });
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  await page.goto(`${edge.url}/_edge/v1/ui`);
  return { page, calls, errors };
}

/** How many polls the page has answered (it says so on `#main`). */
async function pollsDone(page: Page): Promise<number> {
  return Number((await page.getAttribute("#main", "data-polls")) ?? "0");
}

async function signIn(page: Page): Promise<void> {
  await page.fill("#token", token);
  await page.click("#login-form button[type=submit]");
  await expect.poll(() => pollsDone(page), POLL_WAIT).toBe(1);
}

/** Lets the page's poll timer fire once and waits for that poll's answer to be shown. */
async function nextPoll(page: Page): Promise<void> {
  const before = await pollsDone(page);
  await page.clock.runFor(POLL_MS);
  await expect.poll(() => pollsDone(page), POLL_WAIT).toBe(before + 1);
}

async function familyOrder(page: Page): Promise<string[]> {
  return page.locator("#families tr[data-family]").evaluateAll((rows) => rows.map((row) => (row as unknown as { dataset: { family: string } }).dataset.family));
}

async function chartPoints(page: Page): Promise<Array<{ hits: number; misses: number; errors: number }>> {
  return page.locator("#chart g.point").evaluateAll((points) =>
    points.map((point) => {
      const value = (name: string) => Number((point as unknown as { getAttribute(n: string): string }).getAttribute(name));
      return { hits: value("data-hits"), misses: value("data-misses"), errors: value("data-errors") };
    }),
  );
}

const statsCalls = (calls: Call[]) => calls.filter((c) => c.path.startsWith("/_edge/v1/stats")).map((c) => c.path.slice("/_edge/v1".length));

describe("status page", () => {
  it("serves a shell with no data and no auth, locked down by CSP", async () => {
    const res = await fetch(`${edge.url}/_edge/v1/ui`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("content-security-policy")).toMatch(/frame-ancestors 'none'/);
    const html = await res.text();
    expect(html).not.toContain("transcripts:{uid}");
    expect(html).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/); // no isolate id
    expect((await fetch(`${edge.url}/_edge/v1/ui`, { method: "POST" })).status).toBe(405);
  });

  it("asks for the token once, sends it on every data call, and shows every family's counters", async () => {
    const { page, calls, errors } = await open();
    await page.locator("#login").waitFor({ state: "visible" });
    expect(calls.filter((c) => c.path !== "/_edge/v1/ui")).toEqual([]); // nothing fetched without a token

    await signIn(page);
    const row = page.locator('tr[data-family="transcripts:{uid}"]');
    expect(await page.locator("#families tr").count()).toBe(63);
    const cells = await row.locator("td").allTextContents();
    // family, hit ratio, hits, misses, stale serves, fills, origin errors
    expect(cells.slice(0, 7)).toEqual(["transcripts:{uid}", "50.0%", "1", "1", "0", "1", "0"]);
    expect(await page.textContent("#isolate")).toMatch(/^[0-9a-f-]{36}$/);

    expect(await page.textContent("#principal")).toBe("Signed in with a service token: it may do everything.");

    mkdirSync(".test-results", { recursive: true });
    await page.screenshot({ path: ".test-results/status-page.png", fullPage: false });

    // Signed in, data loaded: the token is in no storage and no cookie any same-origin page could read.
    expect(await storedAnywhere(page)).toEqual({ session: [], local: [], cookie: "", cookies: 0 });
    // Refresh and the timer both poll /stats alone: whoami and the registry were asked once.
    await page.click("#refresh");
    await expect.poll(() => pollsDone(page), POLL_WAIT).toBe(2);
    await nextPoll(page);
    const dataCalls = () => calls.filter((c) => c.path !== "/_edge/v1/ui");
    expect(await storedAnywhere(page)).toEqual({ session: [], local: [], cookie: "", cookies: 0 });
    expect(dataCalls().map((c) => c.path).sort()).toEqual(["/_edge/v1/families", "/_edge/v1/stats", "/_edge/v1/stats", "/_edge/v1/stats", "/_edge/v1/whoami"]);
    for (const call of dataCalls()) expect(call.authorization).toBe(`bearer ${token}`);

    // A reload asks again, and calls nothing without a token (nor does its clock).
    await page.reload();
    await page.locator("#login").waitFor({ state: "visible" });
    await page.clock.runFor(3 * POLL_MS);
    expect(dataCalls()).toHaveLength(5);
    expect(await storedAnywhere(page)).toEqual({ session: [], local: [], cookie: "", cookies: 0 });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("a refused token sends the page back to the token form", async () => {
    const { page } = await open();
    await page.fill("#token", "not-a-token");
    await page.click("#login-form button[type=submit]");
    await page.locator("#status.bad").waitFor();
    expect(await page.textContent("#status")).toMatch(/refused that token \(403/);
    expect(await page.isVisible("#login")).toBe(true);
    expect(await storedAnywhere(page)).toEqual({ session: [], local: [], cookie: "", cookies: 0 });
    await page.context().close();
  });

  it("an admin's id token: the page says it may read and purge, and that writing values needs a service token", async () => {
    const now = Math.floor(Date.now() / 1000);
    const idToken = await new SignJWT({ sub: ADMIN, iss: "oseh", aud: "oseh-id", iat: now - 1, exp: now + 600, jti: "ui-admin" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(new TextEncoder().encode(TEST_SECRETS.OSEH_ID_TOKEN_SECRET));
    const { page, errors } = await open();
    await page.fill("#token", idToken);
    await page.click("#login-form button[type=submit]");
    await page.locator("#families tr").first().waitFor();
    expect(await page.textContent("#principal")).toBe(
      `Signed in with an admin's id token (${ADMIN}): it may read and purge. Writing values (PUT /keys/{key}) needs a service token (npx oseh-edge token admin).`,
    );
    expect(await storedAnywhere(page)).toEqual({ session: [], local: [], cookie: "", cookies: 0 });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("sorts families by traffic, busiest first, and again as traffic changes", async () => {
    // transcripts has 2 reads (beforeAll); the image playlist gets 5: a miss, then 4 hits.
    for (let i = 0; i < 5; i += 1) expect(await imagePlaylistGet()).toBe(200);
    const { page, errors } = await open();
    await signIn(page);
    const order = await familyOrder(page);
    expect(order.slice(0, 2)).toEqual(["image_files:playlist:{uid}", "transcripts:{uid}"]);
    const cells = (family: string) => page.locator(`tr[data-family="${family}"] td`).allTextContents();
    // family, hit ratio, hits, misses
    expect((await cells("image_files:playlist:{uid}")).slice(0, 4)).toEqual(["image_files:playlist:{uid}", "80.0%", "4", "1"]);
    expect((await cells(order[2] ?? "")).slice(1, 4)).toEqual(["–", "0", "0"]); // no traffic after the two

    // 4 more transcript reads (6 in all): it leads after the next poll.
    for (let i = 0; i < 4; i += 1) expect(await transcriptGet()).toBe(200);
    await nextPoll(page);
    expect((await familyOrder(page)).slice(0, 2)).toEqual(["transcripts:{uid}", "image_files:playlist:{uid}"]);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("charts hit ratio and origin errors between successive polls of one isolate id", async () => {
    const { page, errors } = await open();
    await signIn(page);
    const isolate = (await page.textContent("#isolate")) ?? "";
    // One poll: nothing to compare with yet.
    expect(await chartPoints(page)).toEqual([]);
    expect(await page.textContent("#chart-note")).toMatch(/^Waiting for a second poll to reach isolate /);

    // Between two polls: 2 hits, and a miss whose fill the origin failed (a fault-500 uid, armed
    // for this key only, test/helpers/dev-origin.ts).
    const failing = `oseh_t_fault-500ui${Date.now().toString(36)}`;
    await armFaults(failing);
    expect(await transcriptGet()).toBe(200);
    expect(await transcriptGet()).toBe(200);
    // The edge logs the failed fill (src/cache/read-through.ts): captured and checked, not printed.
    const logged: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void logged.push(args.join(" ")));
    try {
      await transcriptGet(failing);
      await expect.poll(() => logged.length, POLL_WAIT).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(JSON.parse(logged[0] ?? "")).toMatchObject({ msg: "origin fill failed", family: "transcripts:{uid}" });
    await nextPoll(page);
    expect(await chartPoints(page)).toEqual([{ hits: 2, misses: 1, errors: 1 }]);
    for (let i = 0; i < 3; i += 1) expect(await transcriptGet()).toBe(200);
    await nextPoll(page);
    expect(await chartPoints(page)).toEqual([
      { hits: 2, misses: 1, errors: 1 },
      { hits: 3, misses: 0, errors: 0 },
    ]);
    expect(await page.getAttribute("#chart", "data-isolate")).toBe(isolate);
    expect(await page.locator("#chart circle.ratio").count()).toBe(2);
    expect(await page.locator("#chart rect.errors").count()).toBe(1);
    expect(await page.isVisible("#chart-note")).toBe(false);
    await page.screenshot({ path: ".test-results/status-page-chart.png", fullPage: false });

    // One poll reaches another isolate (its answer as another isolate would send it): nothing of
    // it is charted against this isolate, and the page says why.
    const other = "00000000-0000-4000-8000-000000000000";
    await page.route("**/_edge/v1/stats*", async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, json: { ...((await response.json()) as object), isolate: other } });
    }, { times: 1 });
    expect(await transcriptGet()).toBe(200);
    await nextPoll(page);
    expect(await page.getAttribute("#chart", "data-isolate")).toBe(isolate);
    expect(await chartPoints(page)).toHaveLength(2);
    expect(await page.textContent("#chart-note")).toBe(
      `The last poll reached another isolate (00000000); its counters are not this isolate's, so the chart shows isolate ${isolate.slice(0, 8)} (choose above).`,
    );
    // The other isolate can be chosen: it has one poll, so nothing to chart yet.
    await page.selectOption("#chart-isolate", other);
    expect(await page.getAttribute("#chart", "data-isolate")).toBe(other);
    expect(await chartPoints(page)).toEqual([]);
    await page.selectOption("#chart-isolate", "");

    // Back on the first isolate: its delta spans both intervals (the hit made meanwhile).
    await nextPoll(page);
    expect((await chartPoints(page)).at(-1)).toEqual({ hits: 1, misses: 0, errors: 0 });
    expect(await page.isVisible("#chart-note")).toBe(false);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("asks for a family's edge-wide shield figures only while its row is open", async () => {
    const family = "transcripts:{uid}";
    const { page, calls, errors } = await open();
    await signIn(page);
    await nextPoll(page);
    await nextPoll(page);
    // Three polls, none naming a family: no shield was asked.
    expect(statsCalls(calls)).toEqual(["/stats", "/stats", "/stats"]);

    await page.click(`tr[data-family="${family}"] button.open`);
    const details = page.locator(`tr[data-details-for="${family}"] .figures.shield`);
    await details.waitFor();
    expect(statsCalls(calls).slice(3)).toEqual([`/stats?family=${family}`]);
    const shown = await details.locator("dl > div").evaluateAll((items) =>
      items.map((item) => {
        const node = item as unknown as { dataset: { counter: string }; querySelector(s: string): { textContent: string } };
        return [node.dataset.counter, node.querySelector("dt").textContent, node.querySelector("dd").textContent];
      }),
    );
    // What the edge answers for the family's shields, as the page shows it.
    const edgeWide = ((await (await admin(`/stats?family=${encodeURIComponent(family)}`)).json()) as { shield: Record<string, Record<string, number>> }).shield[family] ?? {};
    expect(edgeWide.fills).toBeGreaterThan(0);
    expect(Object.fromEntries(shown.map(([name, , value]) => [name, Number(value)]))).toEqual(edgeWide);
    expect(shown.map(([, label]) => label)).toEqual(expect.arrayContaining(["fills", "coalesced waiters", "late writes dropped"]));
    await page.screenshot({ path: ".test-results/status-page-family.png", fullPage: false });

    // While open, each poll asks for that one family's shields (still one call per poll).
    await nextPoll(page);
    expect(statsCalls(calls).slice(4)).toEqual([`/stats?family=${family}`]);

    // Closed: nothing asked on closing, and the polls leave the shields out again.
    await page.click(`tr[data-family="${family}"] button.open`);
    expect(await page.locator("tr.details").count()).toBe(0);
    await nextPoll(page);
    expect(statsCalls(calls).slice(5)).toEqual(["/stats"]);
    expect(await storedAnywhere(page)).toEqual({ session: [], local: [], cookie: "", cookies: 0 });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("shows a counter /stats adds as a column, with no change to the page", async () => {
    const { page, errors } = await open();
    // This answer carries two counters the registry may grow (as another isolate's deploy would).
    await page.route("**/_edge/v1/stats*", async (route) => {
      const response = await route.fetch();
      const body = (await response.json()) as { families: Record<string, Record<string, number>> };
      body.families["transcripts:{uid}"] = { ...body.families["transcripts:{uid}"], refreshes: 3, refreshFailures: 1 };
      await route.fulfill({ response, json: body });
    }, { times: 1 });
    await signIn(page);
    const headers = await page.locator("#columns th").evaluateAll((cells) => cells.map((cell) => (cell as unknown as { textContent: string }).textContent));
    expect(headers.slice(-3)).toEqual(["refreshes", "refresh failures", ""]);
    const row = page.locator('tr[data-family="transcripts:{uid}"] td');
    expect((await row.allTextContents()).slice(-3)).toEqual(["3", "1", "purge"]);
    expect(await row.nth(headers.length - 2).getAttribute("class")).toBe("num bad");
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("stops polling when the token is forgotten or refused", async () => {
    const { page, calls, errors } = await open();
    await signIn(page);
    await page.click("#forget");
    await page.locator("#login").waitFor({ state: "visible" });
    await page.clock.runFor(3 * POLL_MS);
    expect(statsCalls(calls)).toEqual(["/stats"]);

    // Signed in again; the edge then refuses the token on a poll (it expired, or was revoked).
    await page.fill("#token", token);
    await page.click("#login-form button[type=submit]");
    await expect.poll(() => pollsDone(page), POLL_WAIT).toBe(2);
    await page.route("**/_edge/v1/stats*", (route) => route.fulfill({ status: 401, json: { type: "expired", message: "token expired" } }), { times: 1 });
    await page.clock.runFor(POLL_MS);
    await page.locator("#login").waitFor({ state: "visible" });
    expect(await page.textContent("#status")).toBe("The edge refused that token (401 token expired).");
    await page.clock.runFor(3 * POLL_MS);
    expect(statsCalls(calls)).toEqual(["/stats", "/stats", "/stats"]);
    expect(await storedAnywhere(page)).toEqual({ session: [], local: [], cookie: "", cookies: 0 });
    // Chromium's own line for the refused call; nothing else.
    expect(errors).toEqual(["Failed to load resource: the server responded with a status of 401 (Unauthorized)"]);
    await page.context().close();
  });

  it("purges a key, a prefix or a family only after confirmation", async () => {
    const key = `auth:is_admin:oseh_u_ui${Date.now().toString(36)}`;
    expect((await admin(`/keys/${encodeURIComponent(key)}`, { method: "PUT", body: "1" })).status).toBe(204);
    const { page } = await open();
    await signIn(page);

    const dialogs: string[] = [];
    let accept = false;
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void (accept ? dialog.accept() : dialog.dismiss());
    });
    await page.selectOption("#purge-kind", "key");
    await page.fill("#purge-value", key);
    await page.click("#purge-form button[type=submit]");
    await page.locator("#status", { hasText: "Purge cancelled." }).waitFor();
    expect((await admin(`/keys/${encodeURIComponent(key)}`)).status).toBe(200); // still there

    accept = true;
    await page.click("#purge-form button[type=submit]");
    await page.locator("#status.ok").waitFor();
    expect(await page.textContent("#status")).toMatch(/^Purged 1 key; no colo serves them after \d+ s\.$/);
    expect((await admin(`/keys/${encodeURIComponent(key)}`)).status).toBe(404);
    expect(dialogs).toEqual([`Purge the key ${key} from every colo?`, `Purge the key ${key} from every colo?`]);

    // A family's own purge button asks the same way.
    await page.click('tr[data-family="transcripts:{uid}"] button.purge');
    await page.locator("#status.ok").waitFor();
    expect(dialogs.at(-1)).toBe("Purge every key of the family transcripts:{uid} from every colo?");
    await page.context().close();
  });
});
