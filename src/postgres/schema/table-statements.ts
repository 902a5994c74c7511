/**
 * Tables and partitions. A table is created with its columns (types, collations, NOT NULL, identity,
 * generated expressions) and its validated CHECK constraints; a partition with `PARTITION OF parent ...
 * FOR VALUES` so it inherits columns, CHECK and NOT NULL constraints, identity and generated columns from
 * its parent and states only what is its own. Column defaults come later as `ALTER TABLE ONLY ... SET
 * DEFAULT`, one per relation, so a default may call a function created after the table and a partition
 * keeps exactly its own defaults.
 *
 * A partition created with PARTITION OF gets its parent's column order; a partition that was created on
 * its own with a different order and then attached comes back in the parent's order (rows are restored
 * through the parent with column lists, so nothing depends on it).
 */
import { RANK, type CaptureContext, type SchemaNode, type SchemaStatement } from './schema-statement.js';
import { sequenceOptions, type SequenceRow } from './sequence-statements.js';
import { collationClause, notInExtension, qualifiedName, quoteIdent, statement, userSchemas, withOptions } from './sql-text.js';

interface TableRow {
  oid: number;
  schema: string;
  name: string;
  relkind: 'r' | 'p';
  unlogged: boolean;
  is_partition: boolean;
  partkey: string | null;
  bound: string | null;
  parents: number[];
  options: string[] | null;
  toast_options: string[] | null;
  access_method: string | null;
}

export interface ColumnRow {
  rel: number;
  name: string;
  type: string;
  collation: string | null;
  not_null: boolean;
  identity: '' | 'a' | 'd';
  generated: '' | 's' | 'v';
  expr: string | null;
  is_local: boolean;
  identity_sequence: number | null;
}

interface NotNullRow {
  rel: number;
  column: string;
  name: string;
  no_inherit: boolean;
  validated: boolean;
}

interface CheckRow {
  rel: number;
  name: string;
  def: string;
  validated: boolean;
  is_local: boolean;
  inherited: number;
}

export interface TableStatements {
  readonly nodes: readonly SchemaNode[];
  /** `ALTER TABLE ONLY ... SET DEFAULT`, after every table, function and sequence exists. */
  readonly defaults: readonly SchemaStatement[];
}

const COLUMNS_SQL = `
  SELECT a.attrelid::int AS rel, a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
         ${collationClause('a.attcollation', 't.typcollation')} AS collation,
         a.attnotnull AS not_null, a.attidentity::text AS identity, a.attgenerated::text AS generated,
         pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS expr, a.attislocal AS is_local,
         (SELECT s.oid::int FROM pg_catalog.pg_depend sd JOIN pg_catalog.pg_class s ON s.oid = sd.objid
           WHERE sd.classid = 'pg_catalog.pg_class'::regclass AND sd.refclassid = 'pg_catalog.pg_class'::regclass
             AND sd.refobjid = a.attrelid AND sd.refobjsubid = a.attnum AND sd.deptype = 'i' AND s.relkind = 'S') AS identity_sequence
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
   ORDER BY a.attrelid, a.attnum`;

/** Columns of the given relations in attnum order, with their defaults and generation expressions. */
export async function readColumns(ctx: CaptureContext, oids: readonly number[]): Promise<ColumnRow[]> {
  return (await ctx.client.query<ColumnRow>(COLUMNS_SQL, [oids])).rows;
}

/** `ALTER TABLE ONLY rel ALTER COLUMN c SET DEFAULT expr` for each plain (not generated) default. */
export function defaultStatements(schema: string, name: string, columns: readonly ColumnRow[], alter = 'TABLE ONLY'): SchemaStatement[] {
  return columns
    .filter((column) => column.expr !== null && column.generated === '')
    .map((column) =>
      statement(
        'DEFAULT',
        schema,
        `${name}.${column.name}`,
        `ALTER ${alter} ${qualifiedName(schema, name)} ALTER COLUMN ${quoteIdent(column.name)} SET DEFAULT ${column.expr}`,
      ),
    );
}

/** Ordinary and partitioned tables and partitions in user schemas, with their defaults. */
export async function readTables(ctx: CaptureContext, sequences: ReadonlyMap<number, SequenceRow>): Promise<TableStatements> {
  const { rows: tables } = await ctx.client.query<TableRow>(`
    SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind,
           c.relpersistence = 'u' AS unlogged, c.relispartition AS is_partition,
           CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partkey,
           CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END AS bound,
           array(SELECT i.inhparent::int FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid ORDER BY i.inhseqno) AS parents,
           c.reloptions::text[] AS options, tc.reloptions::text[] AS toast_options,
           CASE WHEN am.amname <> 'heap' THEN am.amname END AS access_method
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_catalog.pg_class tc ON tc.oid = c.reltoastrelid
      LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
     WHERE c.relkind IN ('r', 'p') AND ${userSchemas('n')} AND ${notInExtension('pg_catalog.pg_class', 'c.oid')}
     ORDER BY n.nspname, c.relname`);
  const oids = tables.map((table) => table.oid);
  const columns = groupBy(await readColumns(ctx, oids), (row) => row.rel);
  const notNulls = groupBy(
    ctx.version >= 18
      ? (
          await ctx.client.query<NotNullRow>(
            `SELECT co.conrelid::int AS rel, a.attname AS column, co.conname AS name, co.connoinherit AS no_inherit, co.convalidated AS validated
               FROM pg_catalog.pg_constraint co
               JOIN pg_catalog.pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = co.conkey[1]
              WHERE co.contype = 'n' AND co.conrelid = ANY($1::oid[])`,
            [oids],
          )
        ).rows
      : [],
    (row) => row.rel,
  );
  const checks = groupBy(
    (
      await ctx.client.query<CheckRow>(
        `SELECT co.conrelid::int AS rel, co.conname AS name, pg_catalog.pg_get_constraintdef(co.oid) AS def,
                co.convalidated AS validated, co.conislocal AS is_local, co.coninhcount::int AS inherited
           FROM pg_catalog.pg_constraint co
          WHERE co.contype = 'c' AND co.conrelid = ANY($1::oid[])
          ORDER BY co.conrelid, co.conname`,
        [oids],
      )
    ).rows,
    (row) => row.rel,
  );

  const byOid = new Map(tables.map((table) => [table.oid, table]));
  const nodes: SchemaNode[] = [];
  const defaults: SchemaStatement[] = [];
  for (const table of tables) {
    const parents = table.parents.map((oid) => byOid.get(oid)).filter((parent) => parent !== undefined);
    const own = {
      columns: columns.get(table.oid) ?? [],
      notNulls: new Map((notNulls.get(table.oid) ?? []).map((row) => [row.column, row])),
      checks: (checks.get(table.oid) ?? []).filter((check) => check.validated && (table.is_partition ? check.inherited === 0 : check.is_local)),
    };
    const inherited = {
      columns: new Map(parents.flatMap((parent) => (columns.get(parent.oid) ?? []).map((column) => [column.name, column] as const))),
      notNulls: new Map(parents.flatMap((parent) => (notNulls.get(parent.oid) ?? []).map((row) => [row.column, row] as const))),
    };
    const statements =
      table.is_partition && parents.length === 1
        ? [partitionSql(ctx, table, parents[0]!, own, inherited)]
        : tableSql(ctx, table, parents, own, inherited, sequences);
    nodes.push({ key: `rel:${table.oid}`, rank: RANK.table, statements });
    defaults.push(...defaultStatements(table.schema, table.name, own.columns));
  }
  return { nodes, defaults };
}

interface OwnParts {
  readonly columns: readonly ColumnRow[];
  readonly notNulls: ReadonlyMap<string, NotNullRow>;
  readonly checks: readonly CheckRow[];
}
interface InheritedParts {
  readonly columns: ReadonlyMap<string, ColumnRow>;
  readonly notNulls: ReadonlyMap<string, NotNullRow>;
}

function tableSql(
  ctx: CaptureContext,
  table: TableRow,
  parents: readonly TableRow[],
  own: OwnParts,
  inherited: InheritedParts,
  sequences: ReadonlyMap<number, SequenceRow>,
): SchemaStatement[] {
  const name = qualifiedName(table.schema, table.name);
  // A child of INHERITS gets the parent's columns; it declares only those it has of its own (attislocal).
  const declared = parents.length > 0 ? own.columns.filter((column) => column.is_local) : own.columns;
  const items = [
    ...declared.map((column) => columnSql(ctx, column, own.notNulls.get(column.name), sequences)),
    ...own.checks.map((check) => `CONSTRAINT ${quoteIdent(check.name)} ${check.def}`),
  ];
  const sql = [
    `CREATE ${table.unlogged ? 'UNLOGGED ' : ''}TABLE ${name} (${items.length > 0 ? `\n    ${items.join(',\n    ')}\n` : ''})`,
    parents.length > 0 ? ` INHERITS (${parents.map((parent) => qualifiedName(parent.schema, parent.name)).join(', ')})` : '',
    table.partkey ? ` PARTITION BY ${table.partkey}` : '',
    tail(table),
  ].join('');
  const statements = [statement('TABLE', table.schema, table.name, sql)];
  // An inherited column that is NOT NULL here but not in any parent.
  for (const column of own.columns.filter((c) => !c.is_local && c.not_null && !inherited.columns.get(c.name)?.not_null)) {
    const notNull = own.notNulls.get(column.name);
    const alter =
      notNull && ctx.version >= 18
        ? `ADD CONSTRAINT ${quoteIdent(notNull.name)} NOT NULL ${quoteIdent(column.name)}`
        : `ALTER COLUMN ${quoteIdent(column.name)} SET NOT NULL`;
    statements.push(statement('TABLE', table.schema, `${table.name}.${column.name}`, `ALTER TABLE ONLY ${name} ${alter}`));
  }
  return statements;
}

function partitionSql(ctx: CaptureContext, table: TableRow, parent: TableRow, own: OwnParts, inherited: InheritedParts): SchemaStatement {
  const items: string[] = [];
  for (const column of own.columns) {
    const notNull = own.notNulls.get(column.name);
    if (ctx.version >= 18) {
      // Since PostgreSQL 18 NOT NULL is a named constraint; a partition that had its own name keeps it.
      if (notNull?.validated && inherited.notNulls.get(column.name)?.name !== notNull.name) {
        items.push(`${quoteIdent(column.name)} WITH OPTIONS CONSTRAINT ${quoteIdent(notNull.name)} NOT NULL`);
      }
    } else if (column.not_null && !inherited.columns.get(column.name)?.not_null) {
      items.push(`${quoteIdent(column.name)} WITH OPTIONS NOT NULL`);
    }
  }
  items.push(...own.checks.map((check) => `CONSTRAINT ${quoteIdent(check.name)} ${check.def}`));
  const sql = [
    `CREATE ${table.unlogged ? 'UNLOGGED ' : ''}TABLE ${qualifiedName(table.schema, table.name)} PARTITION OF ${qualifiedName(parent.schema, parent.name)}`,
    items.length > 0 ? ` (\n    ${items.join(',\n    ')}\n)` : '',
    ` ${table.bound}`,
    table.partkey ? ` PARTITION BY ${table.partkey}` : '',
    tail(table),
  ].join('');
  return statement('TABLE', table.schema, table.name, sql);
}

function columnSql(ctx: CaptureContext, column: ColumnRow, notNull: NotNullRow | undefined, sequences: ReadonlyMap<number, SequenceRow>): string {
  const parts = [quoteIdent(column.name), column.type];
  if (column.collation) parts.push(`COLLATE ${column.collation}`);
  if (column.generated !== '') parts.push(`GENERATED ALWAYS AS (${column.expr}) ${column.generated === 's' ? 'STORED' : 'VIRTUAL'}`);
  if (column.identity !== '') {
    const sequence = column.identity_sequence === null ? undefined : sequences.get(column.identity_sequence);
    const options = sequence ? ` (SEQUENCE NAME ${qualifiedName(sequence.schema, sequence.name)} ${sequenceOptions(sequence)})` : '';
    parts.push(`GENERATED ${column.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY${options}`);
  }
  if (ctx.version >= 18 && notNull) {
    // A NOT VALID one is added in post-data, after the rows.
    if (notNull.validated) parts.push(`CONSTRAINT ${quoteIdent(notNull.name)} NOT NULL${notNull.no_inherit ? ' NO INHERIT' : ''}`);
  } else if (column.not_null) {
    parts.push('NOT NULL');
  }
  return parts.join(' ');
}

/** `USING am WITH (...)`: a non-heap access method and storage parameters, the TOAST table's included. */
function tail(table: TableRow): string {
  const options = [...(table.options ?? []), ...(table.toast_options ?? []).map((option) => `toast.${option}`)];
  return `${table.access_method ? ` USING ${quoteIdent(table.access_method)}` : ''}${withOptions(options)}`;
}

function groupBy<T, K>(rows: readonly T[], key: (row: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const row of rows) {
    const list = groups.get(key(row)) ?? [];
    list.push(row);
    groups.set(key(row), list);
  }
  return groups;
}
