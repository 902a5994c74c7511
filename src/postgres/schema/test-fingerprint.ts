/**
 * Test support: a "catalog fingerprint" of a database, one line per user object definition, sorted, so
 * two databases can be compared with a plain diff. It reads the catalogs with its own queries (not the
 * capture's), through PostgreSQL's printers with an empty search_path, and names objects by name, never
 * by oid.
 *
 * Left out on purpose, as they record how an object was made rather than what it is: attislocal and
 * conislocal (a partition attached after creation and one created with PARTITION OF differ only there),
 * and connoinherit of keys (pg_dump's way of restoring a partition's primary key, ALTER TABLE ONLY and then
 * ATTACH, sets it; it means nothing on a key). Unless `owners` is set, owners and privileges are left out too.
 */
import type { SqlClient } from '../connection.js';
import { withSessionSettings } from './session-settings.js';

const USER = (n: string): string =>
  `${n}.nspname NOT IN ('pg_catalog', 'information_schema') AND ${n}.nspname NOT LIKE 'pg\\_toast%' AND ${n}.nspname NOT LIKE 'pg\\_temp%'`;
const OURS = (catalog: string, oid: string): string =>
  `NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '${catalog}'::regclass AND e.objid = ${oid} AND e.deptype = 'e')`;

const QUERIES: readonly string[] = [
  `SELECT 'schema ' || quote_ident(n.nspname) FROM pg_namespace n WHERE ${USER('n')} AND ${OURS('pg_namespace', 'n.oid')}`,
  `SELECT 'extension ' || e.extname || ' schema=' || n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace`,
  `SELECT 'collation ' || c.oid::regcollation::text || ' ' || (to_jsonb(c) - 'oid' - 'collnamespace' - 'collowner' - 'collversion')::text
     FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace WHERE ${USER('n')} AND ${OURS('pg_collation', 'c.oid')}`,
  `SELECT 'type ' || format_type(t.oid, NULL) || ' ' || jsonb_build_object(
            'kind', t.typtype, 'base', format_type(t.typbasetype, t.typtypmod), 'notnull', t.typnotnull,
            'default', pg_get_expr(t.typdefaultbin, 0), 'collation', t.typcollation::regcollation::text, 'array', t.typarray::regtype::text,
            'labels', (SELECT string_agg(l.enumlabel, ',' ORDER BY l.enumsortorder) FROM pg_enum l WHERE l.enumtypid = t.oid),
            'attributes', (SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attcollation::regcollation::text, ', ' ORDER BY a.attnum)
                             FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped AND t.typtype = 'c'),
            'range', (SELECT jsonb_build_object('subtype', format_type(r.rngsubtype, NULL), 'opclass', (SELECT opcname FROM pg_opclass WHERE oid = r.rngsubopc),
                              'collation', r.rngcollation::regcollation::text, 'diff', r.rngsubdiff::regproc::text, 'canonical', r.rngcanonical::regproc::text,
                              'multirange', r.rngmultitypid::regtype::text)
                        FROM pg_range r WHERE r.rngtypid = t.oid))::text
     FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.typtype IN ('e', 'd', 'r', 'm', 'c', 'b') AND t.typelem = 0 AND ${USER('n')} AND ${OURS('pg_type', 't.oid')}
      AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')`,
  `SELECT 'relation ' || c.oid::regclass::text || ' ' || jsonb_build_object(
            'kind', c.relkind, 'persistence', c.relpersistence, 'partkey', pg_get_partkeydef(c.oid),
            'bound', pg_get_expr(c.relpartbound, c.oid), 'ispartition', c.relispartition,
            'parents', (SELECT string_agg(i.inhparent::regclass::text, ',' ORDER BY i.inhseqno) FROM pg_inherits i WHERE i.inhrelid = c.oid),
            'options', c.reloptions, 'toast', (SELECT tc.reloptions FROM pg_class tc WHERE tc.oid = c.reltoastrelid),
            'am', (SELECT amname FROM pg_am WHERE oid = c.relam), 'rls', c.relrowsecurity, 'forcerls', c.relforcerowsecurity,
            'replident', c.relreplident, 'populated', c.relispopulated, 'rowtype', c.reltype::regtype::text,
            'view', CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END)::text
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${USER('n')} AND ${OURS('pg_class', 'c.oid')}`,
  `SELECT 'column ' || c.oid::regclass::text || '.' || quote_ident(a.attname) || ' ' || jsonb_build_object(
            'position', row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum), 'type', format_type(a.atttypid, a.atttypmod),
            'collation', a.attcollation::regcollation::text, 'notnull', a.attnotnull, 'identity', a.attidentity,
            'generated', a.attgenerated, 'default', pg_get_expr(d.adbin, d.adrelid), 'inherited', a.attinhcount > 0,
            'identity_sequence', (SELECT s.objid::regclass::text FROM pg_depend s WHERE s.classid = 'pg_class'::regclass
                                    AND s.refobjid = a.attrelid AND s.refobjsubid = a.attnum AND s.deptype = 'i'))::text
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped AND ${USER('n')} AND ${OURS('pg_class', 'c.oid')}`,
  `SELECT 'constraint ' || coalesce(nullif(co.conrelid, 0)::regclass::text, format_type(co.contypid, NULL)) || ' ' || quote_ident(co.conname)
          || ' ' || jsonb_build_object('type', co.contype, 'def', pg_get_constraintdef(co.oid), 'inherited', co.coninhcount > 0,
            'noinherit', co.connoinherit AND co.contype IN ('c', 'n'), 'index', nullif(co.conindid, 0)::regclass::text,
            'parent', (SELECT p.conrelid::regclass::text || ' ' || p.conname FROM pg_constraint p WHERE p.oid = co.conparentid))::text
     FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace
    WHERE ${USER('n')} AND (co.conrelid = 0 OR ${OURS('pg_class', 'co.conrelid')}) AND (co.contypid = 0 OR ${OURS('pg_type', 'co.contypid')})`,
  `SELECT 'index ' || i.indexrelid::regclass::text || ' ' || jsonb_build_object(
            'def', pg_get_indexdef(i.indexrelid), 'valid', i.indisvalid, 'clustered', i.indisclustered, 'replident', i.indisreplident,
            'parent', (SELECT h.inhparent::regclass::text FROM pg_inherits h WHERE h.inhrelid = i.indexrelid))::text
     FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${USER('n')} AND ${OURS('pg_class', 'c.oid')}`,
  `SELECT 'function ' || p.oid::regprocedure::text || ' ' || pg_get_functiondef(p.oid)
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE p.prokind <> 'a' AND ${USER('n')} AND ${OURS('pg_proc', 'p.oid')}`,
  `SELECT 'aggregate ' || a.aggfnoid::regprocedure::text || ' ' || jsonb_build_object(
            'args', pg_get_function_arguments(a.aggfnoid), 'kind', a.aggkind, 'direct', a.aggnumdirectargs,
            'sfunc', a.aggtransfn::regproc::text, 'stype', format_type(a.aggtranstype, NULL), 'sspace', a.aggtransspace,
            'final', a.aggfinalfn::regproc::text, 'finalextra', a.aggfinalextra, 'finalmodify', a.aggfinalmodify,
            'combine', a.aggcombinefn::regproc::text, 'serial', a.aggserialfn::regproc::text, 'deserial', a.aggdeserialfn::regproc::text,
            'init', a.agginitval, 'msfunc', a.aggmtransfn::regproc::text, 'minv', a.aggminvtransfn::regproc::text,
            'mstype', format_type(nullif(a.aggmtranstype, 0), NULL), 'msspace', a.aggmtransspace, 'mfinal', a.aggmfinalfn::regproc::text,
            'mfinalextra', a.aggmfinalextra, 'mfinalmodify', a.aggmfinalmodify, 'minit', a.aggminitval,
            'sortop', a.aggsortop::regoperator::text, 'parallel', p.proparallel)::text
     FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE ${USER('n')} AND ${OURS('pg_proc', 'p.oid')}`,
  `SELECT 'trigger ' || t.tgrelid::regclass::text || ' ' || quote_ident(t.tgname) || ' ' || pg_get_triggerdef(t.oid)
          || ' enabled=' || t.tgenabled::text || ' cloned=' || (t.tgparentid <> 0)
     FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT t.tgisinternal AND ${USER('n')} AND ${OURS('pg_class', 'c.oid')}`,
  `SELECT 'rule ' || r.ev_class::regclass::text || ' ' || quote_ident(r.rulename) || ' ' || pg_get_ruledef(r.oid) || ' enabled=' || r.ev_enabled::text
     FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE r.rulename <> '_RETURN' AND ${USER('n')} AND ${OURS('pg_class', 'c.oid')}`,
  `SELECT 'policy ' || p.polrelid::regclass::text || ' ' || quote_ident(p.polname) || ' ' || jsonb_build_object(
            'cmd', p.polcmd, 'permissive', p.polpermissive,
            'roles', (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r) END, ',' ORDER BY 1) FROM unnest(p.polroles) r),
            'using', pg_get_expr(p.polqual, p.polrelid), 'check', pg_get_expr(p.polwithcheck, p.polrelid))::text
     FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${USER('n')} AND ${OURS('pg_class', 'c.oid')}`,
  `SELECT 'sequence ' || s.seqrelid::regclass::text || ' ' || jsonb_build_object(
            'type', format_type(s.seqtypid, NULL), 'start', s.seqstart, 'increment', s.seqincrement, 'min', s.seqmin, 'max', s.seqmax,
            'cache', s.seqcache, 'cycle', s.seqcycle, 'persistence', c.relpersistence,
            'owned', (SELECT d.deptype::text || ' ' || d.refobjid::regclass::text || '.' || a.attname FROM pg_depend d
                        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                       WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')))::text
     FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${USER('n')} AND ${OURS('pg_class', 'c.oid')}`,
  `SELECT 'statistics ' || pg_get_statisticsobjdef(s.oid) || ' target=' || coalesce(s.stxstattarget::text, '')
     FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE ${USER('n')} AND ${OURS('pg_statistic_ext', 's.oid')}`,
  `SELECT 'comment ' || pg_describe_object(d.classoid, d.objoid, d.objsubid) || ' = ' || d.description
     FROM pg_description d CROSS JOIN LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) o
    WHERE coalesce(o.schema, o.identity) NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      AND o.type NOT IN ('extension', 'language', 'access method')
      AND ${OURS('pg_proc', 'd.objoid')} AND ${OURS('pg_type', 'd.objoid')}`,
];

const OWNER_QUERIES: readonly string[] = [
  `SELECT 'owner schema ' || quote_ident(n.nspname) || ' ' || pg_get_userbyid(n.nspowner) || ' ' || coalesce(n.nspacl::text, '')
     FROM pg_namespace n WHERE ${USER('n')}`,
  `SELECT 'owner relation ' || c.oid::regclass::text || ' ' || pg_get_userbyid(c.relowner) || ' ' || coalesce(c.relacl::text, '')
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND ${USER('n')}`,
  `SELECT 'owner routine ' || p.oid::regprocedure::text || ' ' || pg_get_userbyid(p.proowner) || ' ' || coalesce(p.proacl::text, '')
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER('n')} AND ${OURS('pg_proc', 'p.oid')}`,
  `SELECT 'owner type ' || format_type(t.oid, NULL) || ' ' || pg_get_userbyid(t.typowner) || ' ' || coalesce(t.typacl::text, '')
     FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype IN ('e', 'd', 'r', 'c') AND t.typelem = 0 AND ${USER('n')}`,
];

/**
 * Every user object's definition, one line each, sorted.
 *
 * @example
 * expect(await catalogFingerprint(restored)).toEqual(await catalogFingerprint(original));
 */
export async function catalogFingerprint(client: SqlClient, options: { readonly owners?: boolean } = {}): Promise<string[]> {
  return withSessionSettings(client, { search_path: '', DateStyle: 'ISO', IntervalStyle: 'postgres', extra_float_digits: '3' }, async () => {
    const lines: string[] = [];
    for (const sql of [...QUERIES, ...(options.owners ? OWNER_QUERIES : [])]) {
      const { rows } = await client.query<{ line: string }>(`SELECT line FROM (${sql}) AS q(line)`);
      lines.push(...rows.map((row) => row.line));
    }
    return lines.sort();
  });
}
