/**
 * `failsafe plan`: the tenant plan checked against the data, inside one read-only snapshot, with an
 * optional exact row count per table.
 */
import { readTableGraph } from '../../postgres/catalog.js';
import type { PgSession } from '../../postgres/connection.js';
import { SubsetSql } from './subset-sql.js';
import { assertTenantExists, closeSubset, type CrossTenantRow } from './tenant-closure.js';
import { planTenancy, type Ownership, type TableRole, type TenancyRules } from './tenant-plan.js';

export interface PlannedTableReport {
  readonly table: string;
  readonly role: TableRole;
  readonly reason: string;
  /** Short human predicate, e.g. `store_id IN public.store`. */
  readonly predicate: string;
  /** The whole table's row estimate from the statistics; -1 when never analysed. */
  readonly tableRows: number;
  /** Exact rows in the subset (only with `count`). */
  readonly rows: number | undefined;
  /** The query that selects the rows, or undefined for tables that are not copied. */
  readonly sql: string | undefined;
}

export interface PlanReport {
  readonly root: string;
  readonly key: string;
  readonly ownership: Ownership;
  readonly tenant: string;
  readonly tables: readonly PlannedTableReport[];
  readonly crossTenant: readonly CrossTenantRow[];
  readonly crossTenantTruncated: boolean;
}

/**
 * Plans `tenant`'s subset on a live database. Fails with NOT_FOUND when the tenant has no root row.
 *
 * @example
 * const report = await planReport(session, { root: 'public.store', key: 'store_id' }, '1', { count: true });
 */
export async function planReport(session: PgSession, rules: TenancyRules, tenant: string, options: { count?: boolean } = {}): Promise<PlanReport> {
  await session.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const plan = planTenancy(await readTableGraph(session), rules);
    await assertTenantExists(session, plan, tenant);
    const closure = await closeSubset(session, plan, tenant);
    // People read the chain of semi-joins; the counts run on the down sets the closure read.
    const shown = new SubsetSql(plan, tenant, { down: closure.down, extras: closure.extras });
    const counted = new SubsetSql(plan, tenant, closure);
    const tables: PlannedTableReport[] = [];
    for (const planned of plan.tables) {
      const select = shown.select(planned.table.name);
      let rows: number | undefined;
      if (options.count) {
        const query = counted.select(planned.table.name);
        rows = query ? Number((await session.query<{ n: string }>(`SELECT count(*) AS n FROM (${query}) s`)).rows[0]!.n) : 0;
      }
      tables.push({
        table: planned.table.name,
        role: planned.role,
        reason: planned.reason,
        predicate: shown.describe(planned.table.name),
        tableRows: planned.table.estimatedRows,
        rows,
        sql: select,
      });
    }
    return { root: plan.rules.root, key: plan.rules.key, ownership: plan.rules.ownership ?? 'reach', tenant, tables, crossTenant: closure.crossTenant, crossTenantTruncated: closure.truncated };
  } finally {
    await session.query('ROLLBACK');
  }
}
