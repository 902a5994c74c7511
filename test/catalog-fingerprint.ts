/**
 * A stable list of every user object's definition in a database, as PostgreSQL prints it, for
 * comparing a restored schema with the original.
 */
import type { SqlClient } from '../src/postgres/connection.js';

const USER = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`;

export async function catalogFingerprint(client: SqlClient): Promise<string[]> {
  await client.query(`SET search_path = ''`);
  const { rows } = await client.query<{ line: string }>(`
    SELECT 'relation ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text || ' ' || c.relpersistence::text
           || coalesce(' partkey ' || pg_get_partkeydef(c.oid), '') || coalesce(' bound ' || pg_get_expr(c.relpartbound, c.oid), '') AS line
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'c', 'i', 'I')
    UNION ALL
    SELECT 'column ' || n.nspname || '.' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
           || ' notnull=' || a.attnotnull || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
           || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') || ' collation=' || a.attcollation
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE ${USER} AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'c')
    UNION ALL
    SELECT 'constraint ' || n.nspname || '.' || coalesce(c.relname, t.typname) || '.' || con.conname || ' ' || con.contype::text || ' ' || pg_get_constraintdef(con.oid)
      FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
      LEFT JOIN pg_class c ON c.oid = con.conrelid LEFT JOIN pg_type t ON t.oid = con.contypid
     -- NOT NULL is compared per column (attnotnull); PostgreSQL 18 also names it, and a partition made
     -- with PARTITION OF takes its parent's names where one attached later keeps its own.
     WHERE ${USER} AND con.contype <> 'n'
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
      JOIN pg_namespace n ON n.oid = i.relnamespace WHERE ${USER}
    UNION ALL
    SELECT 'view ' || n.nspname || '.' || c.relname || ' ' || pg_get_viewdef(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE ${USER} AND c.relkind IN ('v', 'm')
    UNION ALL
    SELECT 'function ' || CASE WHEN p.prokind = 'a' THEN n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
                                ELSE pg_get_functiondef(p.oid) END
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER}
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER} AND NOT t.tgisinternal
    UNION ALL
    SELECT 'type ' || n.nspname || '.' || t.typname || ' ' || t.typtype::text || ' ' || coalesce(format_type(t.typbasetype, t.typtypmod), '')
           || coalesce(' labels ' || (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '')
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE ${USER} AND t.typtype IN ('e', 'd', 'r')
    UNION ALL
    SELECT 'sequence ' || n.nspname || '.' || c.relname || ' ' || format_type(s.seqtypid, NULL) || ' ' || s.seqstart || ' ' || s.seqincrement
           || ' ' || s.seqmin || ' ' || s.seqmax || ' ' || s.seqcache || ' ' || s.seqcycle
      FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER}
    UNION ALL
    SELECT 'inherits ' || c.relname || ' <- ' || p.relname FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid JOIN pg_class p ON p.oid = h.inhparent
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER}
    UNION ALL
    SELECT 'comment ' || d.classoid::regclass::text || ' ' || d.objsubid || ' ' || d.description FROM pg_description d
     WHERE d.objoid >= 16384
    ORDER BY 1`);
  await client.query(`RESET search_path`);
  return rows.map((row) => row.line);
}
