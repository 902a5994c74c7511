/**
 * Down sets: the form in which a tenant's rows go from one table's query to the next (taken from COPY
 * text by down-set-collector.ts, compared in memory by down-set-keys.ts, written into SQL by
 * subset-sql.ts).
 */

/**
 * A table's down set read from the snapshot: its rows' CTE columns (identity and foreign-key columns)
 * as PostgreSQL array literals, in PostgreSQL's own text. Given back to later queries as
 * `unnest(...)`, whose row count PostgreSQL knows exactly, so their semi-joins walk the indexes; a
 * chain of CTEs gets estimates that grow with every UNION down the chain, and on those PostgreSQL
 * hashes whole tables.
 */
export interface DownSet {
  readonly rows: number;
  /** One array literal per column, in the order of subset-sql.ts's `downSetColumns`. */
  readonly arrays: readonly string[];
  /** The same columns' values (see {@link SetValue}), when they were at hand as values. */
  readonly values?: readonly (readonly SetValue[])[];
}

/**
 * One value of a set as held in memory: the text PostgreSQL wrote, except that a canonical integer
 * within JavaScript's safe range (`42`, `-7`, not `042` or `+7`) is held as that number, which costs
 * no allocation (the ids of a 1.8 M-row tenant were 6 M strings, and most of its backup's garbage
 * collection). Equal texts give equal values, different texts different ones, whichever the form.
 */
export type SetValue = string | number | null;

/** The {@link SetValue} of a column's text (null: NULL). */
export function setValue(text: string | null): SetValue {
  if (text === null || text.length > 17 || !CANONICAL_INTEGER.test(text)) return text;
  const number = Number(text);
  return Number.isSafeInteger(number) ? number : text;
}

/** As PostgreSQL writes integers: no sign but `-`, no leading zeros, and no `-0`. */
const CANONICAL_INTEGER = /^(0|-?[1-9][0-9]*)$/;

/** Down sets by table name. */
export type DownSets = ReadonlyMap<string, DownSet>;

/**
 * A PostgreSQL array literal that array input reads back exactly: integers as they are, every other
 * element quoted.
 */
export function arrayLiteral(values: readonly SetValue[]): string {
  // Ids, usually: joined natively, in half the time of quoting each.
  if (values.every((value) => typeof value === 'number')) return `{${values.join(',')}}`;
  const quoted = values.map((value) => {
    if (value === null) return 'NULL';
    if (typeof value === 'number') return String(value);
    return value.includes('\\') || value.includes('"') ? `"${value.replace(/[\\"]/g, '\\$&')}"` : `"${value}"`;
  });
  return `{${quoted.join(',')}}`;
}
