import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, runCli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import { createTestDatabase, type TestDatabase } from '../../../test/postgres.js';
import { SHOPS_SOURCE_SQL, SHOPS_TARGET_SQL, shopsMigration } from '../../../test/shops-migration.js';

/** `migrate run` into a PostgreSQL target: references become row ids, a rerun inserts nothing, changes update rows, bad data is a dead letter. */
describe('failsafe migrate into a PostgreSQL target', () => {
  let source: TestDatabase;
  let staging: TestDatabase;
  let warehouse: TestDatabase;
  let work: { path: string; remove: () => Promise<void> };
  let migration: string;
  const leaks = trackLeaks();
  const env = (): Record<string, string> => ({ ...source.env, WAREHOUSE_URL: warehouse.url });
  const run = (...extra: string[]) => cli(['migrate', 'run', '-m', migration, '--staging', staging.url, '--source', source.url, '--tenant', '1', ...extra], { env: env() });

  beforeAll(async () => {
    [source, staging, warehouse, work] = await Promise.all([
      createTestDatabase('migrate_pg_src'),
      createTestDatabase('migrate_pg_stage'),
      createTestDatabase('migrate_pg_target'),
      tempDir(),
    ]);
    migration = join(work.path, 'shops.mjs');
    await writeFile(migration, shopsMigration({ postgresTargetEnv: 'WAREHOUSE_URL' }));
    for (const [db, sql] of [[source, SHOPS_SOURCE_SQL], [warehouse, SHOPS_TARGET_SQL]] as const) {
      const session = await db.connect();
      await session.query(sql);
      await session.end();
    }
  });
  afterAll(async () => {
    await Promise.all([source.drop(), staging.drop(), warehouse.drop(), work.remove()]);
    await leaks.assertNoLeaks();
  });

  async function query<Row extends object>(db: TestDatabase, sql: string): Promise<Row[]> {
    const session = await db.connect();
    try {
      return (await session.query<Row>(sql)).rows;
    } finally {
      await session.end();
    }
  }

  it('inserts the rows with references as row ids, and a rerun inserts nothing', async () => {
    const first = await run();
    expect(first).toMatch(/tenant 1: loaded into warehouse\n[^]*customer\s+20\s+0\s+0\s+0/);
    const [shop] = await query<{ id: number; name: string }>(warehouse, 'SELECT id, name FROM shops');
    expect(shop!.name).toBe('Corner');
    expect(await query(warehouse, 'SELECT count(*)::int AS n, min(shop_id) AS shop, max(shop_id) AS same FROM customers')).toEqual([{ n: 20, shop: shop!.id, same: shop!.id }]);
    const again = await run();
    expect(again).toMatch(/customer\s+0\s+0\s+0\s+0/);
    expect(await query(warehouse, 'SELECT count(*)::int AS n FROM customers')).toEqual([{ n: 20 }]);
  });

  it('updates the rows of changed records, and makes a row the database refuses a dead letter', async () => {
    await query(source, "UPDATE customer SET tier = 'gold' WHERE shop_id = 1 AND no = 2; UPDATE customer SET tier = 'platinum' WHERE shop_id = 1 AND no = 3");
    const out = await run('--only', 'customer');
    expect(out).toMatch(/customer\s+0\s+1\s+1\s+0/);
    expect(await query(warehouse, "SELECT name, tier FROM customers WHERE name IN ('Customer 2', 'Customer 3') ORDER BY name")).toEqual([
      { name: 'Customer 2', tier: 'gold' },
      { name: 'Customer 3', tier: 'basic' },
    ]);
    const errors = await cli(['migrate', 'errors', '-m', migration, '--staging', staging.url, '--tenant', '1'], { env: env() });
    expect(errors).toMatch(/customer \["1","3"\] → warehouse: the target refused: .*violates check constraint "customers_tier_check" \(SQLSTATE 23514\)/);
  });

  it('refuses a migration whose datasets do not name tables for a PostgreSQL target, in one line', async () => {
    const noTable = join(work.path, 'no-table.mjs');
    await writeFile(noTable, shopsMigration({ postgresTargetEnv: 'WAREHOUSE_URL' }).replace("table: 'customers'", ''));
    const result = await runCli(['migrate', 'run', '-m', noTable, '--staging', staging.url, '--source', source.url, '--tenant', '1'], { env: env() });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/dataset customer has no load\.table, which target warehouse \(PostgreSQL\) needs/);
  });
});
