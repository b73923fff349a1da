/**
 * The status page, `GET /_edge/v1/ui`: one HTML page served without auth, whose shell holds no
 * data. Its script asks for a token and keeps it in one variable of the page's memory only — never
 * sessionStorage, localStorage or a cookie, which any other HTML the origin serves on this same
 * origin (a user's upload served as `text/html`) could read (docs/security.md §2); a reload asks
 * again. It sends the token on every data call (`/whoami`, `/families`, `/stats`, `/purge`), says
 * which principal it is and what needs a service token (src/admin/principals.ts), and renders with
 * textContent only. A per-response nonce lets exactly this page's script and style run (CSP), and
 * the page may not be framed. docs/admin-api.md describes it.
 */

const SCRIPT = String.raw`
const base = location.pathname.replace(/\/ui$/, "");
const $ = (id) => document.getElementById(id);

// The token lives in this variable only: no storage, no cookie (docs/security.md §2).
let adminToken = null;

function say(text, kind) {
  const el = $("status");
  el.textContent = text;
  el.className = kind || "";
}

async function call(path, init) {
  const headers = new Headers((init && init.headers) || {});
  headers.set("authorization", "bearer " + adminToken);
  const res = await fetch(base + path, Object.assign({}, init, { headers, cache: "no-store" }));
  if (!res.ok) {
    let detail = "", type = "";
    try { const body = await res.json(); type = body.type || ""; detail = body.message || body.type || JSON.stringify(body.detail || body); } catch (e) {}
    const err = new Error(res.status + (detail ? " " + detail : ""));
    err.status = res.status;
    err.type = type;
    throw err;
  }
  return res.json();
}

// 401, or 403 "invalid": the token does not authenticate. A 403 "forbidden" came with a valid
// token that may not do that one thing (e.g. a PUT with an admin's id token): the page stays.
function refusedToken(err) {
  return err.status === 401 || (err.status === 403 && err.type !== "forbidden");
}

function showPrincipal(me) {
  const canWrite = me.routes.indexOf("PUT /keys/{key}") !== -1;
  $("principal").textContent = me.principal === "service"
    ? "Signed in with a service token: it may do everything."
    : "Signed in with an admin's id token (" + me.sub + "): it may read and purge. Writing values (PUT /keys/{key}) " + (canWrite ? "is allowed too." : "needs a service token (npx oseh-edge token admin).");
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
}

function ratio(c) {
  const reads = c.hits + c.misses;
  return reads === 0 ? "–" : (100 * c.hits / reads).toFixed(1) + "%";
}

async function load() {
  if (adminToken === null) { showLogin(); return; }
  say("loading…");
  try {
    const [me, families, stats] = await Promise.all([call("/whoami"), call("/families"), call("/stats")]);
    $("login").hidden = true;
    showPrincipal(me);
    $("main").hidden = false;
    $("isolate").textContent = stats.isolate || "?";
    $("since").textContent = new Date(stats.since * 1000).toISOString().replace(".000", "");
    const body = $("families");
    body.replaceChildren();
    const zero = { hits: 0, misses: 0, staleServes: 0, fills: 0, originErrors: 0 };
    const counters = (f) => Object.assign({}, zero, stats.families[f.name] || {});
    const activity = (f) => { const c = counters(f); return c.hits + c.misses + c.fills + c.originErrors + c.staleServes; };
    // Busy families first; the rest keep the registry's order.
    const ordered = families.map((f, i) => [f, activity(f), i]).sort((a, b) => b[1] - a[1] || a[2] - b[2]).map((e) => e[0]);
    for (const f of ordered) {
      const c = counters(f);
      const row = document.createElement("tr");
      row.dataset.family = f.name;
      cell(row, f.name, "name");
      cell(row, ratio(c), "num");
      cell(row, String(c.hits), "num");
      cell(row, String(c.misses), "num");
      cell(row, String(c.staleServes), c.staleServes > 0 ? "num warn" : "num");
      cell(row, String(c.fills), "num");
      cell(row, String(c.originErrors), c.originErrors > 0 ? "num bad" : "num");
      const action = document.createElement("td");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "purge";
      button.addEventListener("click", () => purge("family", f.name));
      action.appendChild(button);
      row.appendChild(action);
      body.appendChild(row);
    }
    say(families.length + " families · refreshed " + new Date().toLocaleTimeString());
  } catch (err) {
    if (refusedToken(err)) {
      adminToken = null;
      showLogin("The edge refused that token (" + err.message + ").");
    } else {
      say("Could not load: " + err.message, "bad");
    }
  }
}

function showLogin(message) {
  $("main").hidden = true;
  $("login").hidden = false;
  say(message || "Paste a service token (npx oseh-edge token admin) or an admin's id token. This page keeps it in memory only: a reload asks again.", message ? "bad" : "");
}

async function purge(kind, value) {
  value = (value || "").trim();
  if (!value) { say("Nothing to purge: enter a " + kind + ".", "bad"); return; }
  const what = kind === "key" ? "the key " + value : kind === "prefix" ? "every key starting with " + value : "every key of the family " + value;
  if (!confirm("Purge " + what + " from every colo?")) { say("Purge cancelled."); return; }
  let purged = 0, pages = 0, cursor = null, visible = 0;
  try {
    do {
      const body = kind === "key" ? { keys: [value] } : Object.assign({ [kind]: value }, cursor ? { cursor } : {});
      const page = await call("/purge", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      purged += page.purged; pages += 1; cursor = page.cursor; visible = page.visibleWithinSeconds;
      say("purging… " + purged + " keys, " + pages + " pages");
    } while (cursor);
    say("Purged " + purged + " key" + (purged === 1 ? "" : "s") + "; no colo serves them after " + visible + " s.", "ok");
  } catch (err) {
    if (refusedToken(err)) { adminToken = null; showLogin("The edge refused that token (" + err.message + ")."); return; }
    say("Purge failed after " + purged + " keys: " + err.message, "bad");
  }
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("token").value.trim();
  $("token").value = "";
  if (!value) return;
  adminToken = value;
  load();
});
$("purge-form").addEventListener("submit", (event) => {
  event.preventDefault();
  purge($("purge-kind").value, $("purge-value").value);
});
$("refresh").addEventListener("click", load);
$("forget").addEventListener("click", () => { adminToken = null; showLogin(); });
load();
`;

const STYLE = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #667085; --line: #e4e7ec; --bg: #fff; --head: #f5f6f8; --accent: #2456d3; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8ee; --muted: #98a2b3; --line: #2c3340; --bg: #12161d; --head: #1a2029; --accent: #7aa2ff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 16px; padding: 14px 24px; border-bottom: 1px solid var(--line); background: var(--head); }
header h1 { font-size: 17px; margin: 0; }
header .meta { color: var(--muted); font-size: 13px; }
main, #login { padding: 16px 24px; }
#status { padding: 8px 24px; color: var(--muted); min-height: 1.45em; }
#status.ok { color: #1a7f37; } #status.bad { color: #c4320a; }
#principal { margin: 0 0 12px; color: var(--muted); }
form { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin: 0 0 16px; }
input, select, button { font: inherit; padding: 5px 9px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
input[type=password] { width: 420px; max-width: 100%; } #purge-value { width: 360px; }
button { cursor: pointer; } button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { position: sticky; top: 0; background: var(--head); font-weight: 600; }
td.name { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.warn { color: #b54708; font-weight: 600; } td.bad { color: #c4320a; font-weight: 600; }
td button { padding: 1px 8px; font-size: 12px; }
.spacer { flex: 1; }
`;

function page(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>oseh-edge status</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header><h1>oseh-edge</h1><span class="meta">isolate <span id="isolate">–</span> · counting since <span id="since">–</span></span></header>
<div id="status" role="status"></div>
<section id="login" hidden>
  <form id="login-form">
    <label for="token">Admin token</label>
    <input id="token" type="password" autocomplete="off" placeholder="eyJ…">
    <button class="primary" type="submit">Load</button>
  </form>
</section>
<main id="main" hidden>
  <p id="principal"></p>
  <form id="purge-form">
    <label for="purge-kind">Purge</label>
    <select id="purge-kind"><option value="key">key</option><option value="prefix">prefix</option><option value="family">family</option></select>
    <input id="purge-value" placeholder="auth:is_admin:oseh_u_…" autocomplete="off">
    <button class="primary" type="submit">Purge…</button>
    <span class="spacer"></span>
    <button id="refresh" type="button">Refresh</button>
    <button id="forget" type="button">Forget token</button>
  </form>
  <table>
    <thead><tr><th>family</th><th class="num">hit ratio</th><th class="num">hits</th><th class="num">misses</th><th class="num">stale serves</th><th class="num">fills</th><th class="num">origin errors</th><th></th></tr></thead>
    <tbody id="families"></tbody>
  </table>
</main>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

/** The page, with a fresh nonce; counters are per isolate, like `/stats` itself. */
export function statusPageResponse(): Response {
  const nonce = crypto.randomUUID().replace(/-/g, "");
  return new Response(page(nonce), {
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy": `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
    },
  });
}
