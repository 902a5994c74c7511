/**
 * Field formatting for `COPY ... FROM STDIN` in text format: tab-separated, `\N` for NULL, backslash
 * escapes. Amounts are integer cents and times are epoch milliseconds, so the output never depends on
 * floating-point printing or the local time zone.
 */
import { COPY_NULL, copyTextField } from '../../postgres/copy-text.js';

/** The NULL marker of COPY text format. */
export const NULL = COPY_NULL;

const MS_PER_DAY = 86_400_000;

/** A text value escaped for COPY (backslash, tab, newline, carriage return); `null` gives `\N`. */
export const text = copyTextField;

/** Integer cents as `numeric(12,2)` text: 12345 → `123.45`, -5 → `-0.05`. */
export function cents(value: number): string {
  const sign = value < 0 ? '-' : '';
  const abs = Math.abs(value);
  const fraction = abs % 100;
  return `${sign}${(abs - fraction) / 100}.${fraction < 10 ? '0' : ''}${fraction}`;
}

/** Epoch milliseconds as an ISO 8601 UTC timestamp; `null` gives `\N`. */
export function timestamp(ms: number | null): string {
  return ms === null ? NULL : new Date(ms).toISOString();
}

const dateCache = new Map<number, string>();

/** A day number (days since 1970-01-01) as `YYYY-MM-DD`. */
export function date(day: number | null): string {
  if (day === null) return NULL;
  let cached = dateCache.get(day);
  if (cached === undefined) {
    cached = new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
    dateCache.set(day, cached);
  }
  return cached;
}

/** `bytea` in hex form, escaped for COPY (`\\x0102`). */
export function bytea(value: Buffer | null): string {
  return value === null ? NULL : `\\\\x${value.toString('hex')}`;
}

/** A `text[]` literal, escaped for COPY. */
export function textArray(values: readonly string[]): string {
  const elements = values.map((value) => (/^[A-Za-z0-9_.:-]+$/.test(value) && value.toUpperCase() !== 'NULL' ? value : `"${value.replace(/["\\]/g, '\\$&')}"`));
  return text(`{${elements.join(',')}}`);
}

/** A `jsonb` value, escaped for COPY. */
export function json(value: unknown): string {
  return text(JSON.stringify(value));
}

export function bool(value: boolean): string {
  return value ? 't' : 'f';
}

/** A nullable number as COPY text. */
export function int(value: number | null): string {
  return value === null ? NULL : String(value);
}
