import { describe, expect, it } from "vitest";
import {
  isoToUnixDate,
  laMidnightStartOf,
  laOffsetSeconds,
  laUnixDate,
  nextLaMidnight,
  unixDateToIso,
} from "../../src/keys";

const HOUR = 3600;

/** Unix seconds of a UTC wall-clock time. */
function utc(iso: string): number {
  return Date.parse(`${iso}Z`) / 1000;
}

const laParts = new Intl.DateTimeFormat("en-US", {
  timeZone: "America/Los_Angeles",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

/** The LA date of `now` according to the platform's tz database, as a unix date. */
function intlLaUnixDate(now: number): number {
  const parts = Object.fromEntries(laParts.formatToParts(new Date(now * 1000)).map((p) => [p.type, p.value]));
  return Date.UTC(Number(parts["year"]), Number(parts["month"]) - 1, Number(parts["day"])) / 86_400_000;
}

describe("laUnixDate", () => {
  it("rolls over at LA midnight, not UTC midnight", () => {
    // 2024-01-15 is PST (UTC−8): LA midnight is 08:00 UTC.
    const jan15 = isoToUnixDate("2024-01-15");
    expect(laUnixDate(utc("2024-01-15T07:59:59"))).toBe((jan15 ?? 0) - 1);
    expect(laUnixDate(utc("2024-01-15T08:00:00"))).toBe(jan15);
    // 2024-07-04 is PDT (UTC−7): LA midnight is 07:00 UTC.
    const jul4 = isoToUnixDate("2024-07-04");
    expect(laUnixDate(utc("2024-07-04T06:59:59"))).toBe((jul4 ?? 0) - 1);
    expect(laUnixDate(utc("2024-07-04T07:00:00"))).toBe(jul4);
  });

  it.each([
    ["2023-03-12", "spring forward 2023"],
    ["2023-11-05", "fall back 2023"],
    ["2024-03-10", "spring forward 2024"],
    ["2024-11-03", "fall back 2024"],
  ])("is right around %s (%s)", (iso) => {
    const date = isoToUnixDate(iso) ?? 0;
    // Every 10 minutes from the day before to the day after, against Intl's tz data.
    for (let t = (date - 1) * 86_400; t < (date + 2) * 86_400; t += 600) {
      expect(laUnixDate(t), new Date(t * 1000).toISOString()).toBe(intlLaUnixDate(t));
    }
  });

  it("agrees with Intl every 7 hours from 2007 to 2030 and on each side of every transition", () => {
    for (let t = utc("2007-01-01T00:00:00"); t < utc("2030-12-31T00:00:00"); t += 7 * HOUR + 13) {
      if (laUnixDate(t) !== intlLaUnixDate(t)) expect(laUnixDate(t), String(t)).toBe(intlLaUnixDate(t));
    }
    for (let year = 2007; year <= 2030; year++) {
      for (const [month, hourUtc] of [
        [3, 10],
        [11, 9],
      ] as const) {
        for (let day = 1; day <= 14; day++) {
          const at = Date.UTC(year, month - 1, day, hourUtc) / 1000;
          for (const t of [at - 1, at, at + 1]) {
            const offset = laOffsetSeconds(t);
            const wall = new Date((t + offset) * 1000).toISOString().slice(0, 19);
            const parts = Object.fromEntries(laParts.formatToParts(new Date(t * 1000)).map((p) => [p.type, p.value]));
            expect(wall, `${year}-${month}-${day} ${t}`).toBe(
              `${parts["year"]}-${parts["month"]}-${parts["day"]}T${parts["hour"]}:${parts["minute"]}:${parts["second"]}`,
            );
          }
        }
      }
    }
  });

  it("has the right offset on each side of the 2024 transitions", () => {
    expect(laOffsetSeconds(utc("2024-03-10T09:59:59"))).toBe(-8 * HOUR); // 01:59:59 PST
    expect(laOffsetSeconds(utc("2024-03-10T10:00:00"))).toBe(-7 * HOUR); // 03:00:00 PDT
    expect(laOffsetSeconds(utc("2024-11-03T08:59:59"))).toBe(-7 * HOUR); // 01:59:59 PDT
    expect(laOffsetSeconds(utc("2024-11-03T09:00:00"))).toBe(-8 * HOUR); // 01:00:00 PST again
  });
});

describe("laMidnightStartOf / nextLaMidnight", () => {
  it("gives LA midnight in both offsets", () => {
    expect(laMidnightStartOf(isoToUnixDate("2024-01-15") ?? 0)).toBe(utc("2024-01-15T08:00:00"));
    expect(laMidnightStartOf(isoToUnixDate("2024-07-04") ?? 0)).toBe(utc("2024-07-04T07:00:00"));
    // Transition days start in the old offset: the change happens at 02:00.
    expect(laMidnightStartOf(isoToUnixDate("2024-03-10") ?? 0)).toBe(utc("2024-03-10T08:00:00"));
    expect(laMidnightStartOf(isoToUnixDate("2024-11-03") ?? 0)).toBe(utc("2024-11-03T07:00:00"));
    expect(laMidnightStartOf(isoToUnixDate("2024-03-11") ?? 0)).toBe(utc("2024-03-11T07:00:00"));
    expect(laMidnightStartOf(isoToUnixDate("2024-11-04") ?? 0)).toBe(utc("2024-11-04T08:00:00"));
  });

  it.each([
    ["2023-03-12", 23],
    ["2023-11-05", 25],
    ["2024-03-10", 23],
    ["2024-11-03", 25],
    ["2024-03-09", 24],
    ["2024-11-02", 24],
  ])("%s is %i hours long", (iso, hours) => {
    const start = laMidnightStartOf(isoToUnixDate(iso) ?? 0);
    expect(nextLaMidnight(start) - start).toBe(hours * HOUR);
    // From anywhere inside the day, the next midnight is the end of that day.
    expect(nextLaMidnight(start + 1)).toBe(start + hours * HOUR);
    expect(nextLaMidnight(start + hours * HOUR - 1)).toBe(start + hours * HOUR);
  });

  it("is strictly after now, also exactly at midnight", () => {
    const midnight = utc("2024-01-15T08:00:00");
    expect(nextLaMidnight(midnight)).toBe(midnight + 24 * HOUR);
    expect(nextLaMidnight(midnight - 1)).toBe(midnight);
  });

  it("handles the repeated 01:xx hour of fall-back day", () => {
    const firstOneAm = utc("2024-11-03T08:30:00"); // 01:30 PDT
    const secondOneAm = utc("2024-11-03T09:30:00"); // 01:30 PST
    expect(laUnixDate(firstOneAm)).toBe(laUnixDate(secondOneAm));
    expect(nextLaMidnight(firstOneAm)).toBe(utc("2024-11-04T08:00:00"));
    expect(nextLaMidnight(secondOneAm)).toBe(utc("2024-11-04T08:00:00"));
  });

  it("is consistent with laUnixDate for every day of 2023–2025", () => {
    for (let d = isoToUnixDate("2023-01-01") ?? 0; d <= (isoToUnixDate("2025-12-31") ?? 0); d++) {
      const start = laMidnightStartOf(d);
      expect(laUnixDate(start)).toBe(d);
      expect(laUnixDate(start - 1)).toBe(d - 1);
    }
  });
});

describe("ISO dates", () => {
  it("round trips", () => {
    expect(unixDateToIso(0)).toBe("1970-01-01");
    expect(isoToUnixDate("1970-01-01")).toBe(0);
    expect(unixDateToIso(19674)).toBe("2023-11-13");
    expect(isoToUnixDate("2024-02-29")).toBe(19782);
    expect(unixDateToIso(2_932_896)).toBe("9999-12-31");
    for (let d = 0; d < 2_932_896; d += 997) {
      expect(isoToUnixDate(unixDateToIso(d))).toBe(d);
    }
  });

  it("agrees with Date for a few dates", () => {
    for (const iso of ["2000-02-29", "2100-03-01", "1999-12-31", "2024-11-03"]) {
      expect(isoToUnixDate(iso)).toBe(Date.parse(`${iso}T00:00:00Z`) / 86_400_000);
    }
  });

  it("parses dates before 1970 as negative, like Python's date", () => {
    expect(isoToUnixDate("1969-12-31")).toBe(-1);
    expect(isoToUnixDate("0001-01-01")).toBe(-719_162);
  });

  it.each([
    "2023-02-29",
    "2023-02-30",
    "2024-02-30",
    "2100-02-29",
    "2024-13-01",
    "2024-00-10",
    "2024-04-31",
    "2024-01-00",
    "0000-01-01",
    "2024-1-05",
    "24-01-05",
    "2024-01-05T00:00",
    " 2024-01-05",
    "2024/01/05",
    "+2024-01-05",
    "",
    "2024-01-0５",
  ])("rejects %j", (text) => {
    expect(isoToUnixDate(text)).toBeUndefined();
  });

  it("refuses out-of-range unix dates", () => {
    expect(() => unixDateToIso(-1)).toThrow(RangeError);
    expect(() => unixDateToIso(2_932_897)).toThrow(RangeError);
    expect(() => unixDateToIso(1.5)).toThrow(RangeError);
  });
});
