/**
 * Every admin chart/stats route the edge serves, one table entry each (A #12–#16, #22,
 * #23; B #2, #5–#20, #22, #23, #29, #30), and the pure planning step that turns a request
 * plus `now` into "serve this key with these headers" or "let the origin answer".
 *
 * The backend computes each key from the America/Los_Angeles date at request time, so the edge
 * computes the same window (`la-time.ts`) and asks the registry for the key.
 */
import { laMidnightStartOf, laUnixDate } from "../keys/la-time";
import { JSON_CONTENT_TYPE } from "./content-types";
import { lastQueryValue, parseOptionalInt, parseStrictIsoDate } from "./query";

export const ADMIN_PREFIX = "/api/1/admin";

/** `HEADERS` of the chart routes (#12–#16) and of daily_phone_verifications (B #2). */
export const CHART_CACHE_CONTROL = "private, max-age=300, stale-while-revalidate=600, stale-if-error=86400";
/** utm_conversion_stats for a past date (A #22). */
export const UTM_CACHE_CONTROL = "private, max-age=86400, stale-while-revalidate=86400, stale-if-error=86400";
/** journey_feedback (A #23). */
export const FEEDBACK_CACHE_CONTROL = "private, max-age=10";
/** The stats routes' fallback when their horizon is not in the future (B §0, read_daily_stats.py). */
export const LA_EOD_FALLBACK_MAX_AGE_SECONDS = 60;
/** `stale-if-error=600` of the "std admin stats headers" (B §0). */
const LA_EOD_STALE_IF_ERROR_SECONDS = 600;
/** phone verifications never start before 2023-01-01 ("avoid querying & caching old dates"). */
export const PHONE_VERIFICATIONS_MIN_UNIX_DATE = 19_358;
/** Inclusive length of the default phone verifications window (to − 29 … to). */
const PHONE_VERIFICATIONS_SPAN_DAYS = 29;

/**
 * How the route derives its key's dates. `today` = LA date at `now`.
 * - `today`: the key is `{family}:{today}` (+ the path enum, #12–#15).
 * - `range`: end (exclusive) = today − endOffset, start = end − days (B §2.G and #5–#10).
 * - the rest are the routes with query params of their own.
 */
export type WindowRule =
  | { kind: "today" }
  | { kind: "range"; endOffset: number; days: number }
  | { kind: "subcategory-date" }
  | { kind: "utm-date" }
  | { kind: "feedback-date" }
  | { kind: "phone-verifications" };

/** `la-eod`: `private, max-age=<whole seconds to the next LA midnight, or 60>, stale-if-error=600`. */
export type CacheControlRule = { kind: "fixed"; value: string } | { kind: "la-eod" };

export interface AdminRoute {
  /** Full path; a trailing `{name}` segment is the path enum below. */
  readonly path: string;
  readonly pathEnum?: { readonly name: string; readonly values: readonly string[] };
  /** Registry pattern; the window's values fill its params in order. */
  readonly family: string;
  readonly window: WindowRule;
  readonly cacheControl: CacheControlRule;
  /** gzip-json families are served as stored with `Content-Encoding: gzip`. */
  readonly gzip: boolean;
  readonly ref: string;
}

const LA_EOD: CacheControlRule = { kind: "la-eod" };
/**
 * push tickets / receipts (B #6, #7): their horizon `midnight(end + 1)` is today's midnight, always
 * past, so the backend's fallback `max-age=60` is what every response carries.
 */
export const PUSH_TICKETS_RECEIPTS_CACHE_CONTROL = `private, max-age=${LA_EOD_FALLBACK_MAX_AGE_SECONDS}, stale-if-error=${LA_EOD_STALE_IF_ERROR_SECONDS}`;
const PUSH_TICKETS_RECEIPTS: CacheControlRule = { kind: "fixed", value: PUSH_TICKETS_RECEIPTS_CACHE_CONTROL };
const CHART: CacheControlRule = { kind: "fixed", value: CHART_CACHE_CONTROL };

/** B §2.G: P partial days → end = today − P + 1, start = end − 90 (always 90 labels). */
function generic(path: string, family: string, partialDays: 1 | 2 | 3, ref: string): AdminRoute {
  return { path, family, window: { kind: "range", endOffset: partialDays - 1, days: 90 }, cacheControl: LA_EOD, gzip: true, ref };
}

export const ADMIN_ROUTES: readonly AdminRoute[] = [
  // A #12–#16: keyed by today's LA date (#16 by ?date=), plain JSON, constant Cache-Control.
  { path: `${ADMIN_PREFIX}/daily_active_users`, family: "daily_active_users:{unix_date}", window: { kind: "today" }, cacheControl: CHART, gzip: false, ref: "A #12" },
  { path: `${ADMIN_PREFIX}/new_users`, family: "new_users:{unix_date}", window: { kind: "today" }, cacheControl: CHART, gzip: false, ref: "A #13" },
  {
    path: `${ADMIN_PREFIX}/monthly_active_users/{labelled_by}`,
    pathEnum: { name: "labelled_by", values: ["day", "month"] },
    family: "monthly_active_users:{unix_date}:{labelled_by}",
    window: { kind: "today" },
    cacheControl: CHART,
    gzip: false,
    ref: "A #14",
  },
  {
    path: `${ADMIN_PREFIX}/retention_stats/{period}`,
    pathEnum: { name: "period", values: ["0day", "1day", "7day", "30day", "90day"] },
    family: "retention_stats:{unix_date}:{period}",
    window: { kind: "today" },
    cacheControl: CHART,
    gzip: false,
    ref: "A #15",
  },
  {
    path: `${ADMIN_PREFIX}/journey_subcategory_view_stats`,
    family: "journey_subcategory_view_stats:{unix_date}",
    window: { kind: "subcategory-date" },
    cacheControl: CHART,
    gzip: false,
    ref: "A #16",
  },
  {
    path: `${ADMIN_PREFIX}/utm_conversion_stats`,
    family: "utm_conversion_stats:{unix_date}",
    window: { kind: "utm-date" },
    cacheControl: { kind: "fixed", value: UTM_CACHE_CONTROL },
    gzip: false,
    ref: "A #22",
  },
  {
    path: `${ADMIN_PREFIX}/journey_feedback`,
    family: "journey_feedback:{unix_date}",
    window: { kind: "feedback-date" },
    cacheControl: { kind: "fixed", value: FEEDBACK_CACHE_CONTROL },
    gzip: false,
    ref: "A #23",
  },
  // B #2: inclusive range from its own query params, plain JSON.
  {
    path: `${ADMIN_PREFIX}/daily_phone_verifications`,
    family: "daily_phone_verifications:{from}:{to}",
    window: { kind: "phone-verifications" },
    cacheControl: CHART,
    gzip: false,
    ref: "B #2",
  },
  // B #5–#10: hand-written handlers, each with its own window (B §2 "Windows").
  {
    path: `${ADMIN_PREFIX}/notifs/daily_push_tokens`,
    family: "daily_push_tokens:{start}:{end}",
    window: { kind: "range", endOffset: 0, days: 91 },
    cacheControl: LA_EOD,
    gzip: true,
    ref: "B #5",
  },
  {
    path: `${ADMIN_PREFIX}/notifs/daily_push_tickets`,
    family: "daily_push_tickets:{start}:{end}",
    window: { kind: "range", endOffset: 1, days: 92 },
    // The backend's horizon is midnight(end + 1) = today, always past, so it always sends
    // max-age=60 (B #6 notes, read_daily_push_tickets.py). The header is what clients see, so
    // the edge sends the same bytes; only the stored TTL (LA-EOD) is the intended one.
    cacheControl: PUSH_TICKETS_RECEIPTS,
    gzip: true,
    ref: "B #6",
  },
  {
    path: `${ADMIN_PREFIX}/notifs/daily_push_receipts`,
    family: "daily_push_receipts:{start}:{end}",
    window: { kind: "range", endOffset: 1, days: 92 },
    cacheControl: PUSH_TICKETS_RECEIPTS, // same header as push tickets (B #7)
    gzip: true,
    ref: "B #7",
  },
  ...(
    [
      ["sms/daily_sms_sends", "daily_sms_sends", "B #8"],
      ["sms/daily_sms_polling", "daily_sms_polling", "B #9"],
      ["sms/daily_sms_events", "daily_sms_events", "B #10"],
    ] as const
  ).map(
    ([path, prefix, ref]): AdminRoute => ({
      path: `${ADMIN_PREFIX}/${path}`,
      family: `${prefix}:{start}:{end}`,
      window: { kind: "range", endOffset: 1, days: 90 },
      cacheControl: LA_EOD,
      gzip: true,
      ref,
    }),
  ),
  // B #11–#20 (docs/families.md §Sources): `create_daily_stats_route`; P = number of partial days of the partial model.
  generic(`${ADMIN_PREFIX}/email/daily_email_events`, "daily_email_events:{start}:{end}", 2, "B #11"),
  generic(`${ADMIN_PREFIX}/email/daily_email_send`, "daily_email_send:{start}:{end}", 2, "B #12"),
  generic(`${ADMIN_PREFIX}/touch/daily_touch_send`, "daily_touch_send:{start}:{end}", 2, "B #13"),
  generic(`${ADMIN_PREFIX}/touch/daily_touch_stale`, "daily_touch_stale:{start}:{end}", 2, "B #14"),
  generic(`${ADMIN_PREFIX}/touch/daily_touch_link_stats`, "daily_touch_links:{start}:{end}", 2, "B #15"),
  generic(`${ADMIN_PREFIX}/daily_reminders/daily_reminders`, "daily_reminders:{start}:{end}", 3, "B #16"),
  generic(
    `${ADMIN_PREFIX}/daily_reminders/daily_reminder_registrations`,
    "daily_reminder_registrations:{start}:{end}",
    1,
    "B #17",
  ),
  generic(`${ADMIN_PREFIX}/siwo/siwo_authorize_stats`, "daily_siwo_authorize:{start}:{end}", 2, "B #18"),
  generic(`${ADMIN_PREFIX}/siwo/siwo_verify_email_stats`, "daily_siwo_verify_email:{start}:{end}", 2, "B #19"),
  generic(`${ADMIN_PREFIX}/siwo/siwo_exchange_stats`, "daily_siwo_exchange:{start}:{end}", 2, "B #20"),
  generic(
    `${ADMIN_PREFIX}/journey_share_links/journey_share_link_stats`,
    "daily_journey_share_links:{start}:{end}",
    2,
    "B #22",
  ),
  generic(
    `${ADMIN_PREFIX}/journey_share_links/journey_share_link_unique_views`,
    "daily_journey_share_links:unique_views:{start}:{end}",
    2,
    "B #23",
  ),
  generic(`${ADMIN_PREFIX}/client_flows/client_flow_stats`, "daily_client_flows:{start}:{end}", 2, "B #29"),
  generic(`${ADMIN_PREFIX}/client_flows/client_screen_stats`, "daily_client_screens:{start}:{end}", 2, "B #30"),
];

export interface AdminRequestView {
  /** The path enum's value, when the route has one (already checked against the table). */
  pathValue: string | null;
  query: URLSearchParams;
  /** `Pragma` header, or null. */
  pragma: string | null;
}

export type AdminPlan =
  | {
      kind: "serve";
      family: string;
      /** The family's params in pattern order. */
      values: readonly string[];
      headers: ReadonlyArray<readonly [string, string]>;
      gzip: boolean;
      /** `Pragma: no-cache` on journey_feedback: skip the stored value and refill (A #23). */
      refresh: boolean;
    }
  | { kind: "passthrough"; reason: string };

function passthrough(reason: string): AdminPlan {
  return { kind: "passthrough", reason };
}

/** `int(midnight(today + 1) − now)`, or 60 when that is not positive (read_daily_stats.py). */
export function laEndOfDayMaxAge(now: number): number {
  const seconds = Math.trunc(laMidnightStartOf(laUnixDate(now) + 1) - now);
  return seconds <= 0 ? LA_EOD_FALLBACK_MAX_AGE_SECONDS : seconds;
}

export function cacheControlFor(rule: CacheControlRule, now: number): string {
  switch (rule.kind) {
    case "fixed":
      return rule.value;
    case "la-eod":
      return `private, max-age=${laEndOfDayMaxAge(now)}, stale-if-error=${LA_EOD_STALE_IF_ERROR_SECONDS}`;
    default:
      return rule satisfies never;
  }
}

/**
 * The phone verifications window (`read_daily_phone_verifications.py`), both ends inclusive.
 * Values that fail `fromisoformat` are ignored by the backend; values this edge cannot parse with
 * certainty (non-strict ISO forms) make it pass through instead.
 */
export function phoneVerificationsWindow(
  fromRaw: string | null,
  toRaw: string | null,
  today: number,
): { ok: true; from: number; to: number } | { ok: false } {
  let from: number | undefined;
  let to: number | undefined;
  if (fromRaw !== null) {
    from = parseStrictIsoDate(fromRaw);
    if (from === undefined) return { ok: false };
  }
  if (toRaw !== null) {
    to = parseStrictIsoDate(toRaw);
    if (to === undefined) return { ok: false };
  }
  if (to !== undefined && to >= today) to = undefined;
  if (from !== undefined && to !== undefined && to < from) from = undefined;

  let fromDate: number;
  let toDate: number;
  if (from === undefined && to === undefined) {
    toDate = today - 1;
    fromDate = toDate - PHONE_VERIFICATIONS_SPAN_DAYS;
  } else if (from === undefined && to !== undefined) {
    toDate = Math.min(to, today - 1);
    fromDate = toDate - PHONE_VERIFICATIONS_SPAN_DAYS;
  } else if (from !== undefined && to === undefined) {
    fromDate = from;
    toDate = Math.min(today - 1, fromDate + PHONE_VERIFICATIONS_SPAN_DAYS);
    if (fromDate > toDate) fromDate = toDate;
  } else {
    fromDate = from as number;
    toDate = Math.min(to as number, today - 1);
    if (fromDate > toDate) fromDate = toDate;
  }
  if (fromDate < PHONE_VERIFICATIONS_MIN_UNIX_DATE) {
    fromDate = PHONE_VERIFICATIONS_MIN_UNIX_DATE;
    if (toDate < fromDate) toDate = fromDate;
  }
  return { ok: true, from: fromDate, to: toDate };
}

/** Python's `date(year, month, day)` for plain ints; undefined if it would raise. */
function calendarDate(year: number, month: number, day: number): number | undefined {
  if (year < 1 || year > 9999) return undefined;
  const iso = `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 ? parseStrictIsoDate(iso) : undefined;
}

type DateValues = { ok: true; values: string[]; refresh?: boolean } | { ok: false; reason: string };

function windowValues(route: AdminRoute, view: AdminRequestView, now: number): DateValues {
  const today = laUnixDate(now);
  const window = route.window;
  switch (window.kind) {
    case "today":
      return { ok: true, values: view.pathValue === null ? [String(today)] : [String(today), view.pathValue] };
    case "range": {
      const end = today - window.endOffset;
      return { ok: true, values: [String(end - window.days), String(end)] };
    }
    case "subcategory-date": {
      // Missing, malformed or future dates mean today; only today's value is ever stored, since
      // a past date's expiry (the midnight starting date + 1) has already gone by (A #16 notes).
      const raw = lastQueryValue(view.query, "date");
      if (raw === null) return { ok: true, values: [String(today)] };
      const date = parseStrictIsoDate(raw);
      if (date === undefined) return { ok: false, reason: "date not in strict YYYY-MM-DD form" };
      if (date < today) return { ok: false, reason: "past dates are never cached by the backend" };
      return { ok: true, values: [String(today)] };
    }
    case "utm-date": {
      const year = parseOptionalInt(lastQueryValue(view.query, "year"));
      const month = parseOptionalInt(lastQueryValue(view.query, "month"));
      const day = parseOptionalInt(lastQueryValue(view.query, "day"));
      if (!year.ok || !month.ok || !day.ok || year.value === null || month.value === null || day.value === null) {
        return { ok: false, reason: "year, month and day are required ints (FastAPI 422 at the origin)" };
      }
      const date = calendarDate(year.value, month.value, day.value);
      if (date === undefined) return { ok: false, reason: "not a calendar date (500 at the origin)" };
      if (date >= today) return { ok: false, reason: "today and later are never cached (A #22)" };
      return { ok: true, values: [String(date)] };
    }
    case "feedback-date": {
      // `pragma: Optional[Literal["no-cache"]]`: any other value is FastAPI's 422.
      if (view.pragma !== null && view.pragma !== "no-cache") return { ok: false, reason: "Pragma other than no-cache" };
      const raw = lastQueryValue(view.query, "date");
      let date = today - 1;
      if (raw !== null) {
        const parsed = parseStrictIsoDate(raw);
        if (parsed === undefined) return { ok: false, reason: "date not in strict YYYY-MM-DD form" };
        date = parsed;
      }
      if (date >= today) return { ok: false, reason: "today and later answer empty items, uncached (A #23)" };
      return { ok: true, values: [String(date)], refresh: view.pragma === "no-cache" };
    }
    case "phone-verifications": {
      const range = phoneVerificationsWindow(lastQueryValue(view.query, "from_date"), lastQueryValue(view.query, "to_date"), today);
      if (!range.ok) return { ok: false, reason: "from_date/to_date not in strict YYYY-MM-DD form" };
      return { ok: true, values: [String(range.from), String(range.to)] };
    }
    default:
      return window satisfies never;
  }
}

/** Pure: which key and headers the backend would use for this request at `now`. */
export function planAdminRequest(route: AdminRoute, view: AdminRequestView, now: number): AdminPlan {
  const window = windowValues(route, view, now);
  if (!window.ok) return passthrough(window.reason);
  const headers: Array<readonly [string, string]> = [
    ["Content-Type", JSON_CONTENT_TYPE],
    ["Cache-Control", cacheControlFor(route.cacheControl, now)],
  ];
  if (route.gzip) headers.push(["Content-Encoding", "gzip"]);
  return { kind: "serve", family: route.family, values: window.values, headers, gzip: route.gzip, refresh: window.refresh === true };
}
