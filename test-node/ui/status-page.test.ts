/**
 * The status page (`/_edge/v1/ui`) in headless Chromium (Debian's, driven by playwright-core)
 * against a real edge: the shell holds no data and needs no token; every data call carries the
 * token pasted once, kept in the page's memory only (no storage, no cookie: a reload asks again);
 * the page says which principal signed in and what needs a service token; every family shows its
 * counters; a purge asks for confirmation first. The run saves a screenshot to
 * .test-results/status-page.png.
 */
import { mkdirSync } from "node:fs";
import { SignJWT } from "jose";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { mintAdminToken } from "../../shared/admin-client.ts";
import { launchChromium } from "../harness/browser";
import { startEdge, TEST_SECRETS, type ServedWorker } from "../harness/workers";

const TRANSCRIPT = "oseh_t_devTranscript00000000001";
/** An admin in the dev origin's fixtures (dev/origin/fixtures/families.ts). */
const ADMIN = "oseh_u_devAdmin0000000000001";
let edge: ServedWorker;
let browser: Browser;
let token = "";

async function transcriptGet(): Promise<number> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({ sub: TRANSCRIPT, iss: "oseh", aud: "oseh-transcript", iat: now - 1, exp: now + 600 })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(TEST_SECRETS.OSEH_TRANSCRIPT_JWT_SECRET));
  const res = await fetch(`${edge.url}/api/1/transcripts/${TRANSCRIPT}`, { headers: { authorization: `bearer ${jwt}` } });
  await res.arrayBuffer();
  return res.status;
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

/** Opens the page, recording every call it makes to the admin API. */
async function open(): Promise<{ page: Page; calls: { path: string; authorization: string | undefined }[]; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const calls: { path: string; authorization: string | undefined }[] = [];
  const errors: string[] = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.pathname.startsWith("/_edge/v1/")) calls.push({ path: url.pathname, authorization: request.headers()["authorization"] });
  });
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  await page.goto(`${edge.url}/_edge/v1/ui`);
  return { page, calls, errors };
}

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

    await page.fill("#token", token);
    await page.click("#login-form button[type=submit]");
    const row = page.locator('tr[data-family="transcripts:{uid}"]');
    await row.waitFor();
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
    await page.click("#refresh");
    const dataCalls = () => calls.filter((c) => c.path !== "/_edge/v1/ui");
    await expect.poll(() => dataCalls().length).toBe(6);
    await page.locator("#status", { hasText: "refreshed" }).waitFor();
    expect(await storedAnywhere(page)).toEqual({ session: [], local: [], cookie: "", cookies: 0 });
    expect(dataCalls().map((c) => c.path).sort()).toEqual(["/_edge/v1/families", "/_edge/v1/families", "/_edge/v1/stats", "/_edge/v1/stats", "/_edge/v1/whoami", "/_edge/v1/whoami"]);
    for (const call of dataCalls()) expect(call.authorization).toBe(`bearer ${token}`);

    // A reload asks again, and calls nothing without a token.
    await page.reload();
    await page.locator("#login").waitFor({ state: "visible" });
    expect(dataCalls()).toHaveLength(6);
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

  it("purges a key, a prefix or a family only after confirmation", async () => {
    const key = `auth:is_admin:oseh_u_ui${Date.now().toString(36)}`;
    expect((await admin(`/keys/${encodeURIComponent(key)}`, { method: "PUT", body: "1" })).status).toBe(204);
    const { page } = await open();
    await page.fill("#token", token);
    await page.click("#login-form button[type=submit]");
    await page.locator("#families tr").first().waitFor();

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
    await page.click('tr[data-family="transcripts:{uid}"] button');
    await page.locator("#status.ok").waitFor();
    expect(dialogs.at(-1)).toBe("Purge every key of the family transcripts:{uid} from every colo?");
    await page.context().close();
  });
});
