/**
 * Pieces of the subset SQL that subset-sql.ts puts together: the WITH clause, tuple membership, and
 * identities written as literal rows.
 */
import { quoteIdent, quoteLiteral, type Table } from '../../postgres/catalog.js';
import { identityColumns } from './subset-columns.js';

export interface Cte {
  readonly name: string;
  readonly sql: string;
}

export const RECURSIVE_MARK = '/*recursive*/ ';

export function withClause(ctes: ReadonlyMap<string, Cte>): string {
  if (ctes.size === 0) return '';
  const list = [...ctes.values()];
  const recursive = list.some((cte) => cte.sql.startsWith(RECURSIVE_MARK));
  return `WITH ${recursive ? 'RECURSIVE ' : ''}${list.map((cte) => `${cte.name} AS (${cte.sql.replace(RECURSIVE_MARK, '')})`).join(', ')} `;
}

export function tupleIn(alias: string, columns: readonly string[], set: string, setColumns: readonly string[]): string {
  return `(${columns.map((c) => `${alias}.${quoteIdent(c)}`).join(', ')}) IN (SELECT ${setColumns.map((c) => `s.${quoteIdent(c)}`).join(', ')} FROM ${set} s)`;
}

/** The row's identity is in the CTE `set`. */
export function identityIn(table: Table, alias: string, set: string): string {
  const columns = identityColumns(table).map((c) => c.name);
  return tupleIn(alias, columns, set, columns);
}

/** The row's identity is one of `rows` (identity tuples as text). */
export function identityAmong(table: Table, alias: string, rows: readonly (readonly string[])[]): string {
  return `(${identityColumns(table).map((c) => `${alias}.${quoteIdent(c.name)}`).join(', ')}) IN ${identityValues(table, rows)}`;
}

/** `(VALUES (...), ...)` of identity tuples, each value cast to its column's type. */
export function identityValues(table: Table, rows: readonly (readonly string[])[]): string {
  const identity = identityColumns(table);
  return `(VALUES ${rows.map((row) => `(${row.map((value, i) => `${quoteLiteral(value)}::${identity[i]!.type}`).join(', ')})`).join(', ')})`;
}

/** The row's identity as `text[]`, the form the closure's queries return rows in. */
export function identityArray(table: Table, alias: string): string {
  return `ARRAY[${identityColumns(table).map((c) => `${alias}.${quoteIdent(c.name)}::text`).join(', ')}]`;
}

export function columnList(columns: readonly string[]): string {
  return columns.length === 1 ? columns[0]! : `(${columns.join(', ')})`;
}
