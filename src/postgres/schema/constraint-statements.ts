/**
 * Post-data constraints and indexes, printed by pg_get_constraintdef and pg_get_indexdef.
 *
 * Partitioned tables follow pg_dump: a key or index is created on the parent alone (`ALTER TABLE ONLY`,
 * `CREATE INDEX ... ON ONLY`), each partition gets its own under its own name, and `ALTER INDEX parent
 * ATTACH PARTITION child` ties them, which also makes the partition's constraint a child of the parent's.
 * Nothing is created twice, and names survive. Foreign keys are the exception: one declared on a
 * partitioned table is added to the parent without ONLY and PostgreSQL creates the partitions' copies,
 * so copies (conparentid <> 0) are skipped.
 */
import type { CaptureContext, SchemaStatement } from './schema-statement.js';
import { notInExtension, qualifiedName, quoteIdent, statement, userSchemas } from './sql-text.js';

interface ConstraintRow {
  name: string;
  kind: 'p' | 'u' | 'x' | 'f' | 'c' | 'n';
  schema: string;
  table: string;
  relkind: 'r' | 'p';
  is_partition: boolean;
  def: string;
  has_parent: boolean;
  validated: boolean;
  is_local: boolean;
  inherited: number;
  index: string | null;
  parent_index: string | null;
}

interface IndexRow {
  schema: string;
  name: string;
  table: string;
  def: string;
  parent_index: string | null;
  backs_constraint: boolean;
  clustered: boolean;
}

interface ReplicaIdentityRow {
  schema: string;
  table: string;
  identity: 'f' | 'n' | 'i';
  index: string | null;
}

export interface ConstraintStatements {
  /** Primary keys, unique and exclusion constraints. */
  readonly keys: readonly SchemaStatement[];
  /** Indexes that back no constraint. */
  readonly indexes: readonly SchemaStatement[];
  /** `ALTER INDEX ... ATTACH PARTITION`, after every index exists. */
  readonly attachments: readonly SchemaStatement[];
  /** CHECK (and, from 18, NOT NULL) constraints that were NOT VALID; REPLICA IDENTITY, CLUSTER ON. */
  readonly tableOptions: readonly SchemaStatement[];
  readonly foreignKeys: readonly SchemaStatement[];
}

/** Keys, indexes, index attachments, table options and foreign keys of user tables, in post-data order. */
export async function readConstraints(ctx: CaptureContext): Promise<ConstraintStatements> {
  const { rows: constraints } = await ctx.client.query<ConstraintRow>(`
    SELECT co.conname AS name, co.contype::text AS kind, n.nspname AS schema, c.relname AS table, c.relkind::text AS relkind,
           c.relispartition AS is_partition, pg_catalog.pg_get_constraintdef(co.oid) AS def, co.conparentid <> 0 AS has_parent,
           co.convalidated AS validated, co.conislocal AS is_local, co.coninhcount::int AS inherited,
           (SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(ci.relname)
              FROM pg_catalog.pg_class ci WHERE ci.oid = co.conindid) AS index,
           ${parentIndex('co.conindid')} AS parent_index
      FROM pg_catalog.pg_constraint co
      JOIN pg_catalog.pg_class c ON c.oid = co.conrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE co.contype IN ('p', 'u', 'x', 'f', 'c', 'n') AND c.relkind IN ('r', 'p')
       AND ${userSchemas('n')} AND ${notInExtension('pg_catalog.pg_class', 'c.oid')}
     ORDER BY n.nspname, c.relname, co.conname`);
  const { rows: indexes } = await ctx.client.query<IndexRow>(`
    SELECT n.nspname AS schema, ic.relname AS name, tc.relname AS table, pg_catalog.pg_get_indexdef(i.indexrelid) AS def,
           ${parentIndex('i.indexrelid')} AS parent_index, i.indisclustered AS clustered,
           EXISTS (SELECT 1 FROM pg_catalog.pg_constraint co
                    WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x')) AS backs_constraint
      FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
      JOIN pg_catalog.pg_class tc ON tc.oid = i.indrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = tc.relnamespace
     WHERE tc.relkind IN ('r', 'p', 'm') AND (i.indisvalid OR ic.relkind = 'I')
       AND ${userSchemas('n')} AND ${notInExtension('pg_catalog.pg_class', 'tc.oid')}
     ORDER BY n.nspname, ic.relname`);
  const { rows: replicaIdentities } = await ctx.client.query<ReplicaIdentityRow>(`
    SELECT n.nspname AS schema, c.relname AS table, c.relreplident::text AS identity,
           (SELECT ic.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
             WHERE i.indrelid = c.oid AND i.indisreplident) AS index
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND c.relreplident <> 'd'
       AND ${userSchemas('n')} AND ${notInExtension('pg_catalog.pg_class', 'c.oid')}
     ORDER BY n.nspname, c.relname`);

  const keys: SchemaStatement[] = [];
  const attachments: SchemaStatement[] = [];
  const tableOptions: SchemaStatement[] = [];
  const foreignKeys: SchemaStatement[] = [];
  for (const row of constraints) {
    const table = qualifiedName(row.schema, row.table);
    const name = `${row.table}.${row.name}`;
    const add = (only: boolean): string => `ALTER TABLE ${only ? 'ONLY ' : ''}${table} ADD CONSTRAINT ${quoteIdent(row.name)} ${row.def}`;
    switch (row.kind) {
      case 'p':
      case 'u':
      case 'x':
        keys.push({ ...statement('CONSTRAINT', row.schema, name, add(true)), table });
        if (row.has_parent && row.parent_index && row.index) attachments.push(attach(row.schema, row.name, row.parent_index, row.index));
        break;
      case 'f':
        // A partitioned table's key is added without ONLY; PostgreSQL creates the partitions' copies.
        if (!row.has_parent) foreignKeys.push({ ...statement('FK CONSTRAINT', row.schema, name, add(row.relkind !== 'p')), table });
        break;
      case 'c':
      case 'n':
        // Validated ones are part of CREATE TABLE; inherited copies come with the parent's.
        if (!row.validated && (row.is_partition ? row.inherited === 0 : row.is_local)) {
          tableOptions.push(statement(row.kind === 'c' ? 'CHECK CONSTRAINT' : 'NOT NULL CONSTRAINT', row.schema, name, add(false)));
        }
        break;
    }
  }
  const plainIndexes: SchemaStatement[] = [];
  for (const row of indexes) {
    const index = qualifiedName(row.schema, row.name);
    if (!row.backs_constraint) {
      plainIndexes.push({ ...statement('INDEX', row.schema, row.name, row.def), table: qualifiedName(row.schema, row.table) });
      if (row.parent_index) attachments.push(attach(row.schema, row.name, row.parent_index, index));
    }
    if (row.clustered) {
      tableOptions.push(statement('CLUSTER', row.schema, `${row.table}.${row.name}`, `ALTER TABLE ONLY ${qualifiedName(row.schema, row.table)} CLUSTER ON ${quoteIdent(row.name)}`));
    }
  }
  for (const row of replicaIdentities) {
    const identity = row.identity === 'f' ? 'FULL' : row.identity === 'n' ? 'NOTHING' : row.index ? `USING INDEX ${quoteIdent(row.index)}` : undefined;
    if (identity) {
      tableOptions.push(statement('REPLICA IDENTITY', row.schema, row.table, `ALTER TABLE ONLY ${qualifiedName(row.schema, row.table)} REPLICA IDENTITY ${identity}`));
    }
  }
  return { keys, indexes: plainIndexes, attachments, tableOptions, foreignKeys };
}

/** SQL for the qualified name of the partitioned index that `index` is attached to, or NULL. */
function parentIndex(index: string): string {
  return `(SELECT pg_catalog.quote_ident(pn.nspname) || '.' || pg_catalog.quote_ident(pi.relname)
             FROM pg_catalog.pg_inherits ih
             JOIN pg_catalog.pg_class pi ON pi.oid = ih.inhparent
             JOIN pg_catalog.pg_namespace pn ON pn.oid = pi.relnamespace
            WHERE ih.inhrelid = ${index})`;
}

function attach(schema: string, name: string, parent: string, child: string): SchemaStatement {
  return statement('INDEX ATTACH', schema, name, `ALTER INDEX ${parent} ATTACH PARTITION ${child}`);
}
