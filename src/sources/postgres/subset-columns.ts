/**
 * The columns and row order of a tenant subset's queries: a row's identity, the columns its down set
 * carries, what COPY writes, and the stable order that makes the next day's bytes deduplicate.
 */
import { quoteIdent, quoteQualified, type Table } from '../../postgres/catalog.js';
import type { TenantPlan } from './tenant-plan.js';

/** A row's identity: its key, else its physical position (stable inside one snapshot). */
export function identityColumns(table: Table): readonly { readonly name: string; readonly type: string }[] {
  if (table.key.length > 0) return table.key.map((name) => ({ name, type: table.columns.find((c) => c.name === name)!.type }));
  return [
    { name: 'tableoid', type: 'oid' },
    { name: 'ctid', type: 'tid' },
  ];
}

/**
 * The columns a table's CTEs and {@link DownSet} carry: its identity plus every column a foreign key of
 * the plan uses on it.
 */
export function downSetColumns(plan: TenantPlan, tableName: string): readonly { readonly name: string; readonly type: string }[] {
  const table = plan.graph.tables.get(tableName)!;
  const columns = new Map(identityColumns(table).map((c) => [c.name, c.type]));
  const add = (names: readonly string[]): void => {
    for (const name of names) if (!columns.has(name)) columns.set(name, table.columns.find((c) => c.name === name)!.type);
  };
  for (const fk of plan.foreignKeys) {
    if (fk.from === table.name) add(fk.fromColumns);
    if (fk.to === table.name) add(fk.toColumns);
  }
  return [...columns].map(([name, type]) => ({ name, type }));
}

/** The table has a key and `columns` hold all of it: their values pick out at most one row. */
export function includesKey(table: Table, columns: readonly string[]): boolean {
  return table.key.length > 0 && table.key.every((c) => columns.includes(c));
}

/** The columns COPY writes and reads: all but generated ones. */
export function copyColumns(table: Table): readonly string[] {
  return table.columns.filter((column) => !column.generated).map((column) => column.name);
}

/** Stable row order: the key, else the whole row's text. */
export function orderBy(table: Table, alias = 't'): string {
  return table.key.length > 0 ? table.key.map((c) => `${alias}.${quoteIdent(c)}`).join(', ') : `${alias}::text COLLATE "C"`;
}

/** Every row of a table, in key order. */
export function wholeTableSelect(table: Table, columns = copyColumns(table).map((c) => `t.${quoteIdent(c)}`).join(', ')): string {
  return `SELECT ${columns} FROM ${quoteQualified(table.name)} t ORDER BY ${orderBy(table)}`;
}
