/**
 * Parsing and formatting of the human units used in flags and the config file: byte sizes
 * (`16MiB`, `1.5G`), calendar durations (`2y6m`, `30d`, `12h`) and percentages (`10%`).
 */
import { FailsafeError } from './errors.js';

const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/**
 * Parses a byte size. Bare numbers are bytes; `K/M/G/T` and `KiB/MiB/...` are binary, `KB/MB/...` decimal.
 *
 * @example parseByteSize('16MiB') === 16777216
 */
export function parseByteSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = match ? BYTE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new FailsafeError('USAGE', `invalid size "${text}" (examples: 4096, 512KiB, 16MiB, 2GB)`);
  }
  return Math.round(Number(match[1]) * unit);
}

/** Formats bytes with binary units and three significant digits: `1.50 GiB`, `512 KiB`, `17 B`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${bytes < 0 ? '-' : ''}${value.toFixed(digits)} ${units[unit]}`;
}

/** A calendar duration, as in `--keep-within 1y6m`: months and years follow the calendar. */
export interface CalendarDuration {
  readonly years: number;
  readonly months: number;
  readonly days: number;
  readonly hours: number;
}

/**
 * Parses a calendar duration made of `<n>y`, `<n>m` (months), `<n>w`, `<n>d`, `<n>h` parts, in any
 * combination, e.g. `2y6m`, `30d`, `1w12h`.
 */
export function parseCalendarDuration(text: string): CalendarDuration {
  const parts = { y: 0, m: 0, w: 0, d: 0, h: 0 };
  const trimmed = text.trim();
  const re = /(\d+)([ymwdh])/gy;
  let consumed = 0;
  for (let match = re.exec(trimmed); match; match = re.exec(trimmed)) {
    parts[match[2] as keyof typeof parts] += Number(match[1]);
    consumed = re.lastIndex;
  }
  if (trimmed.length === 0 || consumed !== trimmed.length) {
    throw new FailsafeError('USAGE', `invalid duration "${text}" (examples: 30d, 12h, 2y6m, 1w)`);
  }
  return { years: parts.y, months: parts.m, days: parts.d + 7 * parts.w, hours: parts.h };
}

/** `date` moved back by `duration`, following the calendar (UTC). */
export function subtractCalendarDuration(date: Date, duration: CalendarDuration): Date {
  const result = new Date(date.getTime());
  result.setUTCFullYear(result.getUTCFullYear() - duration.years, result.getUTCMonth() - duration.months);
  result.setUTCDate(result.getUTCDate() - duration.days);
  result.setUTCHours(result.getUTCHours() - duration.hours);
  return result;
}

/** Formats a duration in seconds as `1h02m`, `3m05s`, `4.2s`, `120ms`. */
export function formatSeconds(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(rest).padStart(2, '0')}s`;
}

/** Parses `10%` or `0.1` into a fraction between 0 and 1. */
export function parseFraction(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  const value = match ? Number(match[1]) / (match[2] === '%' ? 100 : 1) : NaN;
  if (!(value >= 0 && value <= 1)) {
    throw new FailsafeError('USAGE', `invalid percentage "${text}" (examples: 10%, 2.5%, 0.25)`);
  }
  return value;
}

/** `1,234,567`: a number with thousands separators. */
export function formatNumber(n: number): string {
  return n.toLocaleString('en');
}

/** `2026-11-30 23:32:28`: an ISO timestamp to the second, as the CLI prints times (UTC). */
export function formatTime(iso: string): string {
  return iso.slice(0, 19).replace('T', ' ');
}

/** `1 file`, `2 files`: a count with its noun, singular when it is one. */
export function formatCount(count: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : pluralNoun}`;
}
