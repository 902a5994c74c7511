import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/postgres.js';
import type { PostgresTarget, TableLoadSpec } from './definition.js';
import { PostgresLoadTarget } from './postgres-target.js';

/** The PostgreSQL target on its own: ids in record order, idempotent batches and updates, refusals of bad data. */
describe('PostgresLoadTarget', () => {
  let db: TestDatabase;
  let target: PostgresLoadTarget;
  const specs: Record<string, TableLoadSpec> = {
    shop: { table: 'shop' },
    customer: { table: 'crm.customer', idColumn: 'customer_id' },
    note: { table: 'note' },
  };

  beforeAll(async () => {
    db = await createTestDatabase('pg_target');
    const session = await db.connect();
    await session.query(`
      CREATE TABLE shop (id serial PRIMARY KEY, name text NOT NULL);
      CREATE SCHEMA crm;
      CREATE TABLE crm.customer (customer_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, shop_id int NOT NULL REFERENCES shop, name text, tier text CHECK (tier IN ('basic', 'gold')));
      CREATE TABLE note (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), customer_id bigint REFERENCES crm.customer, body text);`);
    await session.end();
    const definition: PostgresTarget = { kind: 'postgres', url: db.url, concurrency: 2 };
    target = await PostgresLoadTarget.open('warehouse', definition, specs, { env: { ...process.env, ...db.env } });
  });
  afterAll(async () => {
    await target?.close();
    await db.drop();
  });

  async function rows(sql: string): Promise<Record<string, unknown>[]> {
    const session = await db.connect();
    try {
      return (await session.query<Record<string, unknown>>(sql)).rows;
    } finally {
      await session.end();
    }
  }

  it('inserts a batch, giving ids in record order, and answers a batch sent again with the same ids', async () => {
    const first = await target.create('shop', [{ name: 'Corner' }, { name: 'Harbour' }, { name: 'Market' }], 'batch-1');
    expect('ids' in first).toBe(true);
    const ids = (first as { ids: number[] }).ids;
    expect(await rows('SELECT id, name FROM shop ORDER BY id')).toEqual([
      { id: ids[0], name: 'Corner' },
      { id: ids[1], name: 'Harbour' },
      { id: ids[2], name: 'Market' },
    ]);
    expect(await target.create('shop', [{ name: 'Corner' }, { name: 'Harbour' }, { name: 'Market' }], 'batch-1')).toEqual(first);
    expect(await rows('SELECT count(*)::int AS n FROM shop')).toEqual([{ n: 3 }]);
  });

  it('refuses a batch whose data breaks a constraint, writing none of it, and updates rows by id', async () => {
    const [shop] = (await rows("SELECT id FROM shop WHERE name = 'Corner'")) as { id: number }[];
    const refused = await target.create('customer', [{ shop_id: shop!.id, name: 'Ann', tier: 'basic' }, { shop_id: shop!.id, name: 'Bo', tier: 'platinum' }], 'batch-2');
    expect(refused).toEqual({ refused: { error: expect.stringMatching(/violates check constraint "customer_tier_check" \(SQLSTATE 23514\)/) } });
    expect(await rows('SELECT count(*)::int AS n FROM crm.customer')).toEqual([{ n: 0 }]);
    const created = (await target.create('customer', [{ shop_id: shop!.id, name: 'Ann', tier: 'basic' }], 'batch-3')) as { ids: number[] };
    expect(await target.update('customer', created.ids[0]!, { shop_id: shop!.id, name: 'Ann', tier: 'gold' }, 'update-1')).toBeUndefined();
    expect(await target.update('customer', created.ids[0]!, { tier: 'platinum' }, 'update-2')).toEqual({ error: expect.stringMatching(/SQLSTATE 23514/) });
    expect(await target.update('customer', 999_999, { tier: 'gold' }, 'update-3')).toEqual({ error: expect.stringMatching(/no row of crm.customer has customer_id 999999/) });
    expect(await rows('SELECT name, tier FROM crm.customer')).toEqual([{ name: 'Ann', tier: 'gold' }]);
  });

  it('inserts rows one by one into a table whose id has no sequence, and refuses a field that is no column', async () => {
    const [customer] = (await rows('SELECT customer_id FROM crm.customer')) as { customer_id: string }[];
    const created = (await target.create('note', [{ customer_id: customer!.customer_id, body: 'likes tea' }, { customer_id: customer!.customer_id, body: 'no calls' }], 'batch-4')) as { ids: string[] };
    expect(await rows('SELECT id::text, body FROM note ORDER BY body')).toEqual(
      [
        { id: created.ids[0], body: 'likes tea' },
        { id: created.ids[1], body: 'no calls' },
      ].sort((a, b) => a.body.localeCompare(b.body)),
    );
    await expect(target.create('note', [{ customerId: 1, body: 'x' }], 'batch-5')).rejects.toThrow(/dataset note: record field customerId is no column of note \(its columns: id, customer_id, body\)/);
  });

  it('refuses to open for a table the database does not have', async () => {
    await expect(PostgresLoadTarget.open('warehouse', { kind: 'postgres', url: db.url }, { shop: { table: 'shops' } }, { env: { ...process.env, ...db.env } })).rejects.toThrow(
      /target warehouse: dataset shop loads into table shops, which the target database does not have/,
    );
  });
});
