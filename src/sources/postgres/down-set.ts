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
  /** The same columns' values (text, null for NULL), when they were at hand as values. */
  readonly values?: readonly (readonly (string | null)[])[];
}

/** Down sets by table name. */
export type DownSets = ReadonlyMap<string, DownSet>;

/** A PostgreSQL array literal with every element quoted, which array input reads back exactly. */
export function arrayLiteral(values: readonly (string | null)[]): string {
  const quoted = values.map((value) => {
    if (value === null) return 'NULL';
    return value.includes('\\') || value.includes('"') ? `"${value.replace(/[\\"]/g, '\\$&')}"` : `"${value}"`;
  });
  return `{${quoted.join(',')}}`;
}
