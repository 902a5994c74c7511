import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/postgres.js';
import { PAGILA_MANAGER_KEY, fillPagila, loadPagilaSchema } from '../../../test/pagila.js';
import type { PgSession } from '../../postgres/connection.js';
import { quoteIdent } from '../../postgres/catalog.js';
import { readTableGraph, type TableGraph } from '../../postgres/catalog.js';
import { SubsetSql } from './subset-sql.js';
import { closeSubset } from './tenant-closure.js';
import { planTenancy, type TenancyRules, type TenantPlan } from './tenant-plan.js';

const STORE_RULES: TenancyRules = { root: 'public.store', key: 'store_id', extraForeignKeys: [PAGILA_MANAGER_KEY] };

describe('tenant plan on Pagila (store = tenant)', () => {
  let db: TestDatabase;
  let session: PgSession;
  let graph: TableGraph;
  beforeAll(async () => {
    db = await createTestDatabase('plan');
    session = await db.connect();
    await loadPagilaSchema(session);
    await fillPagila(session, { stores: 3, customersPerStore: 5, rentalsPerStore: 40 });
    graph = await readTableGraph(session);
  });
  afterAll(async () => {
    await session.end();
    await db.drop();
  });

  it('reads partitioned payment as one table with its partition-level keys lifted', () => {
    const payment = graph.tables.get('public.payment')!;
    expect(payment.partitioned).toBe(true);
    expect(payment.key).toEqual(['payment_date', 'payment_id']);
    expect([...graph.tables.keys()].some((name) => name.startsWith('public.payment_p'))).toBe(false);
    const paymentKeys = graph.foreignKeys.filter((fk) => fk.from === 'public.payment').map((fk) => fk.to).sort();
    expect(paymentKeys).toEqual(['public.customer', 'public.rental', 'public.staff']);
  });

  it('assigns roles: tenant tables down from store, lookups shared, unrelated tables left out with a reason', () => {
    const plan = planTenancy(graph, STORE_RULES);
    const roles = Object.fromEntries(plan.tables.map((t) => [t.table.name, t.role]));
    expect(roles).toMatchObject({
      'public.store': 'root',
      'public.staff': 'tenant',
      'public.customer': 'tenant',
      'public.inventory': 'tenant',
      'public.rental': 'tenant',
      'public.payment': 'tenant',
      'public.address': 'shared',
      'public.city': 'shared',
      'public.country': 'shared',
      'public.film': 'shared',
      'public.language': 'shared',
      'public.film_actor': 'left-out',
      'public.actor': 'left-out',
    });
    const rental = plan.tables.find((t) => t.table.name === 'public.rental')!;
    expect(rental.reason).toMatch(/public\.rental\.\w+ → public\.\w+, public\.\w+\.store_id → public\.store/);
    expect(plan.tables.find((t) => t.table.name === 'public.film_actor')!.reason).toMatch(/mark it "whole"/);
    expect(plan.tables[0]!.table.name).toBe('public.store');
  });

  it('selects exactly one store\'s rows, and every foreign key holds inside the subset', async () => {
    const plan = planTenancy(graph, STORE_RULES);
    const closure = await closeSubset(session, plan, '1');
    expect(closure.crossTenant).toEqual([]);
    const sql = new SubsetSql(plan, '1', closure);
    const count = async (table: string) =>
      Number((await session.query<{ n: string }>(`SELECT count(*) AS n FROM (${sql.select(table)!}) s`)).rows[0]!.n);
    expect(await count('public.store')).toBe(1);
    expect(await count('public.staff')).toBe(2);
    expect(await count('public.customer')).toBe(5);
    expect(await count('public.rental')).toBe(40);
    expect(await count('public.payment')).toBe(40);
    await expectForeignKeysHold(session, plan, sql);
  });

  it('reports a cross-tenant reference with the row, the key that pulled it in and its owner', async () => {
    await session.query('BEGIN');
    try {
      await session.query('UPDATE public.rental SET customer_id = 2 WHERE rental_id = 1');
      const closure = await closeSubset(session, planTenancy(graph, STORE_RULES), '1');
      expect(closure.crossTenant).toEqual([
        { table: 'public.customer', row: { customer_id: '2' }, referencedBy: 'public.rental.customer_id → public.customer', owners: ['2'] },
      ]);
    } finally {
      await session.query('ROLLBACK');
    }
  });

  it('finds a cross-tenant reference through the configured extra key (a manager from another store)', async () => {
    await session.query('BEGIN');
    try {
      // Staff 5 works for store 2 and now manages store 1.
      await session.query('UPDATE public.store SET manager_staff_id = 5 WHERE store_id = 1');
      const plan = planTenancy(graph, STORE_RULES);
      const closure = await closeSubset(session, plan, '1');
      expect(closure.crossTenant.map((row) => [row.table, row.row, row.owners])).toEqual([['public.staff', { staff_id: '5' }, ['2']]]);
    } finally {
      await session.query('ROLLBACK');
    }
  });

  it('refuses rules that do not fit the schema with one clear line', () => {
    expect(() => planTenancy(graph, { root: 'public.stor', key: 'store_id' })).toThrow(
      /tenancy root: no table public.stor in the database \(did you mean "public.store"\?\)/,
    );
    expect(() => planTenancy(graph, { root: 'public.store', key: 'id' })).toThrow(/table public.store has no column "id"/);
    expect(() => planTenancy(graph, { root: 'public.store', key: 'store_id', tables: { 'public.address': 'exclude' } })).toThrow(
      /foreign key public\.\w+\.address_id → public\.address points into the excluded table public\.address/,
    );
    expect(() =>
      planTenancy(graph, { root: 'public.store', key: 'store_id', extraForeignKeys: [{ ...PAGILA_MANAGER_KEY, fromColumns: ['manager'] }] }),
    ).toThrow(/table public.store has no column "manager"/);
  });

  it('refuses a root table without a primary key, and a whole table that references tenant rows', async () => {
    const noKey = { ...graph, tables: new Map([...graph.tables].map(([name, table]) => [name, name === 'public.store' ? { ...table, key: [] } : table])) };
    expect(() => planTenancy(noKey, STORE_RULES)).toThrow(/tenancy root public.store has no primary key/);
    expect(() => planTenancy(graph, { ...STORE_RULES, tables: { 'public.rental': 'whole' } })).toThrow(
      /table public.rental is copied whole but references the tenant table public\.\w+/,
    );
  });
});

describe('tenant plan ownership rules', () => {
  let db: TestDatabase;
  let graph: TableGraph;
  beforeAll(async () => {
    db = await createTestDatabase('plan_ownership');
    const session = await db.connect();
    try {
      await session.query(`
        CREATE TABLE hotel (id int PRIMARY KEY);
        CREATE TABLE guest (id int PRIMARY KEY, hotel_id int NOT NULL REFERENCES hotel);
        CREATE TABLE booking (id int PRIMARY KEY, hotel_id int NOT NULL REFERENCES hotel, guest_id int REFERENCES guest);
        CREATE TABLE note (id int PRIMARY KEY, hotel_id int REFERENCES hotel, booking_id int REFERENCES booking)`);
      graph = await readTableGraph(session);
    } finally {
      await session.end();
    }
  });
  afterAll(async () => {
    await db.drop();
  });

  const edgesOf = (plan: TenantPlan, table: string): string[] =>
    plan.tables.find((t) => t.table.name === table)!.edges.map((fk) => fk.fromColumns.join(', ')).sort();

  it('reach: every key into a tenant table leads down', () => {
    const plan = planTenancy(graph, { root: 'public.hotel', key: 'id' });
    expect(edgesOf(plan, 'public.booking')).toEqual(['guest_id', 'hotel_id']);
    expect(edgesOf(plan, 'public.note')).toEqual(['booking_id', 'hotel_id']);
  });

  it('root-key: a NOT NULL key to the root alone leads down; a nullable one does not decide', () => {
    const plan = planTenancy(graph, { root: 'public.hotel', key: 'id', ownership: 'root-key' });
    expect(edgesOf(plan, 'public.booking')).toEqual(['hotel_id']);
    expect(plan.tables.find((t) => t.table.name === 'public.booking')!.reason).toBe('public.booking.hotel_id → public.hotel (root key: owns the row)');
    expect(edgesOf(plan, 'public.guest')).toEqual(['hotel_id']);
    expect(edgesOf(plan, 'public.note')).toEqual(['booking_id', 'hotel_id']);
    // The other keys still hold the subset together: the closure pulls up what they reference.
    expect(plan.foreignKeys.map((fk) => `${fk.from}.${fk.fromColumns.join(', ')}`)).toContain('public.booking.guest_id');
  });
});

/** Every foreign key between copied tables: no child row of the subset points outside the parent's subset. */
async function expectForeignKeysHold(session: PgSession, plan: TenantPlan, sql: SubsetSql): Promise<void> {
  for (const fk of plan.foreignKeys) {
    const child = sql.select(fk.from);
    const parent = sql.select(fk.to);
    if (!child || !parent) continue;
    const match = fk.fromColumns.map((c, i) => `p.${quoteIdent(fk.toColumns[i]!)} = c.${quoteIdent(c)}`).join(' AND ');
    const notNull = fk.fromColumns.map((c) => `c.${quoteIdent(c)} IS NOT NULL`).join(' AND ');
    const { rows } = await session.query<{ n: string }>(
      `SELECT count(*) AS n FROM (${child}) c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM (${parent}) p WHERE ${match})`,
    );
    expect(`${fk.name}: ${rows[0]!.n}`).toBe(`${fk.name}: 0`);
  }
}
