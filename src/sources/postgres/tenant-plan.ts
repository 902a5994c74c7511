/**
 * The tenant planner: which tables hold a tenant's rows, which hold rows those need, and why. Pure: it
 * works on a {@link TableGraph} and the tenancy rules; the SQL that selects the rows is built from its
 * result by `subset-sql.ts`. The rules are in docs/postgres.md ("The subset rules").
 */
import { FailsafeError } from '../../core/errors.js';
import { didYouMean } from '../../core/did-you-mean.js';
import type { ForeignKey, Table, TableGraph } from '../../postgres/catalog.js';

/** How a table is treated regardless of the foreign-key walk. */
export type TableRule = 'whole' | 'exclude';

export interface ExtraForeignKey {
  readonly from: string;
  readonly fromColumns: readonly string[];
  readonly to: string;
  readonly toColumns: readonly string[];
}

/**
 * Which rows of a tenant table are the tenant's (docs/postgres.md, "Ownership"):
 * - reach: every row that reaches the tenant's root row going down its foreign keys, by any of them;
 * - root-key: in a table with a NOT NULL foreign key straight to the root's key (`booking.hotel_id →
 *   hotel.id`), the rows holding the tenant's id there, whatever its other keys point at; other
 *   tables as with reach.
 */
export type Ownership = 'reach' | 'root-key';

export const OWNERSHIPS: readonly Ownership[] = ['reach', 'root-key'];

export interface TenancyRules {
  /** The tenant table, `schema.table`. */
  readonly root: string;
  /** The root table's column holding the tenant id; empty: its single-column primary key. */
  readonly key: string;
  /** Default `reach`. */
  readonly ownership?: Ownership;
  readonly tables?: Readonly<Record<string, TableRule>>;
  readonly extraForeignKeys?: readonly ExtraForeignKey[];
}

/**
 * - root: the tenant table; one row per tenant.
 * - tenant: reached by going down from the root (its rows belong to tenants).
 * - shared: not a tenant table, but included rows reference it (lookups); only referenced rows are copied.
 * - whole: copied whole by configuration.
 * - excluded: never copied, by configuration.
 * - left-out: neither reached nor referenced.
 */
export type TableRole = 'root' | 'tenant' | 'shared' | 'whole' | 'excluded' | 'left-out';

export interface PlannedTable {
  readonly table: Table;
  readonly role: TableRole;
  /** Why the table has its role, for people: the foreign-key path from the root, or what references it. */
  readonly reason: string;
  /**
   * Foreign keys that select this table's rows: for tenant tables the keys into tenant tables (a row is
   * the tenant's when one of them points at a tenant row); for shared tables the keys from included
   * tables into it (a row is needed when one of them points at it). Self-references included.
   */
  readonly edges: readonly ForeignKey[];
  /**
   * Tenant tables: the edges that close a cycle among tenant tables below the root (a self-reference,
   * or `department.head_id → employee` with `employee.department_id → department`). Rows reached
   * through them are found by the closure, not by the per-table SQL.
   */
  readonly cycleEdges: readonly ForeignKey[];
}

export interface TenantPlan {
  readonly rules: TenancyRules;
  readonly graph: TableGraph;
  /** Root first, then tenant tables by distance from the root, shared, whole, left-out, excluded. */
  readonly tables: readonly PlannedTable[];
  /** Every foreign key between included tables (declared and extra). */
  readonly foreignKeys: readonly ForeignKey[];
}

const ROLE_ORDER: readonly TableRole[] = ['root', 'tenant', 'shared', 'whole', 'left-out', 'excluded'];

/**
 * Plans the tenant subset of a database. Throws a CONFIG error for rules that do not fit the schema:
 * unknown tables or columns, a root without a primary key, a foreign key into an excluded table, a
 * cycle of several tables below the root (not supported yet).
 *
 * @example
 * const plan = planTenancy(await readTableGraph(session), { root: 'public.store', key: 'store_id' });
 * plan.tables.filter((t) => t.role === 'tenant').map((t) => t.table.name);
 */
export function planTenancy(graph: TableGraph, givenRules: TenancyRules): TenantPlan {
  const root = requireTable(graph, givenRules.root, 'tenancy root');
  const rules = { ...givenRules, key: givenRules.key || defaultKey(root) };
  if (!root.columns.some((column) => column.name === rules.key)) {
    throw new FailsafeError('CONFIG', `tenancy key: table ${root.name} has no column "${rules.key}"${didYouMean(rules.key, root.columns.map((c) => c.name))}`);
  }
  if (root.key.length === 0) {
    throw new FailsafeError('CONFIG', `tenancy root ${root.name} has no primary key: every tenant must be exactly one row`, {
      hint: `add a primary key to ${root.name}`,
    });
  }
  const tableRules = new Map<string, TableRule>();
  for (const [name, rule] of Object.entries(rules.tables ?? {})) {
    requireTable(graph, name, `rule "${rule}"`);
    if (name === root.name) throw new FailsafeError('CONFIG', `the tenancy root ${root.name} cannot be "${rule}"`);
    tableRules.set(name, rule);
  }
  const allKeys = [...graph.foreignKeys, ...(rules.extraForeignKeys ?? []).map((extra, i) => extraKey(graph, extra, i))];

  const excluded = (name: string): boolean => tableRules.get(name) === 'exclude';
  const whole = (name: string): boolean => tableRules.get(name) === 'whole';
  const keys = allKeys.filter((fk) => !excluded(fk.from) && !excluded(fk.to));

  // Down: tenant tables, breadth first from the root, never re-entering the root, never through whole tables.
  const reason = new Map<string, string>([[root.name, `tenant root (${rules.key} = tenant id)`]]);
  const distance = new Map<string, number>([[root.name, 0]]);
  let frontier = [root.name];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const parent of frontier) {
      for (const fk of keys) {
        if (fk.to !== parent || fk.from === root.name || whole(fk.from) || distance.has(fk.from)) continue;
        distance.set(fk.from, distance.get(parent)! + 1);
        reason.set(fk.from, `${describeKey(fk)}${parent === root.name ? '' : `, ${reason.get(parent)}`}`);
        next.push(fk.from);
      }
    }
    frontier = next;
  }
  const tenantTables = new Set(distance.keys());

  // Up: rows referenced by included rows; shared tables are the ones this adds.
  const shared = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const fk of keys) {
      if (!(tenantTables.has(fk.from) || shared.has(fk.from))) continue;
      if (tenantTables.has(fk.to) || shared.has(fk.to) || whole(fk.to)) continue;
      shared.add(fk.to);
      reason.set(fk.to, `referenced by ${describeKey(fk)}`);
      grew = true;
    }
  }

  const included = (name: string): boolean => tenantTables.has(name) || shared.has(name);
  for (const fk of allKeys) {
    if (excluded(fk.to) && (included(fk.from) || whole(fk.from))) {
      throw new FailsafeError('CONFIG', `foreign key ${describeKey(fk)} points into the excluded table ${fk.to}`, {
        hint: `exclude ${fk.from} as well, or include ${fk.to}`,
      });
    }
    if (whole(fk.from) && tenantTables.has(fk.to)) {
      throw new FailsafeError(
        'CONFIG',
        `table ${fk.from} is copied whole but references the tenant table ${fk.to} (${describeKey(fk)}): its rows would need other tenants' rows`,
        { hint: `remove the "whole" rule for ${fk.from} so it is subset like the other tenant tables, or exclude it` },
      );
    }
  }

  const planned: PlannedTable[] = [];
  for (const table of graph.tables.values()) {
    const name = table.name;
    let role: TableRole;
    let edges: ForeignKey[] = [];
    if (name === root.name) role = 'root';
    else if (tenantTables.has(name)) {
      role = 'tenant';
      edges = keys.filter((fk) => fk.from === name && tenantTables.has(fk.to));
      const rootKeys = edges.filter((fk) => isRootKey(fk, table, rules));
      if (rules.ownership === 'root-key' && rootKeys.length > 0) {
        edges = rootKeys;
        reason.set(name, `${rootKeys.map(describeKey).join(', ')} (root key: owns the row)`);
      }
    } else if (shared.has(name)) {
      role = 'shared';
      edges = keys.filter((fk) => fk.to === name && included(fk.from));
    } else if (whole(name)) role = 'whole';
    else if (excluded(name)) role = 'excluded';
    else role = 'left-out';
    planned.push({ table, role, reason: reason.get(name) ?? roleReason(role, name, keys, included), edges, cycleEdges: [] });
  }
  planned.sort(
    (a, b) =>
      ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) ||
      (distance.get(a.table.name) ?? 0) - (distance.get(b.table.name) ?? 0) ||
      a.table.name.localeCompare(b.table.name),
  );
  const withCycles = markTenantCycles(planned);
  const plan: TenantPlan = { rules, graph, tables: withCycles, foreignKeys: keys.filter((fk) => included(fk.from) && included(fk.to)) };
  refuseSharedCycles(plan);
  return plan;
}

/** An empty `key` means the root's primary key, which must then be one column. */
function defaultKey(root: Table): string {
  if (root.key.length === 1) return root.key[0]!;
  throw new FailsafeError('CONFIG', `name the tenancy key column of ${root.name}${root.key.length > 1 ? ': its primary key has several columns' : ''}`, {
    hint: 'add --tenant-key COLUMN (or tenancy: key: in the config)',
  });
}

/** A foreign key straight to the root's tenant key (`booking.hotel_id → hotel.id`). */
export function pointsAtRootKey(fk: ForeignKey, rules: Pick<TenancyRules, 'root' | 'key'>): boolean {
  return fk.to === rules.root && fk.toColumns.length === 1 && fk.toColumns[0] === rules.key;
}

/** A NOT NULL foreign key from `table` straight to the root's tenant key. */
function isRootKey(fk: ForeignKey, table: Table, rules: TenancyRules): boolean {
  return pointsAtRootKey(fk, rules) && table.columns.find((column) => column.name === fk.fromColumns[0])?.notNull === true;
}

/** A tenant table's edges that its down set follows: all but the cycle edges, which the closure follows. */
export function downEdges(planned: PlannedTable): readonly ForeignKey[] {
  return planned.edges.filter((fk) => !planned.cycleEdges.includes(fk));
}

/** `public.rental.customer_id → public.customer`. */
export function describeKey(fk: ForeignKey): string {
  const columns = fk.fromColumns.length === 1 ? fk.fromColumns[0] : `(${fk.fromColumns.join(', ')})`;
  return `${fk.from}.${columns} → ${fk.to}`;
}

function roleReason(role: TableRole, name: string, keys: readonly ForeignKey[], included: (name: string) => boolean): string {
  switch (role) {
    case 'whole':
      return 'rule: whole';
    case 'excluded':
      return 'rule: exclude';
    default: {
      const references = keys.filter((fk) => fk.from === name).map((fk) => fk.to);
      if (references.length === 0) return 'no foreign-key path from the root; mark it "whole" to copy it';
      const into = [...new Set(references)].map((to) => `${to}${included(to) ? '' : ' (not included)'}`);
      return `references only ${into.join(', ')}, never the tenant's rows; mark it "whole" to copy it`;
    }
  }
}

function requireTable(graph: TableGraph, name: string, what: string): Table {
  const table = graph.tables.get(name);
  if (table) return table;
  const hint = name.includes('.') ? '' : ' (write schema.table, e.g. public.' + name + ')';
  throw new FailsafeError('CONFIG', `${what}: no table ${name} in the database${hint}${didYouMean(name, graph.tables.keys())}`);
}

function extraKey(graph: TableGraph, extra: ExtraForeignKey, index: number): ForeignKey {
  const from = requireTable(graph, extra.from, 'extra foreign key');
  const to = requireTable(graph, extra.to, 'extra foreign key');
  const label = `extra foreign key ${extra.from} (${extra.fromColumns.join(', ')}) → ${extra.to} (${extra.toColumns.join(', ')})`;
  if (extra.fromColumns.length === 0 || extra.fromColumns.length !== extra.toColumns.length) {
    throw new FailsafeError('CONFIG', `${label}: needs the same number of columns on both sides`);
  }
  for (const [table, columns] of [[from, extra.fromColumns], [to, extra.toColumns]] as const) {
    for (const column of columns) {
      if (!table.columns.some((c) => c.name === column)) {
        throw new FailsafeError('CONFIG', `${label}: table ${table.name} has no column "${column}"${didYouMean(column, table.columns.map((c) => c.name))}`);
      }
    }
  }
  return {
    name: `extra:${index + 1}`,
    from: from.name,
    fromColumns: extra.fromColumns,
    to: to.name,
    toColumns: extra.toColumns,
    nullable: extra.fromColumns.some((column) => !from.columns.find((c) => c.name === column)?.notNull),
    declared: false,
  };
}

/** Marks, per tenant table, the edges that stay inside its strongly connected component (cycles below the root). */
function markTenantCycles(planned: readonly PlannedTable[]): PlannedTable[] {
  const tenants = planned.filter((t) => t.role === 'tenant');
  const edges = new Map(tenants.map((t) => [t.table.name, t.edges.map((fk) => fk.to).filter((to) => tenants.some((m) => m.table.name === to))]));
  const componentOf = new Map<string, number>();
  stronglyConnected(edges).forEach((component, index) => component.forEach((name) => componentOf.set(name, index)));
  return planned.map((t) => {
    if (t.role !== 'tenant') return t;
    const cycleEdges = t.edges.filter((fk) => componentOf.get(fk.to) === componentOf.get(t.table.name));
    return cycleEdges.length === 0 ? t : { ...t, cycleEdges };
  });
}

/**
 * Self-references of shared tables are followed by a recursive query; a cycle through several shared
 * tables is not supported yet and is refused with the tables named.
 */
function refuseSharedCycles(plan: TenantPlan): void {
  const members = plan.tables.filter((t) => t.role === 'shared');
  const edges = new Map<string, string[]>();
  for (const t of members) {
    edges.set(t.table.name, t.edges.map((fk) => fk.from).filter((other) => other !== t.table.name && members.some((m) => m.table.name === other)));
  }
  for (const component of stronglyConnected(edges)) {
    if (component.length < 2) continue;
    throw new FailsafeError(
      'CONFIG',
      `tables ${component.join(', ')} reference each other in a foreign-key cycle among shared tables; failsafe cannot subset such a cycle yet`,
      { hint: 'mark one of them "whole" or "exclude" under the source\'s tables:' },
    );
  }
}

/** Tarjan's algorithm; components in reverse topological order. */
export function stronglyConnected(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      components.push(component.sort());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return components;
}
