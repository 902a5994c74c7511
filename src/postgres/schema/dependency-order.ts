/**
 * Orders pre-data objects so each is created after what it needs, from pg_depend.
 *
 * pg_depend records dependencies between catalog rows (a view's rewrite rule on a table's column, a
 * function on its argument types, a generated column's default on a function). Each row is resolved to
 * the node that creates it: a rewrite rule to its view, a table's row type to the table, an array type
 * to its element type, a multirange to its range, a domain constraint to its domain, an inline CHECK
 * constraint or generated column to its table. Primary key and unique constraints resolve to `con:<oid>`:
 * they are post-data, and a view that needs one (GROUP BY a primary key) has to wait for post-data too.
 */
import type { SqlClient } from '../connection.js';
import type { SchemaNode } from './schema-statement.js';

/** `from` needs `to` to exist first. */
export interface DependencyEdge {
  readonly from: string;
  readonly to: string;
}

const DEPENDENCIES_SQL = `
WITH type_node AS (
  SELECT t.oid,
         CASE WHEN br.relkind = 'c' THEN 'type:' || b.oid
              WHEN b.typrelid <> 0 THEN 'rel:' || b.typrelid
              WHEN mr.rngtypid IS NOT NULL THEN 'type:' || mr.rngtypid
              ELSE 'type:' || b.oid END AS node
    FROM pg_catalog.pg_type t
    JOIN pg_catalog.pg_type b ON b.oid = CASE
           WHEN t.typelem <> 0 AND EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.oid = t.typelem AND e.typarray = t.oid)
           THEN t.typelem ELSE t.oid END
    LEFT JOIN pg_catalog.pg_class br ON br.oid = b.typrelid
    LEFT JOIN pg_catalog.pg_range mr ON mr.rngmultitypid = b.oid
), node (classid, objid, node) AS (
  SELECT 'pg_catalog.pg_class'::regclass::oid, c.oid, CASE WHEN c.relkind = 'c' THEN 'type:' || c.reltype ELSE 'rel:' || c.oid END
    FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
  UNION ALL
  SELECT 'pg_catalog.pg_type'::regclass::oid, oid, node FROM type_node
  UNION ALL
  SELECT 'pg_catalog.pg_proc'::regclass::oid, oid, 'proc:' || oid FROM pg_catalog.pg_proc
  UNION ALL
  SELECT 'pg_catalog.pg_namespace'::regclass::oid, oid, 'nsp:' || oid FROM pg_catalog.pg_namespace
  UNION ALL
  SELECT 'pg_catalog.pg_extension'::regclass::oid, oid, 'ext:' || oid FROM pg_catalog.pg_extension
  UNION ALL
  SELECT 'pg_catalog.pg_collation'::regclass::oid, oid, 'coll:' || oid FROM pg_catalog.pg_collation
  UNION ALL
  SELECT 'pg_catalog.pg_attrdef'::regclass::oid, ad.oid, 'rel:' || ad.adrelid
    FROM pg_catalog.pg_attrdef ad
    JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
   WHERE a.attgenerated <> ''
  UNION ALL
  SELECT 'pg_catalog.pg_constraint'::regclass::oid, co.oid,
         CASE WHEN co.contypid <> 0 THEN tn.node WHEN co.contype = 'c' THEN 'rel:' || co.conrelid ELSE 'con:' || co.oid END
    FROM pg_catalog.pg_constraint co LEFT JOIN type_node tn ON tn.oid = co.contypid
   WHERE co.contypid <> 0 OR (co.contype = 'c' AND co.convalidated) OR co.contype IN ('p', 'u')
  UNION ALL
  SELECT 'pg_catalog.pg_rewrite'::regclass::oid, r.oid, 'rel:' || r.ev_class
    FROM pg_catalog.pg_rewrite r WHERE r.rulename = '_RETURN'
)
SELECT DISTINCT a.node AS "from", b.node AS "to"
  FROM pg_catalog.pg_depend d
  JOIN node a ON a.classid = d.classid AND a.objid = d.objid
  JOIN node b ON b.classid = d.refclassid AND b.objid = d.refobjid
 WHERE d.deptype IN ('n', 'a', 'i') AND a.node <> b.node`;

/** Every dependency between catalog objects, resolved to node keys (many point at objects we do not create). */
export async function readDependencies(client: SqlClient): Promise<DependencyEdge[]> {
  const { rows } = await client.query<DependencyEdge>(DEPENDENCIES_SQL);
  return rows;
}

/**
 * Nodes in an order where each comes after everything it depends on. Without a dependency between them,
 * nodes keep the order of `rank`, schema and name, so the same database always gives the same script.
 * A cycle (which pg_dump breaks by splitting objects, e.g. a function returning a table whose CHECK calls
 * it) is cut where the walk finds it; the restore will then report the statement that fails.
 *
 * @example
 * const ordered = orderByDependencies(nodes, await readDependencies(client));
 */
export function orderByDependencies(nodes: readonly SchemaNode[], edges: readonly DependencyEdge[]): SchemaNode[] {
  const base = [...nodes].sort(compareNodes);
  const position = new Map(base.map((node, i) => [node.key, i]));
  const needs = new Map<string, string[]>();
  for (const edge of edges) {
    if (!position.has(edge.from) || !position.has(edge.to)) continue;
    const list = needs.get(edge.from) ?? [];
    list.push(edge.to);
    needs.set(edge.from, list);
  }
  for (const list of needs.values()) list.sort((a, b) => position.get(a)! - position.get(b)!);

  const byKey = new Map(base.map((node) => [node.key, node]));
  const state = new Map<string, 'visiting' | 'done'>();
  const ordered: SchemaNode[] = [];
  const visit = (key: string): void => {
    if (state.has(key)) return;
    state.set(key, 'visiting');
    for (const dependency of needs.get(key) ?? []) visit(dependency);
    state.set(key, 'done');
    ordered.push(byKey.get(key)!);
  };
  for (const node of base) visit(node.key);
  return ordered;
}

/** Keys of the nodes that depend, directly or through others, on a key matching `predicate`. */
export function dependentsOf(edges: readonly DependencyEdge[], predicate: (key: string) => boolean): Set<string> {
  const dependents = new Map<string, string[]>();
  for (const edge of edges) {
    const list = dependents.get(edge.to) ?? [];
    list.push(edge.from);
    dependents.set(edge.to, list);
  }
  const found = new Set<string>();
  const pending = [...new Set(edges.map((edge) => edge.to).filter(predicate))];
  for (let key = pending.pop(); key !== undefined; key = pending.pop()) {
    for (const dependent of dependents.get(key) ?? []) {
      if (found.has(dependent)) continue;
      found.add(dependent);
      pending.push(dependent);
    }
  }
  return found;
}

function compareNodes(a: SchemaNode, b: SchemaNode): number {
  if (a.rank !== b.rank) return a.rank - b.rank;
  const left = a.statements[0];
  const right = b.statements[0];
  return compareText(left?.schema ?? '', right?.schema ?? '') || compareText(left?.name ?? '', right?.name ?? '') || compareText(a.key, b.key);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
