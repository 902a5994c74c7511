/**
 * Small helpers for the SQL text schema capture writes: quoted names, catalog filters shared by every
 * reader, and the tidying of what PostgreSQL's printers return.
 */
import { quoteIdent, quoteLiteral } from '../catalog.js';
import type { SchemaStatement } from './schema-statement.js';

export { quoteIdent, quoteLiteral };

/** `"schema"."name"`, always quoted, so mixed case, spaces and keywords survive. */
export function qualifiedName(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** `"Sales Data"` → `Sales Data`; a name that needed no quotes comes back as it is. */
export function unquoteIdent(identifier: string): string {
  return /^".*"$/s.test(identifier) ? identifier.slice(1, -1).replaceAll('""', '"') : identifier;
}

/** The predicate "namespace alias `n` holds user objects": not pg_catalog, information_schema, toast or temp. */
export function userSchemas(alias = 'n'): string {
  return `${alias}.nspname NOT IN ('pg_catalog', 'information_schema') AND ${alias}.nspname NOT LIKE 'pg\\_toast%' AND ${alias}.nspname NOT LIKE 'pg\\_temp\\_%'`;
}

/** The predicate "the object is not a member of an extension" (pg_depend deptype 'e'). */
export function notInExtension(catalog: string, oid: string): string {
  return `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend ext_dep WHERE ext_dep.classid = '${catalog}'::regclass AND ext_dep.objid = ${oid} AND ext_dep.deptype = 'e')`;
}

/** A collation's qualified name as SQL text, or NULL when `collation` is the type's default. */
export function collationClause(collation: string, typeCollation: string): string {
  return `(SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
             FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
            WHERE co.oid = ${collation} AND ${collation} <> 0 AND ${collation} <> ${typeCollation})`;
}

/** Printers such as pg_get_viewdef and pg_get_ruledef end with `;`; statements carry none. */
export function withoutSemicolon(sql: string): string {
  return sql.trim().replace(/;\s*$/, '').trimEnd();
}

/** `WITH (a='1', b='x')` from a reloptions array, or '' when there is none. */
export function withOptions(options: readonly string[] | null, prefix = ''): string {
  const list = reloptionList(options, prefix);
  return list.length > 0 ? ` WITH (${list.join(', ')})` : '';
}

/** `key='value'` items of a reloptions array; values are always string literals, which every option accepts. */
export function reloptionList(options: readonly string[] | null, prefix = ''): string[] {
  return (options ?? []).map((option) => {
    const eq = option.indexOf('=');
    return `${prefix}${option.slice(0, eq)}=${quoteLiteral(option.slice(eq + 1))}`;
  });
}

/** One statement; the constructor keeps call sites to a line. */
export function statement(kind: string, schema: string | null, name: string, sql: string): SchemaStatement {
  return { kind, schema, name, sql };
}
