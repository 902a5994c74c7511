/**
 * Ownership and privileges, captured only when asked (`--owners`): the roles must exist on the target.
 * For each schema, type, routine, relation and collation: `ALTER ... OWNER TO`, and when its ACL is not
 * the default, the privileges are reset (REVOKE ALL from PUBLIC and the owner) and granted again one
 * grantee at a time. Column privileges and default privileges are not captured.
 */
import type { CaptureContext, SchemaStatement } from './schema-statement.js';
import { notCreatedWithType } from './routine-statements.js';
import { notInExtension, statement, userSchemas } from './sql-text.js';

interface OwnedRow {
  key: string;
  schema: string | null;
  name: string;
  /** ALTER's keyword: SCHEMA, TYPE, DOMAIN, ROUTINE, TABLE, VIEW, ... */
  alter: string;
  /** GRANT's keyword: SCHEMA, TYPE, DOMAIN, ROUTINE, TABLE, SEQUENCE. */
  grant: string;
  object: string;
  owner: string;
  has_acl: boolean;
  /** `grantee privilege grantable` triples, grantee quoted or PUBLIC. */
  grants: string[];
}

const OWNED_SQL = `
WITH obj (key, schema, name, alter_kw, grant_kw, object, owner, acl) AS (
  SELECT 'nsp:' || n.oid, NULL, n.nspname, 'SCHEMA', 'SCHEMA', pg_catalog.quote_ident(n.nspname), n.nspowner, n.nspacl
    FROM pg_catalog.pg_namespace n
   WHERE ${userSchemas('n')} AND ${notInExtension('pg_catalog.pg_namespace', 'n.oid')}
  UNION ALL
  SELECT 'type:' || t.oid, n.nspname, t.typname, CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
         CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, pg_catalog.format_type(t.oid, NULL), t.typowner, t.typacl
    FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
   WHERE t.typtype IN ('e', 'd', 'r', 'c')
     AND (t.typtype <> 'c' OR EXISTS (SELECT 1 FROM pg_catalog.pg_class r WHERE r.oid = t.typrelid AND r.relkind = 'c'))
     AND ${userSchemas('n')} AND ${notInExtension('pg_catalog.pg_type', 't.oid')}
  UNION ALL
  SELECT 'proc:' || p.oid, n.nspname, p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', 'ROUTINE', 'ROUTINE',
         pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
         p.proowner, p.proacl
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
   WHERE ${userSchemas('n')} AND ${notInExtension('pg_catalog.pg_proc', 'p.oid')} AND ${notCreatedWithType('p.oid')}
  UNION ALL
  SELECT 'rel:' || c.oid, n.nspname, c.relname,
         CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
         CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
         pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), c.relowner, c.relacl
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND ${userSchemas('n')} AND ${notInExtension('pg_catalog.pg_class', 'c.oid')}
     -- a sequence linked to a column (serial, identity) follows its table's owner
     AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                                         WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                                           AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')))
  UNION ALL
  SELECT 'coll:' || co.oid, n.nspname, co.collname, 'COLLATION', NULL,
         pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(co.collname), co.collowner, NULL
    FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace n ON n.oid = co.collnamespace
   WHERE ${userSchemas('n')} AND ${notInExtension('pg_catalog.pg_collation', 'co.oid')}
)
SELECT key, schema, name, alter_kw AS alter, grant_kw AS grant, object,
       pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(owner)) AS owner, acl IS NOT NULL AS has_acl,
       array(SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END
                    || ' ' || a.privilege_type || ' ' || a.is_grantable
               FROM pg_catalog.aclexplode(acl) a)::text[] AS grants
  FROM obj`;

/** Ownership and ACL statements by node key, to run right after the node that creates the object. */
export async function readOwnership(ctx: CaptureContext): Promise<Map<string, SchemaStatement[]>> {
  const { rows } = await ctx.client.query<OwnedRow>(OWNED_SQL);
  const byKey = new Map<string, SchemaStatement[]>();
  for (const row of rows) {
    const statements = [statement('OWNER', row.schema, row.name, `ALTER ${row.alter} ${row.object} OWNER TO ${row.owner}`)];
    if (row.has_acl) statements.push(...grantStatements(row));
    byKey.set(row.key, statements);
  }
  return byKey;
}

function grantStatements(row: OwnedRow): SchemaStatement[] {
  const on = `ON ${row.grant} ${row.object}`;
  const sql = [`REVOKE ALL ${on} FROM PUBLIC`, `REVOKE ALL ${on} FROM ${row.owner}`];
  const byGrantee = new Map<string, { plain: string[]; grantable: string[] }>();
  for (const grant of row.grants) {
    const [grantee, privilege, grantable] = splitGrant(grant);
    const entry = byGrantee.get(grantee) ?? { plain: [], grantable: [] };
    (grantable === 'true' ? entry.grantable : entry.plain).push(privilege);
    byGrantee.set(grantee, entry);
  }
  for (const [grantee, { plain, grantable }] of byGrantee) {
    if (plain.length > 0) sql.push(`GRANT ${plain.join(', ')} ${on} TO ${grantee}`);
    if (grantable.length > 0) sql.push(`GRANT ${grantable.join(', ')} ${on} TO ${grantee} WITH GRANT OPTION`);
  }
  return sql.map((text) => statement('ACL', row.schema, row.name, text));
}

/** `"role name" SELECT true` → its three parts; the grantee may hold spaces inside its quotes. */
function splitGrant(grant: string): [string, string, string] {
  const last = grant.lastIndexOf(' ');
  const middle = grant.lastIndexOf(' ', last - 1);
  return [grant.slice(0, middle), grant.slice(middle + 1, last), grant.slice(last + 1)];
}
