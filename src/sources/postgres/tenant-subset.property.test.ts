/**
 * Property test of the subset rules: random schemas (foreign-key DAGs plus self-references and back
 * references that close cycles through the root) with random rows, planned and selected in real
 * PostgreSQL under either ownership rule, compared with a direct in-memory evaluation of the rules in
 * docs/postgres.md.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test/postgres.js';
import { isErrorCode } from '../../core/errors.js';
import { readTableGraph } from '../../postgres/catalog.js';
import type { PgSession } from '../../postgres/connection.js';
import { parse as parseArray } from 'postgres-array';
import { arrayLiteral, setValue, type DownSet } from './down-set.js';
import { fetchDownSets } from './down-sets.js';
import { downSetColumns } from './subset-columns.js';
import { SubsetSql } from './subset-sql.js';
import { closeSubset } from './tenant-closure.js';
import { OWNERSHIPS, planTenancy, type ExtraForeignKey, type TenantPlan } from './tenant-plan.js';

interface RandomKey {
  readonly column: string;
  readonly to: number;
}
interface RandomTable {
  readonly keys: readonly RandomKey[];
  /** With root-key ownership: the index of the key to the root declared NOT NULL (its nulls filled in). */
  readonly rootKey?: number;
  /** Row ids 1..rows; each row's key values (null: no reference). */
  readonly rows: readonly (readonly (number | null)[])[];
}

const ROOT_ROWS = 3;

/** Table 0 is the root (tenants 1..3); table i > 0 references earlier tables, sometimes itself or a later one. */
const schemaArbitrary = fc.integer({ min: 2, max: 6 }).chain((count) =>
  fc.tuple(
    ...Array.from({ length: count }, (_, index) =>
      fc
        .array(
          fc.integer({ min: 0, max: count - 1 }).filter((to) => index === 0 ? to > 0 : true),
          { minLength: index === 0 ? 0 : 1, maxLength: index === 0 ? 1 : 3 },
        )
        .chain((targets) => {
          const keys = targets.map((to, k) => ({ column: `r${k}`, to }));
          const rowCount = index === 0 ? ROOT_ROWS : 6;
          return fc
            .array(fc.array(fc.option(fc.integer({ min: 1, max: 6 }), { nil: null, freq: 3 }), { minLength: keys.length, maxLength: keys.length }), {
              minLength: rowCount,
              maxLength: rowCount,
            })
            .map((rows): RandomTable => ({ keys, rows }));
        }),
    ),
  ),
);

/**
 * For root-key ownership: in each table with a key to the root, the first such key becomes NOT NULL
 * (its nulls replaced by tenant ids), so the planner takes it as the key that decides ownership.
 */
function withRootKeys(tables: readonly RandomTable[]): RandomTable[] {
  return tables.map((table, t) => {
    const rootKey = table.keys.findIndex((key) => key.to === 0);
    if (t === 0 || rootKey < 0) return table;
    const rows = table.rows.map((row, i) => row.map((value, k) => (k === rootKey && value === null ? (i % ROOT_ROWS) + 1 : value)));
    return { ...table, rows, rootKey };
  });
}

/** The rules, evaluated directly on the rows. */
function expectedSubset(tables: readonly RandomTable[], tenant: number, sizes: readonly number[]): { subset: Set<number>[]; ownedBy: Set<number>[][] } {
  const down = (root: number): Set<number>[] => {
    const d = tables.map(() => new Set<number>());
    d[0]!.add(root);
    for (let changed = true; changed; ) {
      changed = false;
      tables.forEach((table, t) => {
        if (t === 0 || !isTenantTable(tables, t)) return;
        // With root-key ownership only the root key leads down into such a table.
        const ways = table.keys.map((_, k) => table.rootKey === undefined || k === table.rootKey);
        table.rows.forEach((row, i) => {
          if (d[t]!.has(i + 1)) return;
          if (table.keys.some((key, k) => ways[k] && row[k] !== null && isTenantTable(tables, key.to) && d[key.to]!.has(row[k]!) && exists(sizes, key.to, row[k]!))) {
            d[t]!.add(i + 1);
            changed = true;
          }
        });
      });
    }
    return d;
  };
  const subset = down(tenant);
  for (let changed = true; changed; ) {
    changed = false;
    tables.forEach((table, t) => {
      table.rows.forEach((row, i) => {
        if (!subset[t]!.has(i + 1)) return;
        table.keys.forEach((key, k) => {
          const value = row[k];
          if (value === null || value === undefined || !exists(sizes, key.to, value) || subset[key.to]!.has(value)) return;
          subset[key.to]!.add(value);
          changed = true;
        });
      });
    });
  }
  const ownedBy = Array.from({ length: ROOT_ROWS }, (_, r) => down(r + 1));
  return { subset, ownedBy };
}

/** Reached going down from the root through keys into tenant tables. */
function isTenantTable(tables: readonly RandomTable[], t: number): boolean {
  const reached = new Set([0]);
  for (let changed = true; changed; ) {
    changed = false;
    tables.forEach((table, i) => {
      if (i === 0 || reached.has(i)) return;
      if (table.keys.some((key) => reached.has(key.to))) {
        reached.add(i);
        changed = true;
      }
    });
  }
  return reached.has(t);
}

function exists(sizes: readonly number[], table: number, id: number): boolean {
  return id >= 1 && id <= sizes[table]!;
}

/**
 * A backup copies a table with a key to the root by the tenant's id, then checks what its other keys
 * reach: the check must report missed rows exactly when that copy differs from the table's down set,
 * both counting in memory (sets with values, as a backup takes them from the COPY rows) and asking the
 * database (sets as array literals only).
 */
async function expectRootKeyChecksExact(session: PgSession, plan: TenantPlan, tenant: string): Promise<void> {
  const fetched = await fetchDownSets(session, plan, tenant);
  const withValues = (set: DownSet): DownSet => ({ ...set, values: set.arrays.map((array) => (parseArray(array) as (string | null)[]).map(setValue)) });
  for (const planned of plan.tables) {
    const table = planned.table.name;
    const full = fetched.get(table);
    const byRootKey = new SubsetSql(plan, tenant, { down: new Map(), extras: new Map(), downSets: fetched }).selectByRootKey(table);
    if (!byRootKey || !full) continue;
    const columns = downSetColumns(plan, table);
    const { rows } = await session.query<Record<string, string | null>>(`SELECT ${columns.map((c) => `t.${c.name}::text`).join(', ')} FROM (${byRootKey}) t`);
    const values = columns.map((c) => rows.map((row) => setValue(row[c.name]!)));
    const copied: DownSet = { rows: rows.length, arrays: values.map(arrayLiteral), values };
    const ids = (set: DownSet): string[] => [...withValues(set).values![columns.findIndex((c) => c.name === 'id')]!].map(String).sort();
    const missed = JSON.stringify(ids(copied)) !== JSON.stringify(ids(full));
    for (const inMemory of [false, true]) {
      const sets = new Map([...fetched].map(([name, set]) => [name, inMemory ? withValues(set) : { rows: set.rows, arrays: set.arrays }]));
      sets.set(table, inMemory ? copied : { rows: copied.rows, arrays: copied.arrays });
      const check = new SubsetSql(plan, tenant, { down: new Map(), extras: new Map(), downSets: sets }).rowsOutsideCheck(table);
      const counts = check ? (await session.query<Record<string, string>>(check.sql)).rows[0]! : {};
      const reported = check?.expected.some((count, i) => Number(counts[`c${i}`]) !== count) ?? false;
      expect({ table, inMemory, reported }).toEqual({ table, inMemory, reported: missed });
    }
  }
}

describe('tenant subset (property)', () => {
  const pg = useTestDatabase('subset_property');

  it('selects every row the rules reach and reports any row that only another tenant owns', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(schemaArbitrary, fc.integer({ min: 1, max: ROOT_ROWS }), fc.integer({ min: 0, max: 6 }), fc.constantFrom(...OWNERSHIPS), async (generated, tenant, downSetLimit, ownership) => {
        run++;
        const tables = ownership === 'root-key' ? withRootKeys(generated) : generated;
        const schema = `prop_${run}`;
        const name = (t: number) => `${schema}.t${t}`;
        const sizes = tables.map((table) => table.rows.length);
        await pg.session.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
        try {
          for (const [t, table] of tables.entries()) {
            const columns = table.keys.map((key, k) => `, ${key.column} int${k === table.rootKey ? ' NOT NULL' : ''}`).join('');
            await pg.session.query(`CREATE TABLE ${name(t)} (id int PRIMARY KEY${columns})`);
            const values = table.rows.map((row, i) => `(${[i + 1, ...row.map((v) => v ?? 'NULL')].join(', ')})`).join(', ');
            await pg.session.query(`INSERT INTO ${name(t)} VALUES ${values}`);
          }
          const extraForeignKeys: ExtraForeignKey[] = tables.flatMap((table, t) =>
            table.keys.map((key) => ({ from: name(t), fromColumns: [key.column], to: name(key.to), toColumns: ['id'] })),
          );
          let plan;
          try {
            plan = planTenancy(await readTableGraph(pg.session), { root: name(0), key: 'id', ownership, extraForeignKeys });
          } catch (err) {
            if (isErrorCode(err, 'CONFIG') && /cycle/.test((err as Error).message)) return; // not supported yet, refused clearly
            throw err;
          }
          const { subset, ownedBy } = expectedSubset(tables, tenant, sizes);
          await expectRootKeyChecksExact(pg.session, plan, String(tenant));
          // A small limit leaves some down sets as queries, so both forms meet in one subset.
          const closure = await closeSubset(pg.session, plan, String(tenant), { downSetLimit });

          // Rows in the subset that another tenant owns and this one does not.
          const foreign = tables.flatMap((_, t) =>
            [...subset[t]!].filter((id) => isTenantTable(tables, t) && !ownedBy[tenant - 1]![t]!.has(id) && ownedBy.some((d, r) => r !== tenant - 1 && d[t]!.has(id))),
          );
          if (foreign.length > 0) {
            expect(closure.crossTenant.length).toBeGreaterThan(0);
            return;
          }
          expect(closure.crossTenant).toEqual([]);
          const withDownSets = new SubsetSql(plan, String(tenant), closure);
          const queriesOnly = new SubsetSql(plan, String(tenant), { down: closure.down, extras: closure.extras });
          // A backup reads each table in one pass from its parents' sets when the closure adds nothing.
          const onePass = [...closure.down.values(), ...closure.extras.values()].every((rows) => rows.length === 0)
            ? new SubsetSql(plan, String(tenant), { down: new Map(), extras: new Map(), downSets: await fetchDownSets(pg.session, plan, String(tenant)) })
            : undefined;
          for (const [t] of tables.entries()) {
            const expected = { table: t, ids: [...subset[t]!].sort((a, b) => a - b) };
            const selects = [withDownSets.select(name(t)), queriesOnly.select(name(t)), onePass?.selectDirect(name(t))];
            for (const select of selects.filter((sql, i) => i < 2 || sql !== undefined)) {
              const ids = select ? (await pg.session.query<{ id: number }>(`SELECT id FROM (${select}) s`)).rows.map((r) => r.id).sort((a, b) => a - b) : [];
              expect({ table: t, ids }).toEqual(expected);
            }
          }
        } finally {
          await pg.session.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        }
      }),
      { numRuns: 100 },
    );
  });
});
