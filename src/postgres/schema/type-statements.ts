/**
 * User-defined types and collations: enums, domains (with their constraints), composite types, range types
 * (their multirange comes along), and `CREATE COLLATION`. Base types written in C and range CANONICAL
 * functions are not captured: they need shell types and compiled code, which is an extension's job.
 */
import { RANK, type CaptureContext, type SchemaNode, type SchemaStatement } from './schema-statement.js';
import { collationClause, notInExtension, qualifiedName, quoteIdent, quoteLiteral, statement, userSchemas } from './sql-text.js';

interface TypeRow {
  oid: number;
  schema: string;
  name: string;
  kind: 'e' | 'd' | 'r' | 'c';
  base_type: string | null;
  collation: string | null;
  default_expr: string | null;
  not_null: boolean;
}
interface EnumLabelRow {
  type: number;
  label: string;
}
interface DomainConstraintRow {
  type: number;
  name: string;
  kind: string;
  def: string;
  validated: boolean;
}
interface AttributeRow {
  type: number;
  name: string;
  type_name: string;
  collation: string | null;
}
interface RangeRow {
  type: number;
  subtype: string;
  opclass: string | null;
  collation: string | null;
  subdiff: string | null;
  multirange: string;
}
interface CollationRow {
  oid: number;
  schema: string;
  name: string;
  provider: string;
  deterministic: boolean;
  lc_collate: string | null;
  lc_ctype: string | null;
  locale: string | null;
  rules: string | null;
}

export interface TypeStatements {
  readonly nodes: readonly SchemaNode[];
  /** Domain constraints added NOT VALID: CREATE DOMAIN cannot say so. */
  readonly postData: readonly SchemaStatement[];
}

/** Enums, domains, composite and range types in user schemas, one node each. */
export async function readTypes(ctx: CaptureContext): Promise<TypeStatements> {
  const { rows: types } = await ctx.client.query<TypeRow>(`
    SELECT t.oid::int AS oid, n.nspname AS schema, t.typname AS name, t.typtype::text AS kind,
           CASE WHEN t.typtype = 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) END AS base_type,
           CASE WHEN t.typtype = 'd' THEN ${collationClause('t.typcollation', 'bt.typcollation')} END AS collation,
           CASE WHEN t.typtype = 'd' THEN pg_catalog.pg_get_expr(t.typdefaultbin, 0) END AS default_expr,
           t.typnotnull AS not_null
      FROM pg_catalog.pg_type t
      JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
     WHERE t.typtype IN ('e', 'd', 'r', 'c')
       AND (t.typtype <> 'c' OR EXISTS (SELECT 1 FROM pg_catalog.pg_class r WHERE r.oid = t.typrelid AND r.relkind = 'c'))
       AND ${userSchemas('n')} AND ${notInExtension('pg_catalog.pg_type', 't.oid')}
     ORDER BY n.nspname, t.typname`);
  const oids = types.map((type) => type.oid);
  const { rows: labels } = await ctx.client.query<EnumLabelRow>(
    `SELECT e.enumtypid::int AS type, e.enumlabel AS label FROM pg_catalog.pg_enum e
      WHERE e.enumtypid = ANY($1::oid[]) ORDER BY e.enumtypid, e.enumsortorder`,
    [oids],
  );
  const { rows: constraints } = await ctx.client.query<DomainConstraintRow>(
    `SELECT co.contypid::int AS type, co.conname AS name, co.contype::text AS kind,
            pg_catalog.pg_get_constraintdef(co.oid) AS def, co.convalidated AS validated
       FROM pg_catalog.pg_constraint co WHERE co.contypid = ANY($1::oid[]) ORDER BY co.contypid, co.conname`,
    [oids],
  );
  const { rows: attributes } = await ctx.client.query<AttributeRow>(
    `SELECT t.oid::int AS type, a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type_name,
            ${collationClause('a.attcollation', 'at.typcollation')} AS collation
       FROM pg_catalog.pg_type t
       JOIN pg_catalog.pg_attribute a ON a.attrelid = t.typrelid
       JOIN pg_catalog.pg_type at ON at.oid = a.atttypid
      WHERE t.oid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY t.oid, a.attnum`,
    [oids],
  );
  const { rows: ranges } = await ctx.client.query<RangeRow>(
    `SELECT r.rngtypid::int AS type, pg_catalog.format_type(r.rngsubtype, NULL) AS subtype,
            CASE WHEN NOT opc.opcdefault THEN pg_catalog.quote_ident(opn.nspname) || '.' || pg_catalog.quote_ident(opc.opcname) END AS opclass,
            ${collationClause('r.rngcollation', 'st.typcollation')} AS collation,
            CASE WHEN r.rngsubdiff::oid <> 0 THEN r.rngsubdiff::regproc::text END AS subdiff,
            pg_catalog.quote_ident(mn.nspname) || '.' || pg_catalog.quote_ident(mt.typname) AS multirange
       FROM pg_catalog.pg_range r
       JOIN pg_catalog.pg_type st ON st.oid = r.rngsubtype
       JOIN pg_catalog.pg_opclass opc ON opc.oid = r.rngsubopc
       JOIN pg_catalog.pg_namespace opn ON opn.oid = opc.opcnamespace
       JOIN pg_catalog.pg_type mt ON mt.oid = r.rngmultitypid
       JOIN pg_catalog.pg_namespace mn ON mn.oid = mt.typnamespace
      WHERE r.rngtypid = ANY($1::oid[])`,
    [oids],
  );

  const nodes: SchemaNode[] = [];
  const postData: SchemaStatement[] = [];
  for (const type of types) {
    const name = qualifiedName(type.schema, type.name);
    let sql: string;
    switch (type.kind) {
      case 'e':
        sql = `CREATE TYPE ${name} AS ENUM (${labels.filter((l) => l.type === type.oid).map((l) => quoteLiteral(l.label)).join(', ')})`;
        break;
      case 'c': {
        const fields = attributes
          .filter((a) => a.type === type.oid)
          .map((a) => `${quoteIdent(a.name)} ${a.type_name}${a.collation ? ` COLLATE ${a.collation}` : ''}`);
        sql = `CREATE TYPE ${name} AS (${fields.join(', ')})`;
        break;
      }
      case 'r': {
        const range = ranges.find((r) => r.type === type.oid)!;
        const options = [
          `SUBTYPE = ${range.subtype}`,
          ...(range.opclass ? [`SUBTYPE_OPCLASS = ${range.opclass}`] : []),
          ...(range.collation ? [`COLLATION = ${range.collation}`] : []),
          ...(range.subdiff ? [`SUBTYPE_DIFF = ${range.subdiff}`] : []),
          `MULTIRANGE_TYPE_NAME = ${range.multirange}`,
        ];
        sql = `CREATE TYPE ${name} AS RANGE (${options.join(', ')})`;
        break;
      }
      case 'd': {
        const own = constraints.filter((c) => c.type === type.oid);
        const clauses = [
          ...(type.collation ? [`COLLATE ${type.collation}`] : []),
          ...(type.default_expr !== null ? [`DEFAULT ${type.default_expr}`] : []),
          // Since PostgreSQL 17 a domain's NOT NULL is a named constraint; before, only typnotnull says so.
          ...(type.not_null && !own.some((c) => c.kind === 'n') ? ['NOT NULL'] : []),
          ...own.filter((c) => c.validated).map((c) => `CONSTRAINT ${quoteIdent(c.name)} ${c.kind === 'n' ? 'NOT NULL' : c.def}`),
        ];
        sql = `CREATE DOMAIN ${name} AS ${type.base_type}${clauses.map((clause) => ` ${clause}`).join('')}`;
        for (const invalid of own.filter((c) => !c.validated)) {
          postData.push(
            statement('CHECK CONSTRAINT', type.schema, `${type.name}.${invalid.name}`, `ALTER DOMAIN ${name} ADD CONSTRAINT ${quoteIdent(invalid.name)} ${invalid.def}`),
          );
        }
        break;
      }
    }
    nodes.push({ key: `type:${type.oid}`, rank: RANK.type, statements: [statement(type.kind === 'd' ? 'DOMAIN' : 'TYPE', type.schema, type.name, sql)] });
  }
  return { nodes, postData };
}

/** `CREATE COLLATION` for collations defined in user schemas (libc, ICU and, from 17, builtin providers). */
export async function readCollationNodes(ctx: CaptureContext): Promise<SchemaNode[]> {
  const locale = ctx.version >= 17 ? 'c.colllocale' : 'c.colliculocale';
  const rules = ctx.version >= 16 ? 'c.collicurules' : 'NULL::text';
  const { rows } = await ctx.client.query<CollationRow>(`
    SELECT c.oid::int AS oid, n.nspname AS schema, c.collname AS name, c.collprovider::text AS provider,
           c.collisdeterministic AS deterministic, c.collcollate AS lc_collate, c.collctype AS lc_ctype,
           ${locale} AS locale, ${rules} AS rules
      FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
     WHERE c.collprovider <> 'd' AND ${userSchemas('n')} AND ${notInExtension('pg_catalog.pg_collation', 'c.oid')}
     ORDER BY n.nspname, c.collname`);
  return rows.map((row) => {
    const options =
      row.provider === 'c'
        ? ['provider = libc', `lc_collate = ${quoteLiteral(row.lc_collate ?? '')}`, `lc_ctype = ${quoteLiteral(row.lc_ctype ?? '')}`]
        : [`provider = ${row.provider === 'i' ? 'icu' : 'builtin'}`, `locale = ${quoteLiteral(row.locale ?? '')}`];
    if (row.rules !== null) options.push(`rules = ${quoteLiteral(row.rules)}`);
    if (!row.deterministic) options.push('deterministic = false');
    const sql = `CREATE COLLATION ${qualifiedName(row.schema, row.name)} (${options.join(', ')})`;
    return { key: `coll:${row.oid}`, rank: RANK.collation, statements: [statement('COLLATION', row.schema, row.name, sql)] };
  });
}
