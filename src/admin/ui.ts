/**
 * The status page, `GET /_edge/v1/ui`: one HTML page served without auth, whose shell holds no
 * data. Its script asks for a token and keeps it in one variable of the page's memory only — never
 * sessionStorage, localStorage or a cookie, which any other HTML the origin serves on this same
 * origin (a user's upload served as `text/html`) could read (docs/security.md §2); a reload asks
 * again. It sends the token on every data call (`/whoami`, `/families`, `/stats`, `/purge`), says
 * which principal it is and what needs a service token (src/admin/principals.ts), and renders with
 * textContent only (the chart too: SVG elements built by the script, no library). A per-response
 * nonce lets exactly this page's script and style run (CSP), and the page may not be framed.
 *
 * While open it polls `/stats` every few seconds: families sorted by traffic, and a chart of the
 * hit ratio and origin errors between successive polls of one isolate id (polls may reach
 * different isolates, whose counters are unrelated; `isolate` in the answer tells them apart). A
 * family's edge-wide shield figures are asked for (`/stats?family=`, which reaches every shard's
 * shield) only while its row is open. docs/admin-api.md describes it.
 */

const SCRIPT = String.raw`
const base = location.pathname.replace(/\/ui$/, "");
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

// How often the page asks for /stats while it is open: often enough to see a fault as it happens,
// rare enough that an open page costs the edge one small call per interval.
const POLL_MS = 5000;
// Deltas kept per isolate: 40 polls at 5 s is the last few minutes.
const CHART_POINTS = 40;
// Counters shown before any family has counted (the table's first columns, docs/admin-api.md).
const DEFAULT_COLUMNS = ["hits", "misses", "staleServes", "fills", "originErrors"];
const LABELS = { staleServes: "stale serves", originErrors: "origin errors", coalesced: "coalesced waiters", droppedLateWrites: "late writes dropped", lateAdminWrites: "late admin writes", shieldHits: "shield hits" };

// The token lives in this variable only: no storage, no cookie (docs/security.md §2).
let adminToken = null;
// Signing in or out starts a new session: answers to an older session's calls are dropped.
let session = 0;
let registry = [];
let openFamily = null;
let pollTimer = null;
let polling = false, pollAgain = false;
let polls = 0;
let lastStats = null;
// Per isolate id: its last counters and the deltas between its successive polls. Successive polls
// may reach different isolates, whose counters have nothing to do with each other.
const isolates = new Map();
let lastIsolate = null;
let pinnedIsolate = "";

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

function signOut(message) {
  adminToken = null;
  session += 1;
  clearTimeout(pollTimer);
  pollTimer = null;
  showLogin(message);
}

function showPrincipal(me) {
  const canWrite = me.routes.indexOf("PUT /keys/{key}") !== -1;
  $("principal").textContent = me.principal === "service"
    ? "Signed in with a service token: it may do everything."
    : "Signed in with an admin's id token (" + me.sub + "): it may read and purge. Writing values (PUT /keys/{key}) " + (canWrite ? "is allowed too." : "needs a service token (npx oseh-edge token admin).");
}

function label(name) {
  return LABELS[name] || name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function cell(row, text, cls) {
  row.appendChild(el("td", text, cls));
}

function ratio(hits, misses) {
  const reads = hits + misses;
  return reads === 0 ? "–" : (100 * hits / reads).toFixed(1) + "%";
}

// Traffic is what readers asked of the family: every read is a hit or a miss (src/cache/read-through.ts).
function traffic(c) {
  return (c.hits || 0) + (c.misses || 0);
}

// Every counter /stats reports for any family, in its order: a counter added to src/stats.ts
// shows without a change here.
function columnsOf(stats) {
  const names = [];
  for (const counters of Object.values(stats.families)) {
    for (const name of Object.keys(counters)) if (names.indexOf(name) === -1) names.push(name);
  }
  for (const name of DEFAULT_COLUMNS) if (names.indexOf(name) === -1) names.push(name);
  return names;
}

function counterClass(name, value) {
  if (value > 0 && /(Errors|Failures|Refused)$/.test(name)) return "num bad";
  if (value > 0 && name === "staleServes") return "num warn";
  return "num";
}

async function load() {
  if (adminToken === null) { showLogin(); return; }
  const mine = session;
  say("loading…");
  try {
    const [me, families] = await Promise.all([call("/whoami"), call("/families")]);
    if (mine !== session) return;
    registry = families;
    $("login").hidden = true;
    showPrincipal(me);
    $("main").hidden = false;
    await poll();
  } catch (err) {
    if (mine !== session) return;
    if (refusedToken(err)) signOut("The edge refused that token (" + err.message + ").");
    else say("Could not load: " + err.message, "bad");
  }
}

// One /stats call per poll; it names a family (and so reaches that family's shields) only while
// that family's row is open.
async function poll() {
  if (adminToken === null) return;
  if (polling) { pollAgain = true; return; }
  polling = true;
  clearTimeout(pollTimer);
  const mine = session;
  try {
    const asked = openFamily;
    const stats = await call("/stats" + (asked === null ? "" : "?family=" + encodeURIComponent(asked)));
    if (mine !== session) return;
    polls += 1;
    $("main").dataset.polls = String(polls);
    lastStats = stats;
    record(stats);
    render(stats, asked);
    drawChart();
    say(registry.length + " families · isolate " + short(stats.isolate) + " · refreshed " + new Date().toLocaleTimeString() + " · every " + POLL_MS / 1000 + " s");
  } catch (err) {
    if (mine !== session) return;
    if (refusedToken(err)) { signOut("The edge refused that token (" + err.message + ")."); return; }
    say("Could not load: " + err.message, "bad");
  } finally {
    polling = false;
    if (adminToken === null) pollAgain = false;
    else if (pollAgain) { pollAgain = false; poll(); }
    else if (mine === session) pollTimer = setTimeout(poll, POLL_MS);
  }
}

function short(id) {
  return String(id || "?").slice(0, 8);
}

function totals(stats) {
  const sum = { hits: 0, misses: 0, originErrors: 0 };
  for (const c of Object.values(stats.families)) {
    sum.hits += c.hits || 0;
    sum.misses += c.misses || 0;
    sum.originErrors += c.originErrors || 0;
  }
  return sum;
}

function record(stats) {
  const id = String(stats.isolate);
  const now = totals(stats);
  let seen = isolates.get(id);
  if (seen === undefined) {
    seen = { last: now, points: [], polls: 0 };
    isolates.set(id, seen);
    refreshIsolateChoice();
  } else {
    seen.points.push({ hits: now.hits - seen.last.hits, misses: now.misses - seen.last.misses, originErrors: now.originErrors - seen.last.originErrors, at: new Date() });
    if (seen.points.length > CHART_POINTS) seen.points.shift();
    seen.last = now;
  }
  seen.polls += 1;
  lastIsolate = id;
}

function refreshIsolateChoice() {
  const select = $("chart-isolate");
  const options = [el("option", "the isolate seen most recently")];
  options[0].value = "";
  for (const id of isolates.keys()) {
    const option = el("option", "isolate " + short(id));
    option.value = id;
    options.push(option);
  }
  select.replaceChildren(...options);
  select.value = pinnedIsolate;
}

// The isolate charted: the one chosen, else the most recent poll's if it has deltas, else the
// most recently seen one that has.
function chartedIsolate() {
  if (pinnedIsolate !== "") return pinnedIsolate;
  const last = isolates.get(lastIsolate);
  if (last !== undefined && last.points.length > 0) return lastIsolate;
  let found = lastIsolate;
  for (const [id, seen] of isolates) if (seen.points.length > 0) found = id;
  return found;
}

function svg(tag, attrs, parent) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

function drawChart() {
  const id = chartedIsolate();
  const seen = isolates.get(id);
  const points = seen === undefined ? [] : seen.points;
  const chart = $("chart");
  chart.dataset.isolate = id || "";
  const W = 600, H = 140, top = 10, bottom = 120, left = 36, right = 590;
  const image = svg("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img", "aria-label": "hit ratio and origin errors per poll interval" });
  svg("title", {}, image).textContent = "Hit ratio and origin errors per poll interval, isolate " + (id || "?");
  for (const [y, text] of [[top, "100%"], [(top + bottom) / 2, "50%"], [bottom, "0%"]]) {
    svg("line", { x1: left, x2: right, y1: y, y2: y, class: "grid" }, image);
    svg("text", { x: left - 4, y: y + 4, "text-anchor": "end", class: "axis" }, image).textContent = text;
  }
  const step = (right - left) / CHART_POINTS;
  const maxErrors = Math.max(1, ...points.map((p) => p.originErrors));
  let path = "";
  let pen = false;
  points.forEach((p, i) => {
    const x = left + step * (i + 0.5);
    const g = svg("g", { class: "point", "data-hits": p.hits, "data-misses": p.misses, "data-errors": p.originErrors }, image);
    const reads = p.hits + p.misses;
    svg("title", {}, g).textContent = p.at.toLocaleTimeString() + ": " + p.hits + " hits, " + p.misses + " misses (" + ratio(p.hits, p.misses) + "), " + p.originErrors + " origin errors";
    if (p.originErrors > 0) {
      const h = (bottom - top) * p.originErrors / maxErrors;
      svg("rect", { x: x - step * 0.3, y: bottom - h, width: step * 0.6, height: h, class: "errors" }, g);
    }
    if (reads === 0) { pen = false; return; }
    const y = bottom - (bottom - top) * p.hits / reads;
    path += (pen ? " L" : " M") + x.toFixed(1) + " " + y.toFixed(1);
    pen = true;
    svg("circle", { cx: x, cy: y, r: 2.5, class: "ratio" }, g);
  });
  if (path !== "") svg("path", { d: path.trim(), class: "ratio" }, image);
  svg("text", { x: left, y: H - 4, class: "legend ratio-key" }, image).textContent = "— hit ratio";
  svg("text", { x: left + 90, y: H - 4, class: "legend errors-key" }, image).textContent = "▮ origin errors (bar height: up to " + maxErrors + ")";
  chart.replaceChildren(image);
  chart.dataset.points = String(points.length);

  const last = points[points.length - 1];
  $("chart-caption").textContent = "Isolate " + (id || "?") + ": " + points.length + " interval" + (points.length === 1 ? "" : "s") +
    (last === undefined ? "" : "; last: " + last.hits + " hits, " + last.misses + " misses, " + last.originErrors + " origin errors");
  const note = $("chart-note");
  if (lastIsolate !== null && lastIsolate !== id) {
    note.textContent = "The last poll reached another isolate (" + short(lastIsolate) + "); its counters are not this isolate's, so the chart shows isolate " + short(id) + " (choose above).";
    note.hidden = false;
  } else if (points.length === 0) {
    note.textContent = "Waiting for a second poll to reach isolate " + short(id) + ": the chart shows differences between its polls.";
    note.hidden = false;
  } else {
    note.textContent = "";
    note.hidden = true;
  }
}

function render(stats, asked) {
  $("isolate").textContent = stats.isolate || "?";
  $("since").textContent = new Date(stats.since * 1000).toISOString().replace(".000", "");
  const columns = columnsOf(stats);
  const head = $("columns");
  const headers = [el("th", "family"), el("th", "hit ratio", "num")];
  for (const name of columns) { const th = el("th", label(name), "num"); th.dataset.counter = name; headers.push(th); }
  headers.push(el("th"));
  head.replaceChildren(...headers);

  const counters = (f) => stats.families[f.name] || {};
  // Busiest families first; the rest keep the registry's order.
  const ordered = registry.map((f, i) => [f, traffic(counters(f)), i]).sort((a, b) => b[1] - a[1] || a[2] - b[2]).map((e) => e[0]);
  const rows = [];
  for (const f of ordered) {
    const c = counters(f);
    const row = document.createElement("tr");
    row.dataset.family = f.name;
    const name = el("td", undefined, "name");
    const toggle = el("button", f.name, "open");
    toggle.type = "button";
    toggle.setAttribute("aria-expanded", String(openFamily === f.name));
    toggle.title = "Show this family's edge-wide shield figures";
    toggle.addEventListener("click", () => toggleFamily(f.name));
    name.appendChild(toggle);
    row.appendChild(name);
    cell(row, ratio(c.hits || 0, c.misses || 0), "num");
    for (const counter of columns) cell(row, String(c[counter] || 0), counterClass(counter, c[counter] || 0));
    const action = document.createElement("td");
    const button = el("button", "purge", "purge");
    button.type = "button";
    button.addEventListener("click", () => purge("family", f.name));
    action.appendChild(button);
    row.appendChild(action);
    rows.push(row);
    if (openFamily === f.name) rows.push(detailsRow(f.name, columns.length + 3, stats, asked));
  }
  $("families").replaceChildren(...rows);
}

function figures(title, values, cls) {
  const box = el("div", undefined, "figures " + cls);
  box.appendChild(el("h3", title));
  const list = document.createElement("dl");
  for (const [name, value] of Object.entries(values)) {
    const item = el("div");
    item.dataset.counter = name;
    item.appendChild(el("dt", label(name)));
    item.appendChild(el("dd", String(value)));
    list.appendChild(item);
  }
  box.appendChild(list);
  return box;
}

function detailsRow(name, span, stats, asked) {
  const row = el("tr", undefined, "details");
  row.dataset.detailsFor = name;
  const td = el("td");
  td.colSpan = span;
  if (asked !== name) {
    td.appendChild(el("p", "Asking the family's shields…", "muted"));
  } else if (stats.shield === undefined || stats.shield[name] === undefined) {
    td.appendChild(el("p", "No family shields are bound to this edge: there are no edge-wide figures.", "muted"));
  } else {
    td.appendChild(figures("Edge-wide, all of the family's shields", stats.shield[name], "shield"));
  }
  if (stats.storage !== undefined && stats.storage[name] !== undefined) td.appendChild(figures("This isolate's store", stats.storage[name], "storage"));
  row.appendChild(td);
  return row;
}

function toggleFamily(name) {
  openFamily = openFamily === name ? null : name;
  if (lastStats !== null) render(lastStats, null);
  // Opening asks the shields now; closing asks nothing (the next poll leaves them out).
  if (openFamily !== null) poll();
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
    if (refusedToken(err)) { signOut("The edge refused that token (" + err.message + ")."); return; }
    say("Purge failed after " + purged + " keys: " + err.message, "bad");
  }
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("token").value.trim();
  $("token").value = "";
  if (!value) return;
  adminToken = value;
  session += 1;
  load();
});
$("purge-form").addEventListener("submit", (event) => {
  event.preventDefault();
  purge($("purge-kind").value, $("purge-value").value);
});
$("chart-isolate").addEventListener("change", () => {
  pinnedIsolate = $("chart-isolate").value;
  drawChart();
});
$("refresh").addEventListener("click", () => poll());
$("forget").addEventListener("click", () => signOut());
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
th { position: sticky; top: 0; background: var(--head); font-weight: 600; white-space: normal; vertical-align: bottom; }
td.name { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.warn { color: #b54708; font-weight: 600; } td.bad { color: #c4320a; font-weight: 600; }
td button { padding: 1px 8px; font-size: 12px; }
.spacer { flex: 1; }
td.name button.open { font: inherit; padding: 0; border: 0; background: none; color: var(--accent); cursor: pointer; }
td.name button.open[aria-expanded=true] { font-weight: 600; }
tr.details td { background: var(--head); white-space: normal; padding: 8px 16px; }
.figures { display: inline-block; vertical-align: top; margin: 0 32px 4px 0; }
.figures h3 { font-size: 12px; margin: 0 0 4px; color: var(--muted); font-weight: 600; }
.figures dl { display: grid; grid-template-columns: auto auto; gap: 2px 14px; margin: 0; }
.figures dl div { display: contents; }
.figures dt { color: var(--muted); } .figures dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); margin: 0; }
#chart-box { margin: 0 0 16px; }
#chart-box .head { display: flex; gap: 12px; align-items: baseline; flex-wrap: wrap; }
#chart-box h2 { font-size: 14px; margin: 0; }
#chart-caption { color: var(--muted); font-size: 12px; }
#chart-note { color: #b54708; font-size: 12px; margin: 2px 0 0; }
#chart svg { display: block; max-width: 100%; height: auto; }
#chart .grid { stroke: var(--line); stroke-width: 1; }
#chart .axis, #chart .legend { fill: var(--muted); font-size: 10px; }
#chart path.ratio { fill: none; stroke: var(--accent); stroke-width: 1.5; }
#chart circle.ratio { fill: var(--accent); }
#chart rect.errors, #chart .errors-key { fill: #c4320a; }
#chart .ratio-key { fill: var(--accent); }
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
  <section id="chart-box">
    <div class="head">
      <h2>Hit ratio and origin errors per poll</h2>
      <label for="chart-isolate">chart</label>
      <select id="chart-isolate"><option value="">the isolate seen most recently</option></select>
      <span id="chart-caption"></span>
    </div>
    <div id="chart"></div>
    <p id="chart-note" hidden></p>
  </section>
  <p class="muted">Families by traffic on this isolate (hits + misses), busiest first. Open a family for its edge-wide shield figures.</p>
  <table>
    <thead><tr id="columns"><th>family</th><th class="num">hit ratio</th><th></th></tr></thead>
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
