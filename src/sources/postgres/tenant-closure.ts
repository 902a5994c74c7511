/**
 * The closure of a tenant subset inside one database snapshot: the rows that included rows reference
 * but that do not reach the tenant's root going down (extra rows), and which of those belong to another
 * tenant (cross-tenant references). Run once per snapshot, before the tables are copied.
 */
import { FailsafeError } from '../../core/errors.js';
import type { PgSession, SqlClient } from '../../postgres/connection.js';
import type { ForeignKey } from '../../postgres/catalog.js';
import { quoteIdent, quoteLiteral, quoteQualified } from '../../postgres/catalog.js';
import { fetchDownSets, referencesStayInside } from './down-sets.js';
import type { DownSets } from './down-set.js';
import { identityAmong } from './sql-fragments.js';
import { identityColumns } from './subset-columns.js';
import { SubsetSql, type CrossTenantPolicy, type Exclusions, type ExtraRows, type SubsetAdditions } from './subset-sql.js';
import { describeKey, pointsAtRootKey, type PlannedTable, type TenantPlan } from './tenant-plan.js';

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

export interface Closure extends SubsetAdditions {
  /** Up to {@link REPORT_LIMIT} rows of other tenants that the subset references. */
  readonly crossTenant: readonly CrossTenantRow[];
  /** True when there are more cross-tenant rows than {@link REPORT_LIMIT}. */
  readonly truncated: boolean;
  /** With a policy: the other tenants' rows kept out. */
  readonly blocked: ExtraRows;
  /** With `skip-row`: the tenant's rows left out because they reference blocked (or skipped) rows. */
  readonly skipped: ExtraRows;
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

export interface ClosureOptions {
  /** Rows of other tenants referenced from the subset: fail (report them), write NULL, or leave the referencing rows out. */
  readonly policy?: CrossTenantPolicy;
  /** The plain down sets (no additions), when the caller has already read them. */
  readonly downSets?: DownSets;
  /** Rows per table above which a down set stays a query (default `DOWN_SET_LIMIT`). */
  readonly downSetLimit?: number;
}

/**
 * Computes the closure for `tenant` (a fixpoint: extra rows can pull more extra rows).
 *
 * @example
 * const closure = await closeSubset(session, plan, '42');
 * if (closure.crossTenant.length > 0) throw ...;
 * new SubsetSql(plan, '42', closure).select('public.booking');
 */
export async function closeSubset(client: PgSession, plan: TenantPlan, tenant: string, options: ClosureOptions = {}): Promise<Closure> {
  const policy = options.policy ?? 'fail';
  const blocked = new Map<string, Map<string, readonly string[]>>();
  const skipped = new Map<string, Map<string, readonly string[]>>();
  const reported: CrossTenantRow[] = [];
  let truncated = false;
  for (;;) {
    const exclusions = policy === 'fail' ? undefined : { policy, blocked: asExtraRows(blocked), skipped: asExtraRows(skipped) };
    // Down sets depend on the rows reached through cycles and on the skipped rows, not on blocked ones.
    const plainDownSets = skipped.size === 0 ? options.downSets : undefined;
    const { down, downSets } = await reachDown(client, plan, tenant, exclusions, { downSets: plainDownSets, limit: options.downSetLimit });
    const pulled = await pullUp(client, plan, tenant, { down, downSets }, exclusions);
    // With `fail`, naming the first rows is enough; with a policy every one must be found.
    const found = await findCrossTenant(client, plan, tenant, pulled, policy === 'fail' ? REPORT_LIMIT : Infinity);
    for (const row of found.rows) if (reported.length < REPORT_LIMIT) reported.push(row.report);
    truncated ||= found.truncated || found.rows.length > REPORT_LIMIT;
    if (policy === 'fail' || found.rows.length === 0) {
      return { down, downSets, extras: asExtraRows(pulled.extras), crossTenant: reported, truncated, blocked: asExtraRows(blocked), skipped: asExtraRows(skipped) };
    }
    for (const row of found.rows) addRow(blocked, row.report.table, row.values);
    const additions = { down, extras: asExtraRows(pulled.extras) };
    if (policy === 'nullify') await assertNullable(client, plan, tenant, additions, blocked);
    else await skipReferencing(client, plan, tenant, additions, blocked, skipped);
  }
}

interface PulledUp {
  readonly extras: Map<string, Map<string, readonly string[]>>;
  readonly pulledBy: Map<string, ForeignKey>;
  /** Rows referenced by the tenant's own rows (found in the first round), as `table:id`. */
  readonly direct: Set<string>;
}

/**
 * Rows reached through cycles among tenant tables (self-references too): a fixpoint, computed before
 * anything is pulled up; with the down sets for them.
 */
async function reachDown(
  client: PgSession,
  plan: TenantPlan,
  tenant: string,
  exclusions: Exclusions | undefined,
  given: { readonly downSets: DownSets | undefined; readonly limit: number | undefined },
): Promise<{ down: ExtraRows; downSets: DownSets }> {
  const down = new Map<string, Map<string, readonly string[]>>();
  const fetch = (): Promise<DownSets> => fetchDownSets(client, plan, tenant, { down: asExtraRows(down), exclusions, limit: given.limit });
  let downSets = given.downSets ?? (await fetch());
  const tables = plan.tables.filter((t) => t.cycleEdges.length > 0).map((t) => t.table.name);
  for (let changed = tables.length > 0, round = 1; changed; round++) {
    changed = false;
    const sql = new SubsetSql(plan, tenant, { down: asExtraRows(down), extras: new Map(), downSets }, exclusions);
    const query = client.query<{ t: number; id: string[] }>(sql.reachedThroughCycles(tables));
    // While the server runs it, the first pull-up round's in-memory comparisons are made on these sets
    // (kept with them, and used if the query finds nothing): 0.2 s at 1% of 24 GB.
    if (round === 1) keysToPullUp(plan, downSets, new Map(), exclusions);
    const { rows } = await query;
    for (const row of rows) if (addRow(down, tables[row.t]!, row.id)) changed = true;
    if (changed) downSets = await fetch();
  }
  return { down: asExtraRows(down), downSets };
}

/**
 * The keys between tenant tables through which rows may be pulled up, given the extra rows so far:
 * a key whose child has extra rows; otherwise one that neither the plan's structure nor the down sets
 * (a pass over their rows, kept with the sets) settle.
 */
function keysToPullUp(plan: TenantPlan, downSets: DownSets, extras: ReadonlyMap<string, ReadonlyMap<string, unknown>>, exclusions: Exclusions | undefined): ForeignKey[] {
  const tenantTables = plan.tables.filter((t) => t.role === 'root' || t.role === 'tenant');
  const isTenantTable = (name: string): boolean => tenantTables.some((t) => t.table.name === name);
  // Every key between tenant tables, including the root's own keys into them (store.manager_staff_id).
  const keys = plan.foreignKeys.filter((fk) => isTenantTable(fk.from) && isTenantTable(fk.to));
  return keys.filter((fk) => {
    if (extras.has(fk.from)) return true;
    const child = tenantTables.find((t) => t.table.name === fk.from)!;
    if (exclusions === undefined && (cannotPullUp(child, fk, extras) || staysWithTenant(plan, fk))) return false;
    return !referencesStayInside(plan, downSets, fk);
  });
}

/** The extra rows: a fixpoint, since extra rows can reference more rows. */
async function pullUp(
  client: SqlClient,
  plan: TenantPlan,
  tenant: string,
  { down, downSets }: { readonly down: ExtraRows; readonly downSets: DownSets },
  exclusions: Exclusions | undefined,
): Promise<PulledUp> {
  const extras = new Map<string, Map<string, readonly string[]>>();
  const pulledBy = new Map<string, ForeignKey>();
  const direct = new Set<string>();
  for (let round = 1, changed = true; changed; round++) {
    changed = false;
    const sql = new SubsetSql(plan, tenant, { down, extras: asExtraRows(extras), downSets }, exclusions);
    const asked = keysToPullUp(plan, downSets, extras, exclusions);
    if (asked.length === 0) break;
    // One query per round: the CTEs every key needs are computed once.
    const { rows } = await client.query<{ fk: number; id: string[] }>(sql.pulledUpAll(asked));
    for (const row of rows) {
      const fk = asked[row.fk]!;
      const id = JSON.stringify(row.id);
      if (!addRow(extras, fk.to, row.id)) continue;
      pulledBy.set(`${fk.to}:${id}`, fk);
      // Rows found in the first round are referenced by the tenant's own rows; later rounds find rows
      // only other extra rows reference (see findCrossTenant for which of those are reported).
      if (round === 1) direct.add(`${fk.to}:${id}`);
      changed = true;
    }
  }
  return { extras, pulledBy, direct };
}

/**
 * Extra rows that belong to another tenant, up to `limit`: first those the tenant's own rows reference,
 * then those only other extra rows reference whose tenants are not named yet. Under `reach` ownership
 * such a later row always follows from a named one (the row that pulled it in reaches its tenants
 * too); under `root-key` it may not (an extra row whose root key names no tenant, through an extra
 * foreign key, can reference another tenant's row), and is named itself.
 */
async function findCrossTenant(
  client: SqlClient,
  plan: TenantPlan,
  tenant: string,
  pulled: PulledUp,
  limit: number,
): Promise<{ rows: { report: CrossTenantRow; values: readonly string[] }[]; truncated: boolean }> {
  const rows: { report: CrossTenantRow; values: readonly string[] }[] = [];
  const named = new Set<string>();
  const tablesWithOthers = new Map<string, PlannedTable>();
  for (const [table, extras] of pulled.extras) {
    const planned = plan.tables.find((t) => t.table.name === table)!;
    // One set-based walk tells whether the table has any; the per-row walks only name them.
    const owners = await ownersOf(client, plan, planned, [...extras.values()]);
    if ([...owners].some((owner) => owner !== tenant)) tablesWithOthers.set(table, planned);
  }
  for (const direct of [true, false]) {
    for (const [table, planned] of tablesWithOthers) {
      for (const [id, values] of pulled.extras.get(table)!) {
        if (pulled.direct.has(`${table}:${id}`) !== direct) continue;
        if (rows.length === limit) return { rows, truncated: true };
        const rowOwners = [...(await ownersOf(client, plan, planned, [values]))].filter((owner) => owner !== tenant);
        if (rowOwners.length === 0 || (!direct && rowOwners.every((owner) => named.has(owner)))) continue;
        rowOwners.forEach((owner) => named.add(owner));
        const identity = identityColumns(planned.table);
        rows.push({
          values,
          report: {
            table,
            row: Object.fromEntries(identity.map((c, i) => [c.name, values[i]!])),
            referencedBy: describeKey(pulled.pulledBy.get(`${table}:${id}`)!),
            owners: rowOwners.sort(),
          },
        });
      }
    }
  }
  return { rows, truncated: false };
}

/** `nullify` can only write NULL where the column allows it: refuse when a NOT NULL reference hits another tenant's row. */
async function assertNullable(
  client: SqlClient,
  plan: TenantPlan,
  tenant: string,
  additions: SubsetAdditions,
  blocked: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>,
): Promise<void> {
  const sql = new SubsetSql(plan, tenant, additions, { policy: 'nullify', blocked: asExtraRows(blocked), skipped: new Map() });
  for (const fk of plan.foreignKeys) {
    const from = plan.graph.tables.get(fk.from);
    const notNull = fk.fromColumns.filter((c) => from?.columns.find((column) => column.name === c)?.notNull);
    if (notNull.length === 0) continue;
    const hits = await rowsReferencing(client, sql, plan, fk, [...(blocked.get(fk.to)?.values() ?? [])]);
    if (hits.length === 0) continue;
    throw new FailsafeError('USAGE', `--on-cross-tenant nullify cannot write NULL into ${fk.from}.${notNull.join(', ')} (NOT NULL), which references other tenants' rows through ${describeKey(fk)}`, {
      hint: 'use --on-cross-tenant skip-row to leave those rows out instead',
    });
  }
}

/** `skip-row`: rows referencing blocked or skipped rows are left out, and so, in turn, are rows referencing those. */
async function skipReferencing(
  client: SqlClient,
  plan: TenantPlan,
  tenant: string,
  additions: SubsetAdditions,
  blocked: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>,
  skipped: Map<string, Map<string, readonly string[]>>,
): Promise<void> {
  for (let changed = true; changed; ) {
    changed = false;
    const sql = new SubsetSql(plan, tenant, additions, { policy: 'skip-row', blocked: asExtraRows(blocked), skipped: asExtraRows(skipped) });
    for (const fk of plan.foreignKeys) {
      const gone = [...(blocked.get(fk.to)?.values() ?? []), ...(skipped.get(fk.to)?.values() ?? [])];
      for (const identity of await rowsReferencing(client, sql, plan, fk, gone)) {
        if (addRow(skipped, fk.from, identity)) changed = true;
      }
    }
  }
}

/** Identities of the subset rows of `fk.from` whose `fk` points at one of `parents` (identity tuples of `fk.to`). */
async function rowsReferencing(client: SqlClient, sql: SubsetSql, plan: TenantPlan, fk: ForeignKey, parents: readonly (readonly string[])[]): Promise<(readonly string[])[]> {
  const select = parents.length > 0 ? sql.selectIdentity(fk.from) : undefined;
  if (!select) return [];
  const parent = plan.tables.find((t) => t.table.name === fk.to)!.table;
  const { rows } = await client.query<Record<string, string>>(
    `SELECT s.* FROM (${select.sql}) s WHERE (${fk.fromColumns.map((c) => `s.${quoteIdent(`fk_${c}`)}`).join(', ')}) IN ` +
      `(SELECT ${fk.toColumns.map((c) => `p.${quoteIdent(c)}`).join(', ')} FROM ${quoteQualified(parent.name)} p WHERE ${identityAmong(parent, 'p', parents)})`,
  );
  return rows.map((row) => select.identity.map((c) => row[c]!));
}

function addRow(rows: Map<string, Map<string, readonly string[]>>, table: string, values: readonly string[]): boolean {
  const id = JSON.stringify(values);
  const known = rows.get(table) ?? new Map<string, readonly string[]>();
  rows.set(table, known);
  if (known.has(id)) return false;
  known.set(id, values);
  return true;
}

/**
 * A row pulled in through `fk` is always in the parent's down set when `fk` is the child's only way down
 * and the child has no extra rows: then nothing needs asking. (With root-key ownership a table's other
 * keys are not ways down, and what they reference must be asked.)
 */
function cannotPullUp(child: PlannedTable, fk: ForeignKey, extras: ReadonlyMap<string, ReadonlyMap<string, unknown>>): boolean {
  const onlyWayDown = child.edges.length === 1 && child.edges[0] === fk;
  return child.role === 'tenant' && onlyWayDown && fk.to !== child.table.name && (extras.get(child.table.name)?.size ?? 0) === 0;
}

/**
 * Under root-key ownership, a key that carries the child's root key column into the parent's
 * (`stay_night (hotel_id, room_number) → room`, `booking.hotel_id → hotel`): a child row of the
 * tenant holds its id there, so the row it references does too, and is the parent's row of the
 * tenant by its own root key (or is the tenant's root row).
 */
function staysWithTenant(plan: TenantPlan, fk: ForeignKey): boolean {
  if (plan.rules.ownership !== 'root-key') return false;
  const from = rootKeyColumn(plan, fk.from);
  const at = from === undefined ? -1 : fk.fromColumns.indexOf(from);
  return at >= 0 && fk.toColumns[at] === rootKeyColumn(plan, fk.to);
}

/** The column holding the tenant's id in the root, or in a tenant table owned by its one root key. */
function rootKeyColumn(plan: TenantPlan, table: string): string | undefined {
  const { root, key } = plan.rules;
  if (table === root) return key;
  const edges = plan.tables.find((t) => t.table.name === table)?.edges ?? [];
  return edges.length === 1 && pointsAtRootKey(edges[0]!, plan.rules) ? edges[0]!.fromColumns[0] : undefined;
}

/** The tenant ids that rows of `start` reach by walking their foreign keys up to the root. */
async function ownersOf(client: SqlClient, plan: TenantPlan, start: PlannedTable, rows: readonly (readonly string[])[]): Promise<Set<string>> {
  const owners = new Set<string>();
  const seen = new Map<string, Map<string, readonly string[]>>();
  let frontier = new Map<PlannedTable, (readonly string[])[]>([[start, [...rows]]]);
  while (frontier.size > 0) {
    const next = new Map<PlannedTable, (readonly string[])[]>();
    for (const [planned, idents] of frontier) {
      if (idents.length === 0) continue;
      const table = planned.table;
      const selected = identityAmong(table, 't', idents);
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
        for (const row of parents) {
          const parentValues = Object.values(row);
          if (addRow(seen, parent.table.name, parentValues)) next.set(parent, [...(next.get(parent) ?? []), parentValues]);
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
