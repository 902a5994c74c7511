/**
 * Reading a tenant's down sets with queries, table by table from the root down, where no table's
 * backup COPY has produced them (`failsafe plan`, the closure after it found rows through cycles).
 * One COPY per tenant table, each a single level of semi-joins on its parents' literal sets: the work
 * follows the tenant's size. Also the in-memory check the closure makes on two sets.
 */
import type { ForeignKey } from '../../postgres/catalog.js';
import type { PgSession } from '../../postgres/connection.js';
import { DownSetCollector, type ValueBudget } from './down-set-collector.js';
import { setKeys } from './down-set-keys.js';
import type { DownSet, DownSets } from './down-set.js';
import { downSetColumns } from './subset-columns.js';
import { SubsetSql, type Exclusions, type ExtraRows } from './subset-sql.js';
import { downEdges, type PlannedTable, type TenantPlan } from './tenant-plan.js';

/**
 * Rows per table above which a down set stays a query: its literal (a few MB of SQL at this size)
 * would cost more to send and parse than its estimate saves.
 */
export const DOWN_SET_LIMIT = 1_000_000;

/**
 * Values (rows × columns) the down sets taken from one backup's COPY rows may hold together: 8 bytes
 * for an integer, some 40 for a text value (`SetValue` in down-set.ts), so at most about 350 MB. A set
 * that would go over stays a query. Within it, a 1% tenant of a 24 GB database (1.8 M rows, ~6 M
 * values) is settled in memory and by literal sets; with 100,000 rows per table as the only limit,
 * its backup fell back to semi-join chains for the larger tables and took 9.4 s instead of 3.5 s
 * (root-key ownership), 27 s instead of 6.4 s (reach).
 */
export const DOWN_SET_VALUE_BUDGET = 8_000_000;

export interface DownSetOptions {
  /** Rows reached through cycles, as the closure found them. */
  readonly down?: ExtraRows;
  readonly exclusions?: Exclusions;
  /** Default {@link DOWN_SET_LIMIT}. */
  readonly limit?: number;
}

/**
 * The down sets of the root and every tenant table, except those larger than the limit and the tables
 * below them.
 *
 * @example
 * const downSets = await fetchDownSets(session, plan, '42');
 * new SubsetSql(plan, '42', { down: new Map(), extras: new Map(), downSets }).select('public.booking');
 */
export async function fetchDownSets(session: PgSession, plan: TenantPlan, tenant: string, options: DownSetOptions = {}): Promise<DownSets> {
  const limit = options.limit ?? DOWN_SET_LIMIT;
  const budget: ValueBudget = { left: DOWN_SET_VALUE_BUDGET };
  const sets = new Map<string, DownSet>();
  const left = new Set<string>();
  for (const planned of parentsFirst(plan)) {
    const name = planned.table.name;
    const sql = new SubsetSql(plan, tenant, { down: options.down ?? new Map(), extras: new Map(), downSets: sets }, options.exclusions);
    const query = parentsOf(planned).some((parent) => left.has(parent)) ? undefined : sql.downSetRows(name, limit);
    if (!query) {
      left.add(name);
      continue;
    }
    // Read as COPY text, as a backup takes its sets; array_agg(...)::text was slower (docs/postgres.md).
    const collector = new DownSetCollector(downSetColumns(plan, name).map((_, i) => i), limit, budget);
    for await (const chunk of session.copyOut(`COPY (${query}) TO STDOUT`) as AsyncIterable<Buffer>) collector.push(chunk);
    const set = collector.finish();
    if (set) sets.set(name, set);
    else left.add(name);
  }
  return sets;
}

/**
 * True when the two fetched down sets show that every row of `fk.from`'s set references, through
 * `fk`, a row of `fk.to`'s set (or nothing: a NULL column): then no row is pulled up through `fk` and
 * the closure need not ask. Text equality is value equality for the key types foreign keys use, so a
 * true answer is exact; a false one (or a set not fetched) only means the database must be asked.
 */
export function referencesStayInside(plan: TenantPlan, downSets: DownSets, fk: ForeignKey): boolean {
  const child = downSets.get(fk.from);
  const parent = downSets.get(fk.to);
  if (!child || !parent) return false;
  let byParent = stayInside.get(child);
  if (!byParent) stayInside.set(child, (byParent = new WeakMap()));
  let known = byParent.get(parent);
  if (!known) byParent.set(parent, (known = new Map()));
  let answer = known.get(fk);
  if (answer === undefined) {
    const names = (table: string): string[] => downSetColumns(plan, table).map((c) => c.name);
    const inParent = setKeys(parent, names(fk.to), fk.toColumns).distinct;
    answer = setKeys(child, names(fk.from), fk.fromColumns).rows.every((key) => key === null || inParent.has(key));
    known.set(fk, answer);
  }
  return answer;
}

/** {@link referencesStayInside}'s answers, per child set, parent set and key (a set's rows never change). */
const stayInside = new WeakMap<DownSet, WeakMap<DownSet, Map<ForeignKey, boolean>>>();

/** The tables a tenant table's down set is built from (cycle edges come from the closure instead). */
export function parentsOf(planned: PlannedTable): string[] {
  return downEdges(planned).map((fk) => fk.to);
}

/** The root and the tenant tables, each after the tables its down set is built from. */
function parentsFirst(plan: TenantPlan): PlannedTable[] {
  const pending = plan.tables.filter((t) => t.role === 'root' || t.role === 'tenant');
  const ordered: PlannedTable[] = [];
  const done = new Set<string>();
  while (pending.length > 0) {
    const ready = pending.findIndex((t) => parentsOf(t).every((parent) => done.has(parent)));
    // Without cycle edges the keys between tenant tables form no cycle (the planner's invariant).
    if (ready < 0) throw new Error(`tenant tables ${pending.map((t) => t.table.name).join(', ')} depend on each other outside their cycle edges`);
    const [planned] = pending.splice(ready, 1);
    ordered.push(planned!);
    done.add(planned!.table.name);
  }
  return ordered;
}
