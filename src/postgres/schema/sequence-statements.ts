/**
 * Sequences: CREATE SEQUENCE with every parameter in pre-data, `OWNED BY` once the tables exist, and
 * their current values, which the restore sets with setval() after the rows are in. Identity sequences
 * are created by their column (see `table-statements.ts`) but their values are captured here too.
 */
import { FailsafeError } from '../../core/errors.js';
import { RANK, type CaptureContext, type SchemaNode, type SchemaStatement, type SequenceValue } from './schema-statement.js';
import { notInExtension, qualifiedName, quoteLiteral, statement, userSchemas } from './sql-text.js';

export interface SequenceRow {
  oid: number;
  schema: string;
  name: string;
  type: string;
  start: string;
  increment: string;
  min: string;
  max: string;
  cache: string;
  cycle: boolean;
  unlogged: boolean;
  /** The sequence of an identity column. */
  identity: boolean;
  /** `"schema"."table"."column"` of a serial column's sequence (OWNED BY). */
  owned_by: string | null;
}

export interface Sequences {
  /** Every user sequence, identity ones included, by oid. */
  readonly rows: ReadonlyMap<number, SequenceRow>;
  /** CREATE SEQUENCE of the sequences that are not identity sequences. */
  readonly nodes: readonly SchemaNode[];
  readonly ownedBy: readonly SchemaStatement[];
}

/** Every user sequence; nodes and OWNED BY for those that are not identity sequences. */
export async function readSequences(ctx: CaptureContext): Promise<Sequences> {
  const { rows } = await ctx.client.query<SequenceRow>(`
    SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, pg_catalog.format_type(s.seqtypid, NULL) AS type,
           s.seqstart::text AS start, s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max,
           s.seqcache::text AS cache, s.seqcycle AS cycle, c.relpersistence = 'u' AS unlogged,
           EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i') AS identity,
           (SELECT pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(t.relname) || '.' || pg_catalog.quote_ident(a.attname)
              FROM pg_catalog.pg_depend d
              JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
              JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
              JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
               AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype = 'a' AND d.refobjsubid > 0) AS owned_by
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'S' AND ${userSchemas('n')} AND ${notInExtension('pg_catalog.pg_class', 'c.oid')}
     ORDER BY n.nspname, c.relname`);
  const nodes: SchemaNode[] = [];
  const ownedBy: SchemaStatement[] = [];
  for (const row of rows) {
    if (row.identity) continue;
    const name = qualifiedName(row.schema, row.name);
    const sql = `CREATE ${row.unlogged ? 'UNLOGGED ' : ''}SEQUENCE ${name} AS ${row.type} ${sequenceOptions(row)}`;
    nodes.push({ key: `rel:${row.oid}`, rank: RANK.sequence, statements: [statement('SEQUENCE', row.schema, row.name, sql)] });
    if (row.owned_by) ownedBy.push(statement('SEQUENCE OWNED BY', row.schema, row.name, `ALTER SEQUENCE ${name} OWNED BY ${row.owned_by}`));
  }
  return { rows: new Map(rows.map((row) => [row.oid, row])), nodes, ownedBy };
}

/** `START WITH ... [NO] CYCLE`, the options CREATE SEQUENCE and identity columns share. */
export function sequenceOptions(row: SequenceRow): string {
  return `START WITH ${row.start} INCREMENT BY ${row.increment} MINVALUE ${row.min} MAXVALUE ${row.max} CACHE ${row.cache} ${row.cycle ? 'CYCLE' : 'NO CYCLE'}`;
}

/** The current value of each sequence, read in batches of one UNION ALL query. */
export async function readSequenceValues(ctx: CaptureContext, sequences: Iterable<SequenceRow>): Promise<SequenceValue[]> {
  const all = [...sequences];
  const values: SequenceValue[] = [];
  for (let start = 0; start < all.length; start += 200) {
    const batch = all.slice(start, start + 200);
    const sql = batch
      .map((row, i) => `SELECT ${i} AS i, last_value::text AS last_value, is_called FROM ${qualifiedName(row.schema, row.name)}`)
      .join('\nUNION ALL\n');
    const { rows } = await ctx.client.query<{ i: number; last_value: string; is_called: boolean }>(`${sql}\nORDER BY i`);
    for (const row of rows) {
      const sequence = batch[row.i]!;
      values.push({ schema: sequence.schema, name: sequence.name, lastValue: row.last_value, isCalled: row.is_called });
    }
  }
  return values;
}

/**
 * One `SELECT pg_catalog.setval(...)` per sequence, to run after the rows are restored.
 *
 * @example
 * await session.query(sequenceValuesSql(schema.sequences));
 * // SELECT pg_catalog.setval('"public"."actor_actor_id_seq"', 200, true);
 */
export function sequenceValuesSql(sequences: readonly SequenceValue[]): string {
  return sequences
    .map((sequence) => {
      if (!/^-?\d+$/.test(sequence.lastValue)) {
        throw new FailsafeError('CORRUPT', `sequence ${sequence.schema}.${sequence.name}: value "${sequence.lastValue}" is not an integer`);
      }
      return `SELECT pg_catalog.setval(${quoteLiteral(qualifiedName(sequence.schema, sequence.name))}, ${sequence.lastValue}, ${sequence.isCalled === true});`;
    })
    .join('\n');
}
