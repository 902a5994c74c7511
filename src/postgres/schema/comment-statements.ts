/**
 * COMMENT ON for every commented object we capture. pg_identify_object names the object the way COMMENT
 * expects it (qualified, quoted, functions with their argument types, `name on table` for constraints,
 * triggers, rules and policies), so only the object type has to be mapped to COMMENT's keyword.
 */
import type { CaptureContext, SchemaStatement } from './schema-statement.js';
import { quoteLiteral, statement, unquoteIdent } from './sql-text.js';

/** pg_identify_object's type → COMMENT ON's keyword; other types (roles, extensions...) are not ours. */
const KEYWORD: Readonly<Record<string, string>> = {
  schema: 'SCHEMA',
  table: 'TABLE',
  view: 'VIEW',
  'materialized view': 'MATERIALIZED VIEW',
  sequence: 'SEQUENCE',
  index: 'INDEX',
  'table column': 'COLUMN',
  'view column': 'COLUMN',
  'materialized view column': 'COLUMN',
  'composite type column': 'COLUMN',
  'table constraint': 'CONSTRAINT',
  'domain constraint': 'CONSTRAINT',
  trigger: 'TRIGGER',
  rule: 'RULE',
  policy: 'POLICY',
  function: 'FUNCTION',
  procedure: 'PROCEDURE',
  aggregate: 'AGGREGATE',
  type: 'TYPE',
  'composite type': 'TYPE',
  domain: 'DOMAIN',
  collation: 'COLLATION',
  'statistics object': 'STATISTICS',
};

interface CommentRow {
  type: string;
  /** Quoted when it needs quotes, as pg_identify_object prints it. */
  schema: string | null;
  identity: string;
  description: string;
}

/** COMMENT ON statements for the comments on captured objects. */
export async function readComments(ctx: CaptureContext): Promise<SchemaStatement[]> {
  // The owning relation decides for columns, constraints, triggers, rules, policies and indexes: a comment
  // on an extension's table or on a system object is not ours. Base types (typtype 'b') are not captured.
  const { rows } = await ctx.client.query<CommentRow>(
    `SELECT o.type, o.schema,
            CASE WHEN o.type = 'domain constraint'
                 THEN (SELECT pg_catalog.quote_ident(co.conname) || ' ON DOMAIN ' || pg_catalog.format_type(co.contypid, NULL)
                         FROM pg_catalog.pg_constraint co WHERE co.oid = d.objoid)
                 ELSE o.identity END AS identity,
            d.description
       FROM pg_catalog.pg_description d
      CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.classoid, d.objoid, d.objsubid) o
       LEFT JOIN LATERAL (
            SELECT CASE d.classoid
                     WHEN 'pg_catalog.pg_class'::regclass
                       THEN coalesce((SELECT i.indrelid FROM pg_catalog.pg_index i WHERE i.indexrelid = d.objoid), d.objoid)
                     WHEN 'pg_catalog.pg_constraint'::regclass THEN (SELECT nullif(co.conrelid, 0) FROM pg_catalog.pg_constraint co WHERE co.oid = d.objoid)
                     WHEN 'pg_catalog.pg_trigger'::regclass THEN (SELECT t.tgrelid FROM pg_catalog.pg_trigger t WHERE t.oid = d.objoid)
                     WHEN 'pg_catalog.pg_rewrite'::regclass THEN (SELECT r.ev_class FROM pg_catalog.pg_rewrite r WHERE r.oid = d.objoid)
                     WHEN 'pg_catalog.pg_policy'::regclass THEN (SELECT p.polrelid FROM pg_catalog.pg_policy p WHERE p.oid = d.objoid)
                   END AS relation) owner ON true
      WHERE o.type = ANY($1::text[])
        AND coalesce(o.schema, o.identity) NOT IN ('pg_catalog', 'information_schema')
        AND coalesce(o.schema, o.identity) NOT LIKE 'pg\\_toast%' AND coalesce(o.schema, o.identity) NOT LIKE 'pg\\_temp\\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                         WHERE e.deptype = 'e' AND ((e.classid = d.classoid AND e.objid = d.objoid)
                            OR (e.classid = 'pg_catalog.pg_class'::regclass AND e.objid = owner.relation)))
        AND (d.classoid <> 'pg_catalog.pg_type'::regclass
             OR (SELECT t.typtype FROM pg_catalog.pg_type t WHERE t.oid = d.objoid) IN ('e', 'd', 'r', 'm', 'c'))
      ORDER BY o.type, o.identity`,
    [Object.keys(KEYWORD)],
  );
  return rows.map((row) =>
    statement(
      'COMMENT',
      row.schema === null ? null : unquoteIdent(row.schema),
      `${row.type} ${row.identity}`,
      `COMMENT ON ${KEYWORD[row.type]} ${row.identity} IS ${quoteLiteral(row.description)}`,
    ),
  );
}
