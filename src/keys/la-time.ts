/**
 * America/Los_Angeles calendar arithmetic, pure (`now` is passed in, unix seconds).
 *
 * The backend keys its admin charts by the LA "unix date" (days since 1970-01-01 of the LA
 * calendar date, `unix_dates.py`) and means them to live until the next LA midnight
 * (A #12–#16, B §0 "LA-EOD"). Its own arithmetic for #12–#15 adds the UTC offset where it
 * should subtract it (A notes 12–15); this module implements the intended rule instead.
 *
 * Implemented with the US DST rule by hand rather than `Intl.DateTimeFormat`: it is a few integer
 * operations per call (the admin routes call it on every request), it needs no ICU data, and the
 * tests cross-check it against `Intl` across both transitions of several years.
 * Rule in force since 2007 (Energy Policy Act of 2005): DST from the second Sunday of March at
 * 02:00 local standard time to the first Sunday of November at 02:00 local daylight time. Years
 * 1987–2006 used the first Sunday of April → last Sunday of October; earlier years are treated
 * with that rule too (no key or clock this edge sees predates 2023).
 */

export const SECONDS_PER_DAY = 86_400;
const SECONDS_PER_HOUR = 3_600;
/** PST is UTC−8, PDT is UTC−7. */
const PST_OFFSET_SECONDS = -8 * SECONDS_PER_HOUR;
const PDT_OFFSET_SECONDS = -7 * SECONDS_PER_HOUR;
/** Both transitions happen at 02:00 local wall-clock time. */
const TRANSITION_LOCAL_SECONDS = 2 * SECONDS_PER_HOUR;
/** 9999-12-31, the last date Python's `date` (and so the backend) can represent. */
export const MAX_UNIX_DATE = 2_932_896;
/** 0001-01-01, the first date Python's `date` can represent. */
const MIN_UNIX_DATE = -719_162;

/** Days since 1970-01-01 of a proleptic Gregorian civil date (H. Hinnant's `days_from_civil`). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Inverse of `daysFromCivil` (H. Hinnant's `civil_from_days`). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** 0 = Sunday … 6 = Saturday; 1970-01-01 was a Thursday. */
function weekdayOfDays(days: number): number {
  return (((days + 4) % 7) + 7) % 7;
}

/** Days since epoch of the n-th (1-based) Sunday of a month; n = -1 means the last one. */
function nthSundayOf(year: number, month: number, n: number): number {
  if (n > 0) {
    const first = daysFromCivil(year, month, 1);
    return first + ((7 - weekdayOfDays(first)) % 7) + 7 * (n - 1);
  }
  const last = daysFromCivil(year, month + 1, 1) - 1;
  return last - weekdayOfDays(last);
}

interface DstWindow {
  /** Unix seconds at which PDT starts (inclusive) and ends (exclusive). */
  start: number;
  end: number;
}

// Pure memo: a year's DST window never changes; bounded by DST_WINDOW_CACHE_MAX_YEARS.
const dstWindowCache = new Map<number, DstWindow>();
/** Far more years than any request names; a caller walking odd years only recomputes. */
const DST_WINDOW_CACHE_MAX_YEARS = 64;

function computeDstWindow(year: number): DstWindow {
  const cached = dstWindowCache.get(year);
  if (cached !== undefined) return cached;
  if (dstWindowCache.size >= DST_WINDOW_CACHE_MAX_YEARS) dstWindowCache.clear();
  const startDay = year >= 2007 ? nthSundayOf(year, 3, 2) : nthSundayOf(year, 4, 1);
  const endDay = year >= 2007 ? nthSundayOf(year, 11, 1) : nthSundayOf(year, 10, -1);
  const window = {
    // 02:00 PST on the start day, as UTC.
    start: startDay * SECONDS_PER_DAY + TRANSITION_LOCAL_SECONDS - PST_OFFSET_SECONDS,
    // 02:00 PDT on the end day, as UTC.
    end: endDay * SECONDS_PER_DAY + TRANSITION_LOCAL_SECONDS - PDT_OFFSET_SECONDS,
  };
  dstWindowCache.set(year, window);
  return window;
}

/** LA's offset from UTC at the instant `now`, in seconds (−28800 or −25200). */
export function laOffsetSeconds(now: number): number {
  // The transitions are in March/April and October/November, far from New Year, so the year of
  // the standard-time wall clock is the right year to look up.
  const year = civilFromDays(Math.floor((now + PST_OFFSET_SECONDS) / SECONDS_PER_DAY)).year;
  const window = computeDstWindow(year);
  return now >= window.start && now < window.end ? PDT_OFFSET_SECONDS : PST_OFFSET_SECONDS;
}

/** The LA calendar date at `now`, as days since 1970-01-01 (`unix_dates.py`). */
export function laUnixDate(now: number): number {
  return Math.floor((now + laOffsetSeconds(now)) / SECONDS_PER_DAY);
}

/**
 * Unix seconds of the LA midnight that starts LA date `unixDate`. Midnight never falls inside a
 * transition (both are at 02:00), so exactly one of the two offsets is consistent.
 */
export function laMidnightStartOf(unixDate: number): number {
  const asPdt = unixDate * SECONDS_PER_DAY - PDT_OFFSET_SECONDS;
  if (laOffsetSeconds(asPdt) === PDT_OFFSET_SECONDS) return asPdt;
  return unixDate * SECONDS_PER_DAY - PST_OFFSET_SECONDS;
}

/** The first LA midnight strictly after `now` (23 h after the previous one in spring, 25 h in fall). */
export function nextLaMidnight(now: number): number {
  return laMidnightStartOf(laUnixDate(now) + 1);
}

/** `YYYY-MM-DD` for a unix date in 1970-01-01 … 9999-12-31. Throws a RangeError otherwise. */
export function unixDateToIso(unixDate: number): string {
  if (!Number.isInteger(unixDate) || unixDate < 0 || unixDate > MAX_UNIX_DATE) {
    throw new RangeError(`unix date out of range: ${String(unixDate)}`);
  }
  const { year, month, day } = civilFromDays(unixDate);
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

const ISO_DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

function daysInMonth(year: number, month: number): number {
  return daysFromCivil(month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1, 1) - daysFromCivil(year, month, 1);
}

/**
 * Strict `YYYY-MM-DD` → unix date (negative before 1970), like Python's `date.fromisoformat` for
 * this form: years 0001–9999, a real calendar day (2023-02-30 is refused). Else `undefined`.
 */
export function isoToUnixDate(text: string): number | undefined {
  const match = ISO_DATE_PATTERN.exec(text);
  if (match === null) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  const days = daysFromCivil(year, month, day);
  return days >= MIN_UNIX_DATE ? days : undefined;
}
