/**
 * Functions, procedures and aggregates. Functions and procedures are printed by pg_get_functiondef,
 * bodies untouched and `SET` clauses (proconfig) included; with an empty search_path it qualifies every
 * name it prints. A body written in plpgsql or as a string of SQL keeps its unqualified names: it resolves
 * them through the search_path of whoever calls it, in the restored database as in the original (the
 * restore sets check_function_bodies off so such bodies are not parsed at creation). Aggregates have no
 * printer; CREATE AGGREGATE is built from pg_aggregate. The constructor functions CREATE TYPE makes for a
 * range type are left to it.
 */
import { RANK, type CaptureContext, type SchemaNode } from './schema-statement.js';
import { notInExtension, qualifiedName, quoteLiteral, statement, userSchemas } from './sql-text.js';

interface RoutineRow {
  oid: number;
  schema: string;
  name: string;
  kind: 'f' | 'p' | 'a' | 'w';
  identity_args: string;
  def: string | null;
}

interface AggregateRow {
  oid: number;
  args: string;
  kind: 'n' | 'o' | 'h';
  sfunc: string;
  stype: string;
  sspace: number;
  finalfunc: string | null;
  final_extra: boolean;
  final_modify: string;
  combinefunc: string | null;
  serialfunc: string | null;
  deserialfunc: string | null;
  initcond: string | null;
  msfunc: string | null;
  minvfunc: string | null;
  mstype: string | null;
  msspace: number;
  mfinalfunc: string | null;
  mfinal_extra: boolean;
  mfinal_modify: string;
  minitcond: string | null;
  sortop: string | null;
  parallel: string;
}

/**
 * The predicate "the function is not one of those CREATE TYPE makes": a range type's constructors and its
 * multirange's depend on the type with deptype 'i' and come back with it.
 */
export function notCreatedWithType(oid: string): string {
  return `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend it_dep
                       WHERE it_dep.classid = 'pg_catalog.pg_proc'::regclass AND it_dep.objid = ${oid} AND it_dep.deptype = 'i')`;
}

const MODIFY: Readonly<Record<string, string>> = { r: 'READ_ONLY', s: 'SHAREABLE', w: 'READ_WRITE' };

/** Functions, procedures and aggregates in user schemas, one node each. */
export async function readRoutineNodes(ctx: CaptureContext): Promise<SchemaNode[]> {
  const { rows: routines } = await ctx.client.query<RoutineRow>(`
    SELECT p.oid::int AS oid, n.nspname AS schema, p.proname AS name, p.prokind::text AS kind,
           pg_catalog.pg_get_function_identity_arguments(p.oid) AS identity_args,
           CASE WHEN p.prokind <> 'a' THEN pg_catalog.pg_get_functiondef(p.oid) END AS def
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
     WHERE ${userSchemas('n')} AND ${notInExtension('pg_catalog.pg_proc', 'p.oid')} AND ${notCreatedWithType('p.oid')}
     ORDER BY n.nspname, p.proname, identity_args`);
  const aggregates = await readAggregates(
    ctx,
    routines.filter((r) => r.kind === 'a').map((r) => r.oid),
  );
  return routines.map((routine) => {
    const name = `${routine.name}(${routine.identity_args})`;
    if (routine.kind === 'a') {
      const sql = aggregateSql(qualifiedName(routine.schema, routine.name), aggregates.get(routine.oid)!);
      return { key: `proc:${routine.oid}`, rank: RANK.aggregate, statements: [statement('AGGREGATE', routine.schema, name, sql)] };
    }
    const kind = routine.kind === 'p' ? 'PROCEDURE' : 'FUNCTION';
    return { key: `proc:${routine.oid}`, rank: RANK.function, statements: [statement(kind, routine.schema, name, routine.def!.trim())] };
  });
}

async function readAggregates(ctx: CaptureContext, oids: readonly number[]): Promise<Map<number, AggregateRow>> {
  const fn = (column: string): string => `CASE WHEN a.${column}::oid <> 0 THEN a.${column}::regproc::text END`;
  const { rows } = await ctx.client.query<AggregateRow>(
    `SELECT a.aggfnoid::int AS oid, pg_catalog.pg_get_function_arguments(a.aggfnoid) AS args, a.aggkind::text AS kind,
            a.aggtransfn::regproc::text AS sfunc, pg_catalog.format_type(a.aggtranstype, NULL) AS stype, a.aggtransspace AS sspace,
            ${fn('aggfinalfn')} AS finalfunc, a.aggfinalextra AS final_extra, a.aggfinalmodify::text AS final_modify,
            ${fn('aggcombinefn')} AS combinefunc, ${fn('aggserialfn')} AS serialfunc, ${fn('aggdeserialfn')} AS deserialfunc,
            a.agginitval AS initcond,
            ${fn('aggmtransfn')} AS msfunc, ${fn('aggminvtransfn')} AS minvfunc,
            CASE WHEN a.aggmtranstype <> 0 THEN pg_catalog.format_type(a.aggmtranstype, NULL) END AS mstype,
            a.aggmtransspace AS msspace, ${fn('aggmfinalfn')} AS mfinalfunc, a.aggmfinalextra AS mfinal_extra,
            a.aggmfinalmodify::text AS mfinal_modify, a.aggminitval AS minitcond,
            (SELECT 'OPERATOR(' || pg_catalog.quote_ident(opn.nspname) || '.' || o.oprname || ')'
               FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace opn ON opn.oid = o.oprnamespace
              WHERE o.oid = a.aggsortop) AS sortop,
            p.proparallel::text AS parallel
       FROM pg_catalog.pg_aggregate a JOIN pg_catalog.pg_proc p ON p.oid = a.aggfnoid
      WHERE a.aggfnoid = ANY($1::oid[])`,
    [oids],
  );
  return new Map(rows.map((row) => [row.oid, row]));
}

function aggregateSql(name: string, a: AggregateRow): string {
  const options = [`SFUNC = ${a.sfunc}`, `STYPE = ${a.stype}`];
  if (a.sspace !== 0) options.push(`SSPACE = ${a.sspace}`);
  if (a.finalfunc) {
    options.push(`FINALFUNC = ${a.finalfunc}`);
    if (a.final_extra) options.push('FINALFUNC_EXTRA');
    options.push(`FINALFUNC_MODIFY = ${MODIFY[a.final_modify]}`);
  }
  if (a.combinefunc) options.push(`COMBINEFUNC = ${a.combinefunc}`);
  if (a.serialfunc) options.push(`SERIALFUNC = ${a.serialfunc}`);
  if (a.deserialfunc) options.push(`DESERIALFUNC = ${a.deserialfunc}`);
  if (a.initcond !== null) options.push(`INITCOND = ${quoteLiteral(a.initcond)}`);
  if (a.msfunc) {
    options.push(`MSFUNC = ${a.msfunc}`, `MINVFUNC = ${a.minvfunc}`, `MSTYPE = ${a.mstype}`);
    if (a.msspace !== 0) options.push(`MSSPACE = ${a.msspace}`);
    if (a.mfinalfunc) {
      options.push(`MFINALFUNC = ${a.mfinalfunc}`);
      if (a.mfinal_extra) options.push('MFINALFUNC_EXTRA');
      options.push(`MFINALFUNC_MODIFY = ${MODIFY[a.mfinal_modify]}`);
    }
    if (a.minitcond !== null) options.push(`MINITCOND = ${quoteLiteral(a.minitcond)}`);
  }
  if (a.sortop) options.push(`SORTOP = ${a.sortop}`);
  if (a.parallel === 's') options.push('PARALLEL = SAFE');
  if (a.parallel === 'r') options.push('PARALLEL = RESTRICTED');
  if (a.kind === 'h') options.push('HYPOTHETICAL');
  return `CREATE AGGREGATE ${name}(${a.args === '' ? '*' : a.args}) (\n    ${options.join(',\n    ')}\n)`;
}
