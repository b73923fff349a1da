import { describe, expect, it } from "vitest";
import { isoToUnixDate, laMidnightStartOf } from "../../src/keys/la-time";
import {
  ADMIN_ROUTES,
  CHART_CACHE_CONTROL,
  FEEDBACK_CACHE_CONTROL,
  UTM_CACHE_CONTROL,
  laEndOfDayMaxAge,
  planAdminRequest,
  type AdminPlan,
  type AdminRoute,
} from "../../src/routes/admin-table";
import { keyOf as routeKey } from "../../src/keys";

const utc = (iso: string): number => Date.parse(iso) / 1000;
const day = (iso: string): number => {
  const d = isoToUnixDate(iso);
  if (d === undefined) throw new Error(iso);
  return d;
};

function route(path: string): AdminRoute {
  const found = ADMIN_ROUTES.find((r) => r.path === `/api/1/admin/${path}`);
  if (found === undefined) throw new Error(`no route ${path}`);
  return found;
}

function plan(path: string, now: number, query = "", extra: { pathValue?: string; pragma?: string } = {}): AdminPlan {
  return planAdminRequest(route(path), { pathValue: extra.pathValue ?? null, query: new URLSearchParams(query), pragma: extra.pragma ?? null }, now);
}

function keyOf(p: AdminPlan): string {
  if (p.kind !== "serve") throw new Error(`expected serve, got ${JSON.stringify(p)}`);
  const k = routeKey(p.family, p.values);
  if (!k.ok) throw new Error(k.reason);
  return k.key;
}

function header(p: AdminPlan, name: string): string | undefined {
  if (p.kind !== "serve") return undefined;
  return p.headers.find(([n]) => n === name)?.[1];
}

describe("the table", () => {
  it("has one entry per admin route of the backend (28 GET routes)", () => {
    expect(ADMIN_ROUTES.length).toBe(28);
    expect(new Set(ADMIN_ROUTES.map((r) => r.path)).size).toBe(28);
  });
  it("names only registered families, with as many values as params", () => {
    const now = utc("2024-06-15T19:00:00Z");
    for (const r of ADMIN_ROUTES) {
      const p = planAdminRequest(r, { pathValue: r.pathEnum?.values[0] ?? null, query: new URLSearchParams(), pragma: null }, now);
      if (p.kind === "passthrough") continue; // utm without its required params
      expect(routeKey(p.family, p.values).ok, r.path).toBe(true);
    }
  });
});

// 2024-06-15 12:00 PDT
const JUNE = utc("2024-06-15T19:00:00Z");
const T = day("2024-06-15");

describe("windows (LA dates, as the backend computes them)", () => {
  const cases: Array<[string, number, number]> = [
    ["notifs/daily_push_tokens", T - 91, T],
    ["notifs/daily_push_tickets", T - 93, T - 1],
    ["notifs/daily_push_receipts", T - 93, T - 1],
    ["sms/daily_sms_sends", T - 91, T - 1],
    ["sms/daily_sms_polling", T - 91, T - 1],
    ["sms/daily_sms_events", T - 91, T - 1],
    ["email/daily_email_events", T - 91, T - 1],
    ["email/daily_email_send", T - 91, T - 1],
    ["touch/daily_touch_send", T - 91, T - 1],
    ["touch/daily_touch_stale", T - 91, T - 1],
    ["touch/daily_touch_link_stats", T - 91, T - 1],
    ["daily_reminders/daily_reminders", T - 92, T - 2],
    ["daily_reminders/daily_reminder_registrations", T - 90, T],
    ["siwo/siwo_authorize_stats", T - 91, T - 1],
    ["siwo/siwo_verify_email_stats", T - 91, T - 1],
    ["siwo/siwo_exchange_stats", T - 91, T - 1],
    ["journey_share_links/journey_share_link_stats", T - 91, T - 1],
    ["journey_share_links/journey_share_link_unique_views", T - 91, T - 1],
    ["client_flows/client_flow_stats", T - 91, T - 1],
    ["client_flows/client_screen_stats", T - 91, T - 1],
  ];
  for (const [path, start, end] of cases) {
    it(`${path}: [${start - T}, ${end - T})`, () => {
      const p = plan(path, JUNE);
      const prefix = route(path).family.replace(":{start}:{end}", "");
      expect(keyOf(p)).toBe(`${prefix}:${start}:${end}`);
      expect(header(p, "Content-Encoding")).toBe("gzip");
      // 12:00 PDT → 12 h to the next LA midnight; push tickets/receipts always send 60 (B #6, #7).
      const maxAge = path === "notifs/daily_push_tickets" || path === "notifs/daily_push_receipts" ? 60 : 43200;
      expect(header(p, "Cache-Control")).toBe(`private, max-age=${maxAge}, stale-if-error=600`);
    });
  }

  it("today-keyed charts (A #12–#15) with their constant Cache-Control", () => {
    expect(keyOf(plan("daily_active_users", JUNE))).toBe(`daily_active_users:${T}`);
    expect(keyOf(plan("new_users", JUNE))).toBe(`new_users:${T}`);
    expect(keyOf(plan("monthly_active_users/{labelled_by}", JUNE, "", { pathValue: "day" }))).toBe(`monthly_active_users:${T}:day`);
    expect(keyOf(plan("retention_stats/{period}", JUNE, "", { pathValue: "30day" }))).toBe(`retention_stats:${T}:30day`);
    const p = plan("daily_active_users", JUNE);
    expect(header(p, "Cache-Control")).toBe(CHART_CACHE_CONTROL);
    expect(header(p, "Content-Encoding")).toBeUndefined();
    expect(header(p, "Content-Type")).toBe("application/json; charset=utf-8");
  });

  it("journey_subcategory_view_stats: today; future dates mean today; past dates pass through", () => {
    expect(keyOf(plan("journey_subcategory_view_stats", JUNE))).toBe(`journey_subcategory_view_stats:${T}`);
    expect(keyOf(plan("journey_subcategory_view_stats", JUNE, "date=2024-06-15"))).toBe(`journey_subcategory_view_stats:${T}`);
    expect(keyOf(plan("journey_subcategory_view_stats", JUNE, "date=2030-01-01"))).toBe(`journey_subcategory_view_stats:${T}`);
    expect(plan("journey_subcategory_view_stats", JUNE, "date=2024-06-14").kind).toBe("passthrough");
    expect(plan("journey_subcategory_view_stats", JUNE, "date=20240614").kind).toBe("passthrough");
  });

  it("utm_conversion_stats: past dates only, with the 1-day Cache-Control", () => {
    const p = plan("utm_conversion_stats", JUNE, "year=2024&month=6&day=14");
    expect(keyOf(p)).toBe(`utm_conversion_stats:${T - 1}`);
    expect(header(p, "Cache-Control")).toBe(UTM_CACHE_CONTROL);
    expect(plan("utm_conversion_stats", JUNE, "year=2024&month=6&day=15").kind).toBe("passthrough"); // today: Redis, uncached
    expect(plan("utm_conversion_stats", JUNE, "year=2024&month=7&day=1").kind).toBe("passthrough"); // future
    expect(plan("utm_conversion_stats", JUNE, "year=2024&month=13&day=1").kind).toBe("passthrough"); // 500 at the origin
    expect(plan("utm_conversion_stats", JUNE, "year=2024&month=6").kind).toBe("passthrough"); // 422 at the origin
  });

  it("journey_feedback: default yesterday, ?date=, Pragma rules", () => {
    const p = plan("journey_feedback", JUNE);
    expect(keyOf(p)).toBe(`journey_feedback:${T - 1}`);
    expect(header(p, "Cache-Control")).toBe(FEEDBACK_CACHE_CONTROL);
    expect(p.kind === "serve" && p.refresh).toBe(false);
    expect(keyOf(plan("journey_feedback", JUNE, "date=2024-05-01"))).toBe(`journey_feedback:${day("2024-05-01")}`);
    expect(plan("journey_feedback", JUNE, "date=2024-06-15").kind).toBe("passthrough");
    expect(plan("journey_feedback", JUNE, "date=nope").kind).toBe("passthrough");
    const forced = plan("journey_feedback", JUNE, "", { pragma: "no-cache" });
    expect(forced.kind === "serve" && forced.refresh).toBe(true);
    expect(plan("journey_feedback", JUNE, "", { pragma: "no-store" }).kind).toBe("passthrough");
  });

  it("daily_phone_verifications: inclusive, with its query params", () => {
    const k = (q: string) => keyOf(plan("daily_phone_verifications", JUNE, q));
    expect(k("")).toBe(`daily_phone_verifications:${T - 30}:${T - 1}`);
    expect(k("to_date=2024-06-01")).toBe(`daily_phone_verifications:${day("2024-06-01") - 29}:${day("2024-06-01")}`);
    expect(k("to_date=2024-06-15")).toBe(`daily_phone_verifications:${T - 30}:${T - 1}`); // today or later is ignored
    expect(k("from_date=2024-06-01")).toBe(`daily_phone_verifications:${day("2024-06-01")}:${T - 1}`);
    expect(k("from_date=2024-01-01")).toBe(`daily_phone_verifications:${day("2024-01-01")}:${day("2024-01-30")}`);
    expect(k("from_date=2024-06-20")).toBe(`daily_phone_verifications:${T - 1}:${T - 1}`);
    expect(k("from_date=2024-03-01&to_date=2024-03-05")).toBe(`daily_phone_verifications:${day("2024-03-01")}:${day("2024-03-05")}`);
    // from after to: from is ignored.
    expect(k("from_date=2024-03-09&to_date=2024-03-05")).toBe(`daily_phone_verifications:${day("2024-03-05") - 29}:${day("2024-03-05")}`);
    // floored at 2023-01-01 (19358).
    expect(k("from_date=2020-01-01&to_date=2020-02-01")).toBe("daily_phone_verifications:19358:19358");
    expect(header(plan("daily_phone_verifications", JUNE), "Cache-Control")).toBe(CHART_CACHE_CONTROL);
    expect(plan("daily_phone_verifications", JUNE, "from_date=20240101").kind).toBe("passthrough");
  });
});

describe("LA midnight and DST (injected clock)", () => {
  it("just before and just after LA midnight", () => {
    const midnight = laMidnightStartOf(T + 1); // 2024-06-16 00:00 PDT
    expect(midnight).toBe(utc("2024-06-16T07:00:00Z"));
    const before = plan("email/daily_email_events", midnight - 1);
    const after = plan("email/daily_email_events", midnight);
    expect(keyOf(before)).toBe(`daily_email_events:${T - 91}:${T - 1}`);
    expect(keyOf(after)).toBe(`daily_email_events:${T - 90}:${T}`);
    expect(header(before, "Cache-Control")).toBe("private, max-age=1, stale-if-error=600");
    expect(header(after, "Cache-Control")).toBe("private, max-age=86400, stale-if-error=600");
    // int(0.5) == 0 → the backend's fallback of 60.
    expect(laEndOfDayMaxAge(midnight - 0.5)).toBe(60);
  });

  it("spring forward: 2024-03-10 is 23 hours long", () => {
    const d = day("2024-03-10");
    const start = utc("2024-03-10T08:00:00Z"); // 00:00 PST
    expect(keyOf(plan("daily_active_users", start - 1))).toBe(`daily_active_users:${d - 1}`);
    expect(keyOf(plan("daily_active_users", start))).toBe(`daily_active_users:${d}`);
    expect(laEndOfDayMaxAge(start)).toBe(23 * 3600);
    // 03:30 PDT, after the jump: 20.5 hours left.
    expect(laEndOfDayMaxAge(utc("2024-03-10T10:30:00Z"))).toBe(20 * 3600 + 1800);
    // push tickets / receipts: the backend's horizon is always past, so it always sends 60 (B #6, #7).
    expect(header(plan("notifs/daily_push_tickets", start), "Cache-Control")).toBe("private, max-age=60, stale-if-error=600");
  });

  it("push tickets and receipts send the backend's constant max-age=60 at any time of day (B #6, #7)", () => {
    for (const at of [utc("2024-06-15T07:00:00Z"), utc("2024-06-15T19:00:00Z"), utc("2024-06-16T06:59:59Z")]) {
      expect(header(plan("notifs/daily_push_tickets", at), "Cache-Control")).toBe("private, max-age=60, stale-if-error=600");
      expect(header(plan("notifs/daily_push_receipts", at), "Cache-Control")).toBe("private, max-age=60, stale-if-error=600");
      // push tokens keeps counting to the next LA midnight (its horizon is midnight(today + 1)).
      expect(header(plan("notifs/daily_push_tokens", at), "Cache-Control")).toBe(`private, max-age=${laEndOfDayMaxAge(at)}, stale-if-error=600`);
    }
  });

  it("fall back: 2024-11-03 is 25 hours long", () => {
    const d = day("2024-11-03");
    const start = utc("2024-11-03T07:00:00Z"); // 00:00 PDT
    expect(keyOf(plan("new_users", start - 1))).toBe(`new_users:${d - 1}`);
    expect(keyOf(plan("new_users", start))).toBe(`new_users:${d}`);
    expect(laEndOfDayMaxAge(start)).toBe(25 * 3600);
    expect(keyOf(plan("notifs/daily_push_tokens", utc("2024-11-04T07:59:59Z")))).toBe(`daily_push_tokens:${d - 91}:${d}`);
    expect(keyOf(plan("notifs/daily_push_tokens", utc("2024-11-04T08:00:00Z")))).toBe(`daily_push_tokens:${d - 90}:${d + 1}`);
  });
});
