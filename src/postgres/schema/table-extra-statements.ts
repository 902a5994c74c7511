/**
 * What acts on rows once they are in: triggers (pg_get_triggerdef), rules (pg_get_ruledef), row-level
 * security and its policies, and extended statistics (pg_get_statisticsobjdef). All post-data.
 *
 * A trigger declared on a partitioned table is created once on the parent, which clones it onto the
 * partitions; the clones (tgparentid <> 0) are only touched when their enabled state differs.
 */
import type { CaptureContext, SchemaStatement } from './schema-statement.js';
import { notInExtension, qualifiedName, quoteIdent, statement, userSchemas, withoutSemicolon } from './sql-text.js';

interface TriggerRow {
  schema: string;
  table: string;
  name: string;
  def: string;
  enabled: 'O' | 'D' | 'R' | 'A';
  cloned: boolean;
}
interface RuleRow {
  schema: string;
  table: string;
  name: string;
  def: string;
  enabled: 'O' | 'D' | 'R' | 'A';
}
interface PolicyRow {
  schema: string;
  table: string;
  name: string;
  command: 'r' | 'a' | 'w' | 'd' | '*';
  permissive: boolean;
  roles: string[];
  using: string | null;
  with_check: string | null;
}
interface SecurityRow {
  schema: string;
  table: string;
  enabled: boolean;
  forced: boolean;
}
interface StatisticsRow {
  schema: string;
  name: string;
  def: string;
  target: number | null;
}

const ENABLE: Readonly<Record<string, string>> = { D: 'DISABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' };
const COMMAND: Readonly<Record<string, string>> = { r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE', '*': 'ALL' };

/** Triggers, rules, row-level security, policies and statistics objects, in that order. */
export async function readTableExtras(ctx: CaptureContext): Promise<SchemaStatement[]> {
  const onUserTable = `${userSchemas('n')} AND ${notInExtension('pg_catalog.pg_class', 'c.oid')}`;
  const { rows: triggers } = await ctx.client.query<TriggerRow>(`
    SELECT n.nspname AS schema, c.relname AS table, t.tgname AS name, pg_catalog.pg_get_triggerdef(t.oid) AS def,
           t.tgenabled::text AS enabled, t.tgparentid <> 0 AS cloned
      FROM pg_catalog.pg_trigger t
      JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT t.tgisinternal AND ${onUserTable}
     ORDER BY n.nspname, c.relname, t.tgname`);
  const { rows: rules } = await ctx.client.query<RuleRow>(`
    SELECT n.nspname AS schema, c.relname AS table, r.rulename AS name, pg_catalog.pg_get_ruledef(r.oid) AS def, r.ev_enabled::text AS enabled
      FROM pg_catalog.pg_rewrite r
      JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE r.rulename <> '_RETURN' AND ${onUserTable}
     ORDER BY n.nspname, c.relname, r.rulename`);
  const { rows: security } = await ctx.client.query<SecurityRow>(`
    SELECT n.nspname AS schema, c.relname AS table, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND (c.relrowsecurity OR c.relforcerowsecurity) AND ${onUserTable}
     ORDER BY n.nspname, c.relname`);
  const { rows: policies } = await ctx.client.query<PolicyRow>(`
    SELECT n.nspname AS schema, c.relname AS table, p.polname AS name, p.polcmd::text AS command, p.polpermissive AS permissive,
           array(SELECT CASE WHEN r.role = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r.role)) END
                   FROM unnest(p.polroles) WITH ORDINALITY AS r(role, i) ORDER BY r.i)::text[] AS roles,
           pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS using, pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS with_check
      FROM pg_catalog.pg_policy p
      JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE ${onUserTable}
     ORDER BY n.nspname, c.relname, p.polname`);
  const target = ctx.version >= 17 ? 's.stxstattarget::int' : 'NULLIF(s.stxstattarget, -1)::int';
  const { rows: statistics } = await ctx.client.query<StatisticsRow>(`
    SELECT n.nspname AS schema, s.stxname AS name, pg_catalog.pg_get_statisticsobjdef(s.oid) AS def, ${target} AS target
      FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
     WHERE ${userSchemas('n')} AND ${notInExtension('pg_catalog.pg_statistic_ext', 's.oid')}
     ORDER BY n.nspname, s.stxname`);

  const statements: SchemaStatement[] = [];
  for (const row of triggers) {
    const name = `${row.table}.${row.name}`;
    if (!row.cloned) statements.push(statement('TRIGGER', row.schema, name, row.def));
    if (row.enabled !== 'O') {
      const sql = `ALTER TABLE ONLY ${qualifiedName(row.schema, row.table)} ${ENABLE[row.enabled]} TRIGGER ${quoteIdent(row.name)}`;
      statements.push(statement('TRIGGER', row.schema, name, sql));
    }
  }
  for (const row of rules) {
    const name = `${row.table}.${row.name}`;
    statements.push(statement('RULE', row.schema, name, withoutSemicolon(row.def)));
    if (row.enabled !== 'O') {
      statements.push(statement('RULE', row.schema, name, `ALTER TABLE ${qualifiedName(row.schema, row.table)} ${ENABLE[row.enabled]} RULE ${quoteIdent(row.name)}`));
    }
  }
  for (const row of security) {
    const table = qualifiedName(row.schema, row.table);
    if (row.enabled) statements.push(statement('ROW SECURITY', row.schema, row.table, `ALTER TABLE ONLY ${table} ENABLE ROW LEVEL SECURITY`));
    if (row.forced) statements.push(statement('ROW SECURITY', row.schema, row.table, `ALTER TABLE ONLY ${table} FORCE ROW LEVEL SECURITY`));
  }
  for (const row of policies) {
    const sql = [
      `CREATE POLICY ${quoteIdent(row.name)} ON ${qualifiedName(row.schema, row.table)}`,
      ` AS ${row.permissive ? 'PERMISSIVE' : 'RESTRICTIVE'} FOR ${COMMAND[row.command]} TO ${row.roles.join(', ')}`,
      row.using !== null ? ` USING (${row.using})` : '',
      row.with_check !== null ? ` WITH CHECK (${row.with_check})` : '',
    ].join('');
    statements.push(statement('POLICY', row.schema, `${row.table}.${row.name}`, sql));
  }
  for (const row of statistics) {
    statements.push(statement('STATISTICS', row.schema, row.name, row.def));
    if (row.target !== null) {
      statements.push(statement('STATISTICS', row.schema, row.name, `ALTER STATISTICS ${qualifiedName(row.schema, row.name)} SET STATISTICS ${row.target}`));
    }
  }
  return statements;
}
