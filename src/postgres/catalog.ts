/**
 * The table graph of a database, read from the catalogs: tables (a partitioned table counts once, its
 * partitions are storage), columns, keys and foreign keys. Planners work on this model, never on the
 * catalogs directly.
 */
import type { SqlClient } from './connection.js';

export interface Column {
  readonly name: string;
  /** As `format_type` prints it, e.g. `integer`, `character varying(40)`, `public.mpaa_rating`. */
  readonly type: string;
  readonly notNull: boolean;
  /** Generated columns cannot be written by COPY FROM. */
  readonly generated: boolean;
}

export interface Table {
  /** `schema.table`, both parts unquoted. */
  readonly name: string;
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly Column[];
  /** Primary key columns, else the first unique key whose columns are all NOT NULL; empty when neither. */
  readonly key: readonly string[];
  readonly partitioned: boolean;
  /** The planner's row estimate (`reltuples`, summed over partitions); -1 when never analysed. */
  readonly estimatedRows: number;
}

export interface ForeignKey {
  /** Constraint name, or `extra:N` for one added by configuration. */
  readonly name: string;
  readonly from: string;
  readonly fromColumns: readonly string[];
  readonly to: string;
  readonly toColumns: readonly string[];
  /** True when any referencing column may be NULL. */
  readonly nullable: boolean;
  /** Declared in the database (false for configured extras). */
  readonly declared: boolean;
}

export interface TableGraph {
  readonly tables: ReadonlyMap<string, Table>;
  readonly foreignKeys: readonly ForeignKey[];
}

/** `schema.table` with both parts unquoted; the names we print and accept. */
export function qualifiedName(schema: string, table: string): string {
  return `${schema}.${table}`;
}

/** `"schema"."table"`, safe to paste into SQL. */
export function quoteQualified(name: string, graph?: TableGraph): string {
  const table = graph?.tables.get(name);
  if (table) return `${quoteIdent(table.schema)}.${quoteIdent(table.table)}`;
  const dot = name.indexOf('.');
  return `${quoteIdent(name.slice(0, dot))}.${quoteIdent(name.slice(dot + 1))}`;
}

export function quoteIdent(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

interface TableRow {
  oid: number;
  schema: string;
  table: string;
  relkind: string;
  estimated_rows: string;
}
interface ColumnRow {
  table_oid: number;
  name: string;
  type: string;
  not_null: boolean;
  generated: string;
}
interface KeyRow {
  table_oid: number;
  contype: string;
  columns: string[];
}
interface ForeignKeyRow {
  name: string;
  from_oid: number;
  to_oid: number;
  from_columns: string[];
  to_columns: string[];
}

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`;

/**
 * Reads every ordinary and partitioned table outside the system schemas (leaf partitions are folded into
 * their root; foreign keys declared on partitions are lifted to the root table).
 *
 * @example
 * const graph = await readTableGraph(session);
 * graph.tables.get('public.rental')?.key; // ['rental_id']
 */
export async function readTableGraph(client: SqlClient): Promise<TableGraph> {
  const { rows: tableRows } = await client.query<TableRow>(`
    SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS table, c.relkind::text AS relkind,
           (SELECT coalesce(sum(greatest(p.reltuples, 0)), 0) + greatest(c.reltuples, 0)
              FROM pg_partition_tree(c.oid) t JOIN pg_class p ON p.oid = t.relid WHERE t.relid <> c.oid)::text
             AS estimated_rows
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND ${USER_SCHEMAS}
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
     ORDER BY n.nspname, c.relname`);
  const byOid = new Map(tableRows.map((row) => [row.oid, row]));
  const oids = tableRows.map((row) => row.oid);

  const { rows: columnRows } = await client.query<ColumnRow>(
    `SELECT a.attrelid::int AS table_oid, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS not_null, a.attgenerated::text AS generated
       FROM pg_attribute a
      WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [oids],
  );
  const { rows: keyRows } = await client.query<KeyRow>(
    `SELECT con.conrelid::int AS table_oid, con.contype::text AS contype,
            array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, i)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.i)::text[] AS columns
       FROM pg_constraint con
      WHERE con.conrelid = ANY($1::oid[]) AND con.contype IN ('p', 'u')
      ORDER BY con.conrelid, con.contype, con.conname`,
    [oids],
  );
  // Foreign keys on partitions are lifted to their root; a key declared on the root is inherited by every
  // partition as a child constraint (conparentid <> 0), which we skip.
  const { rows: foreignKeyRows } = await client.query<ForeignKeyRow>(`
    SELECT con.conname AS name,
           coalesce((SELECT r.relid FROM pg_partition_ancestors(con.conrelid) r
                       JOIN pg_class rc ON rc.oid = r.relid WHERE NOT rc.relispartition), con.conrelid)::int AS from_oid,
           coalesce((SELECT r.relid FROM pg_partition_ancestors(con.confrelid) r
                       JOIN pg_class rc ON rc.oid = r.relid WHERE NOT rc.relispartition), con.confrelid)::int AS to_oid,
           array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, i)
                   JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.i)::text[] AS from_columns,
           array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(attnum, i)
                   JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.i)::text[] AS to_columns
      FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE con.contype = 'f' AND con.conparentid = 0 AND ${USER_SCHEMAS}
     ORDER BY n.nspname, c.relname, con.conname`);

  const columnsByTable = groupBy(columnRows, (row) => row.table_oid);
  const keysByTable = groupBy(keyRows, (row) => row.table_oid);
  const tables = new Map<string, Table>();
  const nameOf = new Map<number, string>();
  for (const row of tableRows) {
    const columns = (columnsByTable.get(row.oid) ?? []).map((column) => ({
      name: column.name,
      type: column.type,
      notNull: column.not_null,
      generated: column.generated !== '',
    }));
    const name = qualifiedName(row.schema, row.table);
    nameOf.set(row.oid, name);
    tables.set(name, {
      name,
      schema: row.schema,
      table: row.table,
      columns,
      key: chooseKey(keysByTable.get(row.oid) ?? [], columns),
      partitioned: row.relkind === 'p',
      estimatedRows: Number(row.estimated_rows),
    });
  }

  const foreignKeys: ForeignKey[] = [];
  const seen = new Set<string>();
  for (const row of foreignKeyRows) {
    const from = nameOf.get(row.from_oid);
    const to = nameOf.get(row.to_oid);
    if (!from || !to || !byOid.has(row.from_oid)) continue;
    // The same key declared on several partitions becomes one key of the root table.
    const identity = `${from}(${row.from_columns.join(',')})->${to}(${row.to_columns.join(',')})`;
    if (seen.has(identity)) continue;
    seen.add(identity);
    const table = tables.get(from)!;
    foreignKeys.push({
      name: row.name,
      from,
      fromColumns: row.from_columns,
      to,
      toColumns: row.to_columns,
      nullable: row.from_columns.some((column) => !table.columns.find((c) => c.name === column)?.notNull),
      declared: true,
    });
  }
  return { tables, foreignKeys };
}

function chooseKey(keys: readonly KeyRow[], columns: readonly Column[]): readonly string[] {
  const primary = keys.find((key) => key.contype === 'p');
  if (primary) return primary.columns;
  const notNull = new Set(columns.filter((column) => column.notNull).map((column) => column.name));
  return keys.find((key) => key.columns.every((column) => notNull.has(column)))?.columns ?? [];
}

function groupBy<T, K>(items: readonly T[], keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
