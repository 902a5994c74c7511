/**
 * Views and materialized views, printed by pg_get_viewdef. Materialized views are created WITH NO DATA in
 * pre-data; those that held rows are refreshed at the very end of post-data, after their indexes.
 * Options such as security_barrier, security_invoker and check_option are reloptions and come back as such.
 */
import { RANK, type CaptureContext, type SchemaNode, type SchemaStatement } from './schema-statement.js';
import { notInExtension, qualifiedName, quoteIdent, statement, userSchemas, withOptions, withoutSemicolon } from './sql-text.js';
import { defaultStatements, readColumns } from './table-statements.js';

interface ViewRow {
  oid: number;
  schema: string;
  name: string;
  relkind: 'v' | 'm';
  def: string;
  options: string[] | null;
  populated: boolean;
  access_method: string | null;
}

export interface ViewStatements {
  /** A view's node also sets the defaults of its columns (`ALTER VIEW ... SET DEFAULT`, used by INSERT). */
  readonly nodes: readonly SchemaNode[];
  /** REFRESH MATERIALIZED VIEW by node key, for the materialized views that were populated. */
  readonly refreshes: ReadonlyMap<string, SchemaStatement>;
}

/** Views and materialized views in user schemas, their column defaults and refreshes. */
export async function readViews(ctx: CaptureContext): Promise<ViewStatements> {
  const { rows } = await ctx.client.query<ViewRow>(`
    SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind,
           pg_catalog.pg_get_viewdef(c.oid) AS def, c.reloptions::text[] AS options, c.relispopulated AS populated,
           CASE WHEN am.amname <> 'heap' THEN am.amname END AS access_method
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
     WHERE c.relkind IN ('v', 'm') AND ${userSchemas('n')} AND ${notInExtension('pg_catalog.pg_class', 'c.oid')}
     ORDER BY n.nspname, c.relname`);
  const viewColumns = await readColumns(
    ctx,
    rows.filter((row) => row.relkind === 'v').map((row) => row.oid),
  );
  const nodes: SchemaNode[] = [];
  const refreshes = new Map<string, SchemaStatement>();
  for (const row of rows) {
    const name = qualifiedName(row.schema, row.name);
    const key = `rel:${row.oid}`;
    const body = withoutSemicolon(row.def);
    if (row.relkind === 'v') {
      const sql = `CREATE VIEW ${name}${withOptions(row.options)} AS\n${body}`;
      const defaults = defaultStatements(row.schema, row.name, viewColumns.filter((column) => column.rel === row.oid), 'VIEW');
      nodes.push({ key, rank: RANK.view, statements: [statement('VIEW', row.schema, row.name, sql), ...defaults] });
    } else {
      const using = row.access_method ? ` USING ${quoteIdent(row.access_method)}` : '';
      const sql = `CREATE MATERIALIZED VIEW ${name}${using}${withOptions(row.options)} AS\n${body}\nWITH NO DATA`;
      nodes.push({ key, rank: RANK.materializedView, statements: [statement('MATERIALIZED VIEW', row.schema, row.name, sql)] });
      if (row.populated) refreshes.set(key, statement('MATERIALIZED VIEW DATA', row.schema, row.name, `REFRESH MATERIALIZED VIEW ${name}`));
    }
  }
  return { nodes, refreshes };
}
