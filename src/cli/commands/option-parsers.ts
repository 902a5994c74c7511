/**
 * Parsers for option values, shared by the commands. They throw `USAGE` errors, which the CLI
 * reports as one line with exit code 2.
 */
import { FailsafeError } from '../../core/errors.js';
import { type CalendarDuration, parseCalendarDuration, parseFraction } from '../../core/units.js';

/** Accumulates a repeatable option. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Accumulates a repeatable, comma-separated option (`--group-by host,paths`). */
export function collectCommaSeparated(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((part) => part.trim()).filter((part) => part.length > 0)];
}

export function parseTime(value: string): Date {
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) {
    throw new FailsafeError('USAGE', `invalid time "${value}" (example: 2026-11-22T03:00:00Z)`);
  }
  return time;
}

/** A whole number ≥ -1 (-1: unlimited), as the --keep-* counts take. */
export function parseKeepCount(value: string): number {
  const count = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || count < -1) {
    throw new FailsafeError('USAGE', `invalid count "${value}" (a whole number, or -1 for unlimited)`);
  }
  return count;
}

/** A whole number ≥ 1, e.g. `--latest 5`. */
export function parsePositiveInteger(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
    throw new FailsafeError('USAGE', `invalid count "${value}" (a whole number of at least 1)`);
  }
  return Number(value);
}

export function parseDuration(value: string): CalendarDuration {
  return parseCalendarDuration(value);
}

export { parseFraction };

/** A number above 0, e.g. `--scale 0.5`. */
export function parsePositiveNumber(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new FailsafeError('USAGE', `invalid number "${value}" (a number above 0)`);
  return number;
}
