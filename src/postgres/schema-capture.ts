/**
 * Schema capture from the catalogs (no pg_dump): the DDL that rebuilds a database's user objects in an
 * empty database, split like pg_restore's sections. PostgreSQL's own printers (`format_type`,
 * `pg_get_expr`, `pg_get_constraintdef`, `pg_get_indexdef`, `pg_get_viewdef`, `pg_get_functiondef`,
 * `pg_get_triggerdef`, `pg_get_ruledef`) write the definitions; this file decides what and in which order.
 *
 * Capture runs with `search_path = ''`, so every name the printers emit is schema-qualified, and the
 * statements are applied with the same setting and `check_function_bodies = off` (as pg_restore does),
 * so function bodies that use unqualified names are kept verbatim and resolve at call time as before.
 *
 * Supported: extensions (by name), schemas, enum/domain/composite/range types, functions, procedures,
 * aggregates, sequences, tables (unlogged, partitioned, partitions, defaults, identity, generated
 * columns, collations, CHECK), views, materialized views, primary/unique/exclusion/foreign keys
 * (partition-aware, as pg_dump: ONLY + ATTACH), indexes, triggers, rules, comments on tables, columns,
 * views, types, functions and schemas. Not yet: table inheritance outside partitioning, row-level
 * security policies, grants and ownership, event triggers, casts, operators, text search configs.
 */
import { quoteIdent, quoteLiteral } from './catalog.js';
import type { SqlClient } from './connection.js';

export interface SchemaStatement {
  /** What it creates: `table`, `index`, `foreign key`, ... */
  readonly kind: string;
  /** `schema.name` of the object, for messages. */
  readonly name: string;
  readonly sql: string;
  /**
   * For keys, indexes and foreign keys: the table (the root of a partitioned family) whose lock the
   * statement takes, so a restore can build different tables' indexes at once.
   */
  readonly table?: string;
}

export interface SequenceValue {
  /** `"schema"."sequence"`, or the identity column it belongs to. */
  readonly sequence?: string;
  readonly identity?: { readonly table: string; readonly column: string };
  readonly lastValue: string;
  readonly isCalled: boolean;
}

export interface CapturedSchema {
  readonly preData: readonly SchemaStatement[];
  readonly postData: readonly SchemaStatement[];
  readonly sequences: readonly SequenceValue[];
}

const USER_NAMESPACE = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`;
const NOT_EXTENSION = (classTable: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend ext WHERE ext.classid = '${classTable}'::regclass AND ext.objid = ${oid} AND ext.deptype = 'e')`;

const qualify = (schema: string, name: string): string => `${quoteIdent(schema)}.${quoteIdent(name)}`;

/**
 * Reads the schema of the database `client` is connected to; run it inside the snapshot's transaction.
 *
 * @example
 * const schema = await captureSchema(session);
 * await applySchemaSection(target, schema.preData);
 */
export async function captureSchema(client: SqlClient): Promise<CapturedSchema> {
  await client.query(`SET search_path = ''`);
  const preData: SchemaStatement[] = [];
  const postData: SchemaStatement[] = [];

  const { rows: extensions } = await client.query<{ name: string; schema: string }>(
    `SELECT e.extname AS name, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname <> 'plpgsql' ORDER BY e.extname`,
  );
  const { rows: schemas } = await client.query<{ name: string }>(
    `SELECT n.nspname AS name FROM pg_namespace n WHERE ${USER_NAMESPACE} AND n.nspname <> 'public'
        AND ${NOT_EXTENSION('pg_namespace', 'n.oid')} ORDER BY 1`,
  );
  for (const { name } of schemas) preData.push({ kind: 'schema', name, sql: `CREATE SCHEMA ${quoteIdent(name)}` });
  for (const e of extensions) {
    preData.push({ kind: 'extension', name: e.name, sql: `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(e.name)} WITH SCHEMA ${quoteIdent(e.schema)}` });
  }

  preData.push(...(await captureTypes(client)));
  const functions = await captureFunctions(client);
  preData.push(...functions.early);
  const sequences = await captureSequences(client);
  preData.push(...sequences.create);
  preData.push(...(await captureTables(client)));
  preData.push(...sequences.ownedBy);
  const views = await captureViews(client);
  preData.push(...views.create);
  preData.push(...functions.late);

  postData.push(...(await captureKeysAndIndexes(client)));
  postData.push(...(await captureTriggersAndRules(client)));
  postData.push(...views.refresh);
  postData.push(...(await captureComments(client)));
  return { preData, postData, sequences: sequences.values };
}

/**
 * Runs statements in order; a failure names the statement.
 *
 * @example await applySchemaSection(session, schema.preData)
 */
export async function applySchemaSection(client: SqlClient, statements: readonly SchemaStatement[]): Promise<void> {
  await client.query(`SET search_path = ''; SET check_function_bodies = off`);
  for (const statement of statements) {
    try {
      await client.query(statement.sql);
    } catch (err) {
      throw new Error(`${statement.kind} ${statement.name}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** `SELECT setval(...)` for every sequence value (identity sequences found through their column). */
export function sequenceValuesSql(values: readonly SequenceValue[]): string {
  return values
    .map((v) => {
      const target = v.identity
        ? `pg_get_serial_sequence(${quoteLiteral(v.identity.table)}, ${quoteLiteral(v.identity.column)})`
        : quoteLiteral(v.sequence!);
      return `SELECT pg_catalog.setval(${target}, ${v.lastValue}, ${v.isCalled})`;
    })
    .join('; ');
}

interface TypeRow {
  oid: number;
  schema: string;
  name: string;
  kind: string;
  labels: string[] | null;
  base: string | null;
  not_null: boolean;
  default_expr: string | null;
  checks: string[] | null;
  attributes: string[] | null;
  range_subtype: string | null;
  depends_on: number[];
}

async function captureTypes(client: SqlClient): Promise<SchemaStatement[]> {
  const { rows } = await client.query<TypeRow>(`
    SELECT t.oid::int, n.nspname AS schema, t.typname AS name, t.typtype::text AS kind,
           CASE WHEN t.typtype = 'e' THEN array(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) END AS labels,
           CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base,
           t.typnotnull AS not_null,
           pg_get_expr(t.typdefaultbin, 0) AS default_expr,
           CASE WHEN t.typtype = 'd' THEN array(SELECT 'CONSTRAINT ' || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid)
                                                 FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname) END AS checks,
           CASE WHEN t.typtype = 'c' THEN array(SELECT quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                                                 FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) END AS attributes,
           (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid) AS range_subtype,
           array(SELECT DISTINCT dt.oid::int FROM pg_depend d JOIN pg_type dt ON dt.oid = d.refobjid
                  WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.refclassid = 'pg_type'::regclass
                 UNION SELECT DISTINCT a.atttypid::int FROM pg_attribute a WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0
                 UNION SELECT t.typbasetype::int WHERE t.typtype = 'd') AS depends_on
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE ${USER_NAMESPACE} AND t.typtype IN ('e', 'd', 'c', 'r')
       AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
       AND ${NOT_EXTENSION('pg_type', 't.oid')}
     ORDER BY n.nspname, t.typname`);
  const statements = new Map<number, SchemaStatement>();
  for (const t of rows) {
    const name = qualify(t.schema, t.name);
    let sql: string;
    switch (t.kind) {
      case 'e':
        sql = `CREATE TYPE ${name} AS ENUM (${t.labels!.map(quoteLiteral).join(', ')})`;
        break;
      case 'r':
        sql = `CREATE TYPE ${name} AS RANGE (SUBTYPE = ${t.range_subtype})`;
        break;
      case 'c':
        sql = `CREATE TYPE ${name} AS (${t.attributes!.join(', ')})`;
        break;
      default:
        sql = [
          `CREATE DOMAIN ${name} AS ${t.base}`,
          ...(t.default_expr ? [`DEFAULT ${t.default_expr}`] : []),
          ...(t.not_null ? ['NOT NULL'] : []),
          ...t.checks!,
        ].join(' ');
    }
    statements.set(t.oid, { kind: 'type', name: `${t.schema}.${t.name}`, sql });
  }
  // Domains and composites may use each other and enums: create dependencies first.
  return topologicalOrder(
    rows.map((t) => t.oid),
    (oid) => rows.find((t) => t.oid === oid)!.depends_on.filter((dep) => dep !== oid && statements.has(dep)),
  ).map((oid) => statements.get(oid)!);
}

async function captureFunctions(client: SqlClient): Promise<{ early: SchemaStatement[]; late: SchemaStatement[] }> {
  const { rows } = await client.query<{ schema: string; name: string; kind: string; definition: string | null; atomic: boolean; aggregate: string | null }>(`
    SELECT n.nspname AS schema, p.proname AS name, p.prokind::text AS kind,
           CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END AS definition,
           (p.prosqlbody IS NOT NULL OR EXISTS (
              SELECT 1 FROM pg_depend d JOIN pg_type rt ON rt.oid = d.refobjid JOIN pg_class rc ON rc.oid = rt.typrelid
               WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.refclassid = 'pg_type'::regclass
                 AND rc.relkind IN ('r', 'p', 'v', 'm'))) AS atomic,
           CASE WHEN p.prokind = 'a' THEN
             'CREATE AGGREGATE ' || quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ') ('
             || 'SFUNC = ' || a.aggtransfn::regproc::text || ', STYPE = ' || format_type(a.aggtranstype, NULL)
             || CASE WHEN a.aggfinalfn <> 0 THEN ', FINALFUNC = ' || a.aggfinalfn::regproc::text ELSE '' END
             || CASE WHEN a.aggcombinefn <> 0 THEN ', COMBINEFUNC = ' || a.aggcombinefn::regproc::text ELSE '' END
             || CASE WHEN a.agginitval IS NOT NULL THEN ', INITCOND = ' || quote_literal(a.agginitval) ELSE '' END
             || CASE WHEN a.aggsortop <> 0 THEN ', SORTOP = OPERATOR(' || a.aggsortop::regoperator::text || ')' ELSE '' END
             || ')'
           END AS aggregate
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace LEFT JOIN pg_aggregate a ON a.aggfnoid = p.oid
     WHERE ${USER_NAMESPACE} AND ${NOT_EXTENSION('pg_proc', 'p.oid')}
     ORDER BY p.prokind = 'a', n.nspname, p.proname, p.oid`);
  const early: SchemaStatement[] = [];
  const late: SchemaStatement[] = [];
  for (const f of rows) {
    const name = `${f.schema}.${f.name}`;
    if (f.kind === 'a') early.push({ kind: 'aggregate', name, sql: f.aggregate! });
    // SQL-standard bodies (BEGIN ATOMIC) are parsed at creation and need their tables, and functions
    // taking or returning a table's or view's row type need that relation: after tables and views.
    else (f.atomic ? late : early).push({ kind: f.kind === 'p' ? 'procedure' : 'function', name, sql: f.definition!.trim() });
  }
  return { early, late };
}

async function captureSequences(client: SqlClient): Promise<{ create: SchemaStatement[]; ownedBy: SchemaStatement[]; values: SequenceValue[] }> {
  const { rows } = await client.query<{
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
    owner_table: string | null;
    owner_column: string | null;
    identity: boolean;
  }>(`
    SELECT c.oid::int, n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type,
           s.seqstart::text AS start, s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max,
           s.seqcache::text AS cache, s.seqcycle AS cycle,
           (SELECT quote_ident(tn.nspname) || '.' || quote_ident(t.relname) FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
              JOIN pg_namespace tn ON tn.oid = t.relnamespace
             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')) AS owner_table,
           (SELECT a.attname FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')) AS owner_column,
           EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i') AS identity
      FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE ${USER_NAMESPACE} AND ${NOT_EXTENSION('pg_class', 'c.oid')}
     ORDER BY n.nspname, c.relname`);
  const create: SchemaStatement[] = [];
  const ownedBy: SchemaStatement[] = [];
  const values: SequenceValue[] = [];
  for (const s of rows) {
    const name = qualify(s.schema, s.name);
    const { rows: state } = await client.query<{ last_value: string; is_called: boolean }>(
      `SELECT last_value::text, is_called FROM ${name}`,
    );
    const value = { lastValue: state[0]!.last_value, isCalled: state[0]!.is_called };
    if (s.identity) {
      values.push({ identity: { table: s.owner_table!, column: s.owner_column! }, ...value });
      continue;
    }
    values.push({ sequence: name, ...value });
    create.push({
      kind: 'sequence',
      name: `${s.schema}.${s.name}`,
      sql:
        `CREATE SEQUENCE ${name} AS ${s.type} INCREMENT BY ${s.increment} MINVALUE ${s.min} MAXVALUE ${s.max} ` +
        `START WITH ${s.start} CACHE ${s.cache}${s.cycle ? ' CYCLE' : ' NO CYCLE'}`,
    });
    if (s.owner_table) {
      ownedBy.push({ kind: 'sequence owner', name: `${s.schema}.${s.name}`, sql: `ALTER SEQUENCE ${name} OWNED BY ${s.owner_table}.${quoteIdent(s.owner_column!)}` });
    }
  }
  return { create, ownedBy, values };
}

interface TableRow {
  oid: number;
  schema: string;
  name: string;
  persistence: string;
  partition_key: string | null;
  bound: string | null;
  parent: string | null;
  depth: number;
  options: string[] | null;
  columns: { name: string; type: string; not_null: boolean; default_expr: string | null; identity: string; generated: string; collation: string | null; local: boolean; seq: string | null }[];
  checks: { name: string; definition: string }[];
}

async function captureTables(client: SqlClient): Promise<SchemaStatement[]> {
  const { rows } = await client.query<TableRow>(`
    SELECT c.oid::int, n.nspname AS schema, c.relname AS name, c.relpersistence::text AS persistence,
           CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
           CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound,
           (SELECT quote_ident(pn.nspname) || '.' || quote_ident(p.relname) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
              JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid AND c.relispartition) AS parent,
           (SELECT count(*) FROM pg_partition_ancestors(c.oid))::int AS depth,
           c.reloptions AS options,
           coalesce((SELECT json_agg(json_build_object(
                      'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'not_null', a.attnotnull,
                      'default_expr', pg_get_expr(d.adbin, d.adrelid), 'identity', a.attidentity, 'generated', a.attgenerated,
                      'collation', CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0
                                        THEN (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname) FROM pg_collation co
                                                JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END,
                      'local', a.attislocal,
                      'seq', (SELECT 'INCREMENT BY ' || s.seqincrement || ' MINVALUE ' || s.seqmin || ' MAXVALUE ' || s.seqmax
                                     || ' START WITH ' || s.seqstart || ' CACHE ' || s.seqcache || CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END
                                FROM pg_depend dd JOIN pg_sequence s ON s.seqrelid = dd.objid
                               WHERE dd.refobjid = c.oid AND dd.refobjsubid = a.attnum AND dd.deptype = 'i' AND dd.classid = 'pg_class'::regclass))
                      ORDER BY a.attnum)
              FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns,
           coalesce((SELECT json_agg(json_build_object('name', con.conname, 'definition', pg_get_constraintdef(con.oid)) ORDER BY con.conname)
              FROM pg_constraint con WHERE con.conrelid = c.oid AND con.contype = 'c' AND con.conislocal), '[]') AS checks
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND ${USER_NAMESPACE} AND ${NOT_EXTENSION('pg_class', 'c.oid')}
     ORDER BY depth, n.nspname, c.relname`);
  const statements: SchemaStatement[] = [];
  for (const t of rows) {
    const name = qualify(t.schema, t.name);
    const unlogged = t.persistence === 'u' ? 'UNLOGGED ' : '';
    const partitionBy = t.partition_key ? ` PARTITION BY ${t.partition_key}` : '';
    const withOptions = t.options && t.options.length > 0 ? ` WITH (${t.options.join(', ')})` : '';
    let sql: string;
    if (t.parent) {
      // A partition takes its columns from the parent; only its bound (and sub-partitioning) are its own.
      sql = `CREATE ${unlogged}TABLE ${name} PARTITION OF ${t.parent} ${t.bound}${partitionBy}${withOptions}`;
    } else {
      const columns = t.columns.map((c) => {
        const parts = [`${quoteIdent(c.name)} ${c.type}`];
        if (c.collation) parts.push(`COLLATE ${c.collation}`);
        if (c.generated === 's' || c.generated === 'v') parts.push(`GENERATED ALWAYS AS (${c.default_expr}) ${c.generated === 's' ? 'STORED' : 'VIRTUAL'}`);
        else if (c.default_expr !== null) parts.push(`DEFAULT ${c.default_expr}`);
        if (c.identity) parts.push(`GENERATED ${c.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY${c.seq ? ` (${c.seq})` : ''}`);
        if (c.not_null) parts.push('NOT NULL');
        return parts.join(' ');
      });
      sql = `CREATE ${unlogged}TABLE ${name} (${columns.join(', ')})${partitionBy}${withOptions}`;
    }
    statements.push({ kind: 'table', name: `${t.schema}.${t.name}`, sql });
    if (t.parent) {
      // Columns a partition declares differently from its parent: defaults and NOT NULL.
      for (const c of t.columns) {
        if (c.default_expr !== null && c.generated === '') {
          statements.push({ kind: 'default', name: `${t.schema}.${t.name}.${c.name}`, sql: `ALTER TABLE ONLY ${name} ALTER COLUMN ${quoteIdent(c.name)} SET DEFAULT ${c.default_expr}` });
        }
      }
    }
    for (const check of t.checks) {
      statements.push({ kind: 'check constraint', name: `${t.schema}.${t.name}.${check.name}`, sql: `ALTER TABLE ${name} ADD CONSTRAINT ${quoteIdent(check.name)} ${check.definition}` });
    }
  }
  return statements;
}

async function captureViews(client: SqlClient): Promise<{ create: SchemaStatement[]; refresh: SchemaStatement[] }> {
  const { rows } = await client.query<{ oid: number; schema: string; name: string; kind: string; definition: string; populated: boolean; options: string[] | null; depends_on: number[] }>(`
    SELECT c.oid::int, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind, pg_get_viewdef(c.oid) AS definition,
           c.relispopulated AS populated, c.reloptions AS options,
           array(SELECT DISTINCT d.refobjid::int FROM pg_rewrite r JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                  WHERE r.ev_class = c.oid AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> c.oid) AS depends_on
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('v', 'm') AND ${USER_NAMESPACE} AND ${NOT_EXTENSION('pg_class', 'c.oid')}
     ORDER BY n.nspname, c.relname`);
  const byOid = new Map(rows.map((v) => [v.oid, v]));
  const create: SchemaStatement[] = [];
  const refresh: SchemaStatement[] = [];
  for (const oid of topologicalOrder(rows.map((v) => v.oid), (oid) => byOid.get(oid)!.depends_on.filter((dep) => byOid.has(dep)))) {
    const v = byOid.get(oid)!;
    const name = qualify(v.schema, v.name);
    const definition = v.definition.trim().replace(/;$/, '');
    const options = v.options && v.options.length > 0 ? ` WITH (${v.options.join(', ')})` : '';
    if (v.kind === 'm') {
      create.push({ kind: 'materialized view', name: `${v.schema}.${v.name}`, sql: `CREATE MATERIALIZED VIEW ${name}${options} AS ${definition} WITH NO DATA` });
      if (v.populated) refresh.push({ kind: 'materialized view data', name: `${v.schema}.${v.name}`, sql: `REFRESH MATERIALIZED VIEW ${name}` });
    } else {
      create.push({ kind: 'view', name: `${v.schema}.${v.name}`, sql: `CREATE VIEW ${name}${options} AS ${definition}` });
    }
  }
  return { create, refresh };
}

async function captureKeysAndIndexes(client: SqlClient): Promise<SchemaStatement[]> {
  // Keys before plain indexes before foreign keys (which need the referenced keys); parents before
  // partitions, so a partition's key or index can be attached to its parent's, as pg_dump does.
  const { rows } = await client.query<{ kind: string; name: string; sql: string; attach: string | null; family: string }>(`
    SELECT CASE con.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique constraint' WHEN 'x' THEN 'exclusion constraint' ELSE 'foreign key' END AS kind,
           n.nspname || '.' || c.relname || '.' || con.conname AS name,
           'ALTER TABLE ' || CASE WHEN c.relkind = 'p' OR c.relispartition THEN 'ONLY ' ELSE '' END
             || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' ADD CONSTRAINT ' || quote_ident(con.conname) || ' ' || pg_get_constraintdef(con.oid) AS sql,
           CASE WHEN con.contype IN ('p', 'u', 'x') AND con.conparentid <> 0 THEN
             (SELECT 'ALTER INDEX ' || quote_ident(pin.nspname) || '.' || quote_ident(pi.relname) || ' ATTACH PARTITION ' || quote_ident(n.nspname) || '.' || quote_ident(ci.relname)
                FROM pg_constraint parent JOIN pg_class pi ON pi.oid = parent.conindid JOIN pg_namespace pin ON pin.oid = pi.relnamespace
                JOIN pg_class ci ON ci.oid = con.conindid WHERE parent.oid = con.conparentid) END AS attach,
           CASE con.contype WHEN 'f' THEN 2 ELSE 0 END AS phase, (SELECT count(*) FROM pg_partition_ancestors(c.oid)) AS depth,
           coalesce(pg_partition_root(c.oid), c.oid)::regclass::text AS family
      FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE con.contype IN ('p', 'u', 'x', 'f') AND ${USER_NAMESPACE} AND ${NOT_EXTENSION('pg_class', 'c.oid')}
       AND (con.contype <> 'f' OR con.conparentid = 0)
    UNION ALL
    SELECT 'index', n.nspname || '.' || i.relname, pg_get_indexdef(i.oid),
           (SELECT 'ALTER INDEX ' || quote_ident(pn.nspname) || '.' || quote_ident(p.relname) || ' ATTACH PARTITION ' || quote_ident(n.nspname) || '.' || quote_ident(i.relname)
              FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE h.inhrelid = i.oid),
           1, (SELECT count(*) FROM pg_partition_ancestors(x.indrelid)), coalesce(pg_partition_root(x.indrelid), x.indrelid)::regclass::text
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
     WHERE ${USER_NAMESPACE} AND ${NOT_EXTENSION('pg_class', 'x.indrelid')}
       AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = x.indexrelid AND con.contype IN ('p', 'u', 'x'))
    ORDER BY phase, depth, name`);
  const statements: SchemaStatement[] = [];
  for (const row of rows) {
    statements.push({ kind: row.kind, name: row.name, sql: row.sql, table: row.family });
    if (row.attach) statements.push({ kind: `${row.kind} attachment`, name: row.name, sql: row.attach, table: row.family });
  }
  return statements;
}

async function captureTriggersAndRules(client: SqlClient): Promise<SchemaStatement[]> {
  const { rows } = await client.query<{ kind: string; name: string; sql: string }>(`
    SELECT 'trigger' AS kind, n.nspname || '.' || c.relname || '.' || t.tgname AS name, pg_get_triggerdef(t.oid) AS sql
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND ${USER_NAMESPACE} AND ${NOT_EXTENSION('pg_class', 'c.oid')}
    UNION ALL
    SELECT 'rule', n.nspname || '.' || c.relname || '.' || r.rulename, pg_get_ruledef(r.oid)
      FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE r.rulename <> '_RETURN' AND ${USER_NAMESPACE}
    ORDER BY kind DESC, name`);
  return rows.map((row) => ({ kind: row.kind, name: row.name, sql: row.sql.trim().replace(/;$/, '') }));
}

async function captureComments(client: SqlClient): Promise<SchemaStatement[]> {
  const { rows } = await client.query<{ name: string; sql: string }>(`
    SELECT n.nspname || '.' || c.relname || coalesce('.' || a.attname, '') AS name,
           'COMMENT ON ' || CASE WHEN d.objsubid <> 0 THEN 'COLUMN ' WHEN c.relkind = 'v' THEN 'VIEW ' WHEN c.relkind = 'm' THEN 'MATERIALIZED VIEW '
                                 WHEN c.relkind = 'S' THEN 'SEQUENCE ' ELSE 'TABLE ' END
             || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || coalesce('.' || quote_ident(a.attname), '') || ' IS ' || quote_literal(d.description) AS sql
      FROM pg_description d JOIN pg_class c ON d.classoid = 'pg_class'::regclass AND c.oid = d.objoid
      JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid AND d.objsubid <> 0
     WHERE ${USER_NAMESPACE} AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
    UNION ALL
    SELECT n.nspname || '.' || p.proname, 'COMMENT ON ' || CASE p.prokind WHEN 'p' THEN 'PROCEDURE ' WHEN 'a' THEN 'AGGREGATE ' ELSE 'FUNCTION ' END
             || quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ') IS ' || quote_literal(d.description)
      FROM pg_description d JOIN pg_proc p ON d.classoid = 'pg_proc'::regclass AND p.oid = d.objoid JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE ${USER_NAMESPACE} AND ${NOT_EXTENSION('pg_proc', 'p.oid')}
    UNION ALL
    SELECT n.nspname || '.' || t.typname, 'COMMENT ON ' || CASE t.typtype WHEN 'd' THEN 'DOMAIN ' ELSE 'TYPE ' END
             || quote_ident(n.nspname) || '.' || quote_ident(t.typname) || ' IS ' || quote_literal(d.description)
      FROM pg_description d JOIN pg_type t ON d.classoid = 'pg_type'::regclass AND t.oid = d.objoid JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE ${USER_NAMESPACE} AND ${NOT_EXTENSION('pg_type', 't.oid')}
    UNION ALL
    SELECT n.nspname, 'COMMENT ON SCHEMA ' || quote_ident(n.nspname) || ' IS ' || quote_literal(d.description)
      FROM pg_description d JOIN pg_namespace n ON d.classoid = 'pg_namespace'::regclass AND n.oid = d.objoid
     WHERE ${USER_NAMESPACE} AND n.nspname <> 'public'
    ORDER BY 1`);
  return rows.map((row) => ({ kind: 'comment', name: row.name, sql: row.sql }));
}

/** Depth-first order in which every item comes after what it depends on (cycles are broken arbitrarily). */
function topologicalOrder<T>(items: readonly T[], dependencies: (item: T) => readonly T[]): T[] {
  const order: T[] = [];
  const state = new Map<T, 'visiting' | 'done'>();
  const visit = (item: T): void => {
    if (state.has(item)) return;
    state.set(item, 'visiting');
    for (const dependency of dependencies(item)) visit(dependency);
    state.set(item, 'done');
    order.push(item);
  };
  for (const item of items) visit(item);
  return order;
}
