/**
 * The closure of a tenant subset inside one database snapshot: the rows that included rows reference
 * but that do not reach the tenant's root going down (extra rows), and which of those belong to another
 * tenant (cross-tenant references). Run once per snapshot, before the tables are copied.
 */
import { FailsafeError } from '../../core/errors.js';
import type { SqlClient } from '../../postgres/connection.js';
import type { ForeignKey } from '../../postgres/catalog.js';
import { quoteIdent, quoteLiteral, quoteQualified } from '../../postgres/catalog.js';
import { SubsetSql, identityColumns, type ExtraRows } from './subset-sql.js';
import { describeKey, type PlannedTable, type TenantPlan } from './tenant-plan.js';

export interface CrossTenantRow {
  /** The row that belongs to another tenant. */
  readonly table: string;
  /** Its identity (key columns → values). */
  readonly row: Readonly<Record<string, string>>;
  /** The foreign key through which an included row references it. */
  readonly referencedBy: string;
  /** The tenant ids (root key values) it belongs to. */
  readonly owners: readonly string[];
}

export interface Closure {
  /** Rows pulled into tenant tables beyond the down sets; harmless when they belong to no tenant. */
  readonly extras: ExtraRows;
  /** Up to {@link REPORT_LIMIT} rows of other tenants that the subset references. */
  readonly crossTenant: readonly CrossTenantRow[];
  /** True when there are more cross-tenant rows than {@link REPORT_LIMIT}. */
  readonly truncated: boolean;
}

/** Throws NOT_FOUND when `tenant` has no row in the root table (USAGE when it is not a valid key value). */
export async function assertTenantExists(client: SqlClient, plan: TenantPlan, tenant: string): Promise<void> {
  const root = plan.tables[0]!.table;
  const key = plan.rules.key;
  const keyType = root.columns.find((c) => c.name === key)!.type;
  const found = await client
    .query(`SELECT 1 FROM ${quoteQualified(root.name)} WHERE ${quoteIdent(key)} = ${quoteLiteral(tenant)}::${keyType} LIMIT 1`)
    .catch((err: unknown) => {
      throw new FailsafeError('USAGE', `tenant id "${tenant}" is not a valid ${keyType}: ${(err as Error).message}`);
    });
  if (found.rows.length === 0) throw new FailsafeError('NOT_FOUND', `no tenant ${tenant}: ${root.name} has no row with ${key} = ${tenant}`);
}

/** How many cross-tenant rows a report lists. */
export const REPORT_LIMIT = 20;

/**
 * Computes the closure for `tenant` (a fixpoint: extra rows can pull more extra rows).
 *
 * @example
 * const closure = await closeSubset(session, plan, '42');
 * if (closure.crossTenant.length > 0) throw ...;
 * new SubsetSql(plan, '42', closure.extras).select('public.booking');
 */
export async function closeSubset(client: SqlClient, plan: TenantPlan, tenant: string): Promise<Closure> {
  const extras = new Map<string, Map<string, readonly string[]>>();
  const pulledBy = new Map<string, ForeignKey>();
  // Rows found in the first round are referenced by the tenant's own rows; later rounds find rows that
  // only other extra rows reference. Only the first kind is reported: the rest follow from them.
  const direct = new Set<string>();
  let round = 0;
  const tenantTables = plan.tables.filter((t) => t.role === 'root' || t.role === 'tenant');
  const isTenantTable = (name: string): boolean => tenantTables.some((t) => t.table.name === name);
  // Every key between tenant tables, including the root's own keys into them (store.manager_staff_id).
  const keys = plan.foreignKeys.filter((fk) => isTenantTable(fk.from) && isTenantTable(fk.to));

  for (let changed = true; changed; ) {
    changed = false;
    round++;
    const sql = new SubsetSql(plan, tenant, asExtraRows(extras));
    for (const fk of keys) {
      const child = tenantTables.find((t) => t.table.name === fk.from)!;
      if (cannotPullUp(child, fk, extras)) continue;
      const { rows } = await client.query<Record<string, string>>(sql.pulledUp(fk));
      for (const row of rows) {
        const values = Object.values(row);
        const id = JSON.stringify(values);
        const known = extras.get(fk.to) ?? new Map<string, readonly string[]>();
        if (known.has(id)) continue;
        known.set(id, values);
        extras.set(fk.to, known);
        pulledBy.set(`${fk.to}:${id}`, fk);
        if (round === 1) direct.add(`${fk.to}:${id}`);
        changed = true;
      }
    }
  }

  const crossTenant: CrossTenantRow[] = [];
  let truncated = false;
  for (const [table, rows] of extras) {
    const planned = plan.tables.find((t) => t.table.name === table)!;
    // One set-based walk tells whether the table has any; the per-row walks only name them.
    const owners = await ownersOf(client, plan, planned, [...rows.values()]);
    if (![...owners].some((owner) => owner !== tenant)) continue;
    for (const [id, values] of rows) {
      if (!direct.has(`${table}:${id}`)) continue;
      if (crossTenant.length === REPORT_LIMIT) {
        truncated = true;
        break;
      }
      const rowOwners = [...(await ownersOf(client, plan, planned, [values]))].filter((owner) => owner !== tenant);
      if (rowOwners.length === 0) continue;
      const identity = identityColumns(planned.table);
      crossTenant.push({
        table,
        row: Object.fromEntries(identity.map((c, i) => [c.name, values[i]!])),
        referencedBy: describeKey(pulledBy.get(`${table}:${id}`)!),
        owners: rowOwners.sort(),
      });
    }
  }
  return { extras: asExtraRows(extras), crossTenant, truncated };
}

/**
 * A row pulled in through `fk` is always in the parent's down set when `fk` is the child's only way down
 * and the child has no extra rows: then nothing needs asking.
 */
function cannotPullUp(child: PlannedTable, fk: ForeignKey, extras: ReadonlyMap<string, ReadonlyMap<string, unknown>>): boolean {
  return child.role === 'tenant' && child.edges.length === 1 && fk.to !== child.table.name && (extras.get(child.table.name)?.size ?? 0) === 0;
}

/** The tenant ids that rows of `start` reach by walking their foreign keys up to the root. */
async function ownersOf(client: SqlClient, plan: TenantPlan, start: PlannedTable, rows: readonly (readonly string[])[]): Promise<Set<string>> {
  const owners = new Set<string>();
  const seen = new Map<string, Set<string>>();
  let frontier = new Map<PlannedTable, (readonly string[])[]>([[start, [...rows]]]);
  while (frontier.size > 0) {
    const next = new Map<PlannedTable, (readonly string[])[]>();
    for (const [planned, idents] of frontier) {
      if (idents.length === 0) continue;
      const table = planned.table;
      const identity = identityColumns(table);
      const values = `(VALUES ${idents.map((row) => `(${row.map((v, i) => `${quoteLiteral(v)}::${identity[i]!.type}`).join(', ')})`).join(', ')})`;
      const selected = `(${identity.map((c) => `t.${quoteIdent(c.name)}`).join(', ')}) IN ${values}`;
      if (planned.role === 'root') {
        const key = quoteIdent(plan.rules.key);
        const { rows: keys } = await client.query<{ key: string }>(`SELECT t.${key}::text AS key FROM ${quoteQualified(table.name)} t WHERE ${selected}`);
        for (const row of keys) owners.add(row.key);
        continue;
      }
      for (const fk of planned.edges) {
        const parent = plan.tables.find((t) => t.table.name === fk.to)!;
        const parentIdentity = identityColumns(parent.table);
        const { rows: parents } = await client.query<Record<string, string>>(
          `SELECT ${parentIdentity.map((c) => `p.${quoteIdent(c.name)}::text`).join(', ')} FROM ${quoteQualified(parent.table.name)} p ` +
            `WHERE (${fk.toColumns.map((c) => `p.${quoteIdent(c)}`).join(', ')}) IN ` +
            `(SELECT ${fk.fromColumns.map((c) => `t.${quoteIdent(c)}`).join(', ')} FROM ${quoteQualified(table.name)} t WHERE ${selected})`,
        );
        const visited = seen.get(parent.table.name) ?? new Set<string>();
        seen.set(parent.table.name, visited);
        for (const row of parents) {
          const parentValues = Object.values(row);
          const id = JSON.stringify(parentValues);
          if (visited.has(id)) continue;
          visited.add(id);
          next.set(parent, [...(next.get(parent) ?? []), parentValues]);
        }
      }
    }
    frontier = next;
  }
  return owners;
}

function asExtraRows(extras: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>): ExtraRows {
  return new Map([...extras].map(([table, rows]) => [table, [...rows.values()]]));
}
