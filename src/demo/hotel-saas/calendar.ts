/**
 * The fixed calendar of the sample data. Nothing reads the clock: history runs from {@link BASE_DAY}
 * for {@link HISTORY_DAYS} days and "now" is {@link TODAY_MS}, so the same options give the same rows.
 */
export const MS_PER_DAY = 86_400_000;
export const MS_PER_HOUR = 3_600_000;

/** 2025-10-01, as days since 1970-01-01. */
export const BASE_DAY = Date.UTC(2025, 9, 1) / MS_PER_DAY;
/** Bookings are made on these days (2025-10-01 .. 2025-12-31). */
export const HISTORY_DAYS = 92;
/** 2026-01-01: the day after the history; stays that end before it are checked out. */
export const TODAY_DAY = BASE_DAY + HISTORY_DAYS;
export const TODAY_MS = TODAY_DAY * MS_PER_DAY;

/** 0 = Sunday .. 6 = Saturday (1970-01-01 was a Thursday). */
export function weekday(day: number): number {
  return (day + 4) % 7;
}

/** Friday and Saturday nights sell higher. */
export function isWeekendNight(day: number): boolean {
  const d = weekday(day);
  return d === 5 || d === 6;
}
