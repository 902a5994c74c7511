/**
 * Schemas and extensions. Extensions are restored by name (`CREATE EXTENSION IF NOT EXISTS`), never
 * object by object: their members are left out of every other reader.
 */
import { RANK, type CaptureContext, type SchemaNode } from './schema-statement.js';
import { notInExtension, quoteIdent, statement, userSchemas } from './sql-text.js';

interface SchemaRow {
  oid: number;
  name: string;
}

interface ExtensionRow {
  oid: number;
  name: string;
  schema: string;
}

/** `CREATE SCHEMA IF NOT EXISTS` for every user schema (`public` already exists in a new database). */
export async function readSchemaNodes(ctx: CaptureContext): Promise<SchemaNode[]> {
  const { rows } = await ctx.client.query<SchemaRow>(`
    SELECT n.oid::int AS oid, n.nspname AS name
      FROM pg_catalog.pg_namespace n
     WHERE ${userSchemas('n')} AND ${notInExtension('pg_catalog.pg_namespace', 'n.oid')}
     ORDER BY n.nspname`);
  return rows.map((row) => ({
    key: `nsp:${row.oid}`,
    rank: RANK.schema,
    statements: [statement('SCHEMA', null, row.name, `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(row.name)}`)],
  }));
}

/**
 * `CREATE EXTENSION IF NOT EXISTS name WITH SCHEMA s` for each extension, plpgsql included (a new database
 * has it, and IF NOT EXISTS makes that harmless). Versions are not pinned: the target's default is used.
 */
export async function readExtensionNodes(ctx: CaptureContext): Promise<SchemaNode[]> {
  const { rows } = await ctx.client.query<ExtensionRow>(`
    SELECT e.oid::int AS oid, e.extname AS name, n.nspname AS schema
      FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     ORDER BY e.extname`);
  return rows.map((row) => ({
    key: `ext:${row.oid}`,
    rank: RANK.extension,
    statements: [
      statement('EXTENSION', null, row.name, `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(row.name)} WITH SCHEMA ${quoteIdent(row.schema)}`),
    ],
  }));
}
