import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliJson, runCli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import { createTestDatabase, type TestDatabase } from '../../../test/postgres.js';
import { SHOPS_SOURCE_SQL, shopsMigration } from '../../../test/shops-migration.js';

/** `migrate run --all`, `status` of every tenant, `run --dry-run` and `diff` of runs after a source change, and `inspect`. */
describe('failsafe migrate run --all and --dry-run, status, diff, inspect', () => {
  let source: TestDatabase;
  let staging: TestDatabase;
  let work: { path: string; remove: () => Promise<void> };
  let migration: string;
  const leaks = trackLeaks();
  const migrate = (...args: string[]) => ['migrate', args[0]!, '-m', migration, '--staging', staging.url, ...args.slice(1)];

  beforeAll(async () => {
    [source, staging, work] = await Promise.all([createTestDatabase('migrate_report_src'), createTestDatabase('migrate_report_stage'), tempDir()]);
    migration = join(work.path, 'shops.mjs');
    await writeFile(migration, shopsMigration());
    const session = await source.connect();
    await session.query(SHOPS_SOURCE_SQL);
    await session.end();
  });
  afterAll(async () => {
    await Promise.all([source.drop(), staging.drop(), work.remove()]);
    await leaks.assertNoLeaks();
  });

  it('stages every tenant the tenants query lists, and reports each in status', async () => {
    const out = await cliJson<{ migration: string; tenants: { tenant: string; staged: { runId: string } }[] }>(
      ['--json', ...migrate('run', '--source', source.url, '--all', '--stage-only', '--concurrency', '2')],
      { env: source.env },
    );
    expect(out.migration).toBe('shops');
    expect(out.tenants.map((t) => t.tenant).sort()).toEqual(['1', '2', '3']);
    const status = await cliJson<{ tenants: { tenant: string; lastRun: { id: string }; datasets: { dataset: string; rowsRead: number; staged: number; done: boolean }[] }[] }>(
      ['--json', ...migrate('status')],
      { env: source.env },
    );
    expect(status.tenants.map((t) => t.tenant).sort()).toEqual(['1', '2', '3']);
    expect(status.tenants[0]!.datasets.find((d) => d.dataset === 'customer')).toMatchObject({ rowsRead: 20, staged: 20, done: true });
    const text = await cli(migrate('status', '--tenant', '2'), { env: source.env });
    expect(text).toMatch(/^tenant 2: last run \d+, ended /);
    expect(text).toMatch(/customer\s+20\s+20\s+0\s+done/);
  });

  it('shows what a restage changed: records added, changed field by field, and removed', async () => {
    const session = await source.connect();
    await session.query(`
      UPDATE customer SET tier = 'gold' WHERE shop_id = 1 AND no IN (3, 4);
      DELETE FROM customer WHERE shop_id = 1 AND no = 20;
      INSERT INTO customer VALUES (1, 21, 'Newcomer', 'basic');`);
    await session.end();
    const dryRun = await cli(migrate('run', '--source', source.url, '--tenant', '1', '--only', 'customer', '--stage-only', '--dry-run'), { env: source.env });
    expect(dryRun).toMatch(/tenant 1: dry run, nothing written or sent\nstaging would:/);
    expect(dryRun).toMatch(/customer\s+20\s+1\s+2\s+17\s+1\s+0/);
    expect(dryRun).not.toMatch(/^shop /m);
    const unchanged = await cliJson<{ tenants: { datasets: { dataset: string; staged: number }[] }[] }>(['--json', ...migrate('status', '--tenant', '1')], { env: source.env });
    expect(unchanged.tenants[0]!.datasets.find((d) => d.dataset === 'customer')!.staged).toBe(20);
    const restaged = await cli(migrate('run', '--source', source.url, '--tenant', '1', '--only', 'customer', '--stage-only'), { env: source.env });
    const run = /tenant 1: staged \(run (\d+)\)/.exec(restaged)![1]!;
    const diff = await cli(migrate('diff', run), { env: source.env });
    expect(diff).toContain(`tenant 1: what run ${run} changed in staging`);
    expect(diff).toContain('customer: 1 added, 2 changed, 1 removed');
    expect(diff).toContain('~ ["1","3"] tier: "basic" → "gold"');
    expect(diff).toContain('+ ["1","21"] {"shopId":{"$ref":["shop",["1"]]},"name":"Newcomer","tier":"basic"}');
    expect(diff).toContain('- ["1","20"] {"shopId":{"$ref":["shop",["1"]]},"name":"Customer 20","tier":"basic"}');
    expect(diff).not.toMatch(/^shop:/m);

    const runs = await cliJson<{ runs: { id: string; tenant: string }[] }>(['--json', ...migrate('inspect')], { env: source.env });
    const first = runs.runs.filter((r) => r.tenant === '1').map((r) => r.id).sort((a, b) => Number(a) - Number(b))[0]!;
    const span = await cliJson<{ changes: { change: string; key: string }[] }>(['--json', ...migrate('diff', first, run, '--dataset', 'customer')], { env: source.env });
    expect(span.changes.map((c) => `${c.change} ${c.key}`)).toEqual(['added ["1","21"]', 'removed ["1","20"]', 'changed ["1","3"]', 'changed ["1","4"]'].sort((a, b) => a.split(' ')[1]!.localeCompare(b.split(' ')[1]!)));

    const otherTenant = runs.runs.find((r) => r.tenant === '2')!.id;
    const mixed = await runCli(migrate('diff', otherTenant, run), { env: source.env });
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/runs \d+ and \d+ are of different tenants \(2, 1\)/);
    const unknown = await runCli(migrate('diff', '999999'), { env: source.env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no run 999999 of .*shops\.mjs in the staging database/);
  });

  it('inspects the staging tables and runs read-only queries, refusing writes', async () => {
    const overview = await cli(migrate('inspect'), { env: source.env });
    expect(overview).toMatch(/staging database: .*\(schema failsafe_migrate\)/);
    expect(overview).toMatch(/failsafe_migrate\.staged\s+\d+/);
    expect(overview).toMatch(/runs of shops \(newest first\):/);
    const counted = await cli(migrate('inspect', '--sql', "SELECT dataset, count(*) AS records FROM failsafe_migrate.staged WHERE tenant = '3' GROUP BY 1 ORDER BY 1"), { env: source.env });
    expect(counted).toMatch(/dataset\s+records\ncustomer\s+20\nshop\s+1\n\(2 rows\)/);
    const write = await runCli(migrate('inspect', '--sql', 'DELETE FROM failsafe_migrate.staged'), { env: source.env });
    expect(write.code).toBe(2);
    expect(write.stderr).toMatch(/--sql: cannot execute DELETE in a read-only transaction/);
    const after = await cli(migrate('inspect', '--sql', "SELECT count(*) FROM failsafe_migrate.staged WHERE tenant = '3'"), { env: source.env });
    expect(after).toMatch(/\n21\n/);
  });

  it("extracts from the migration's own source when no --source is given, and says so when it names none", async () => {
    const withSource = join(work.path, 'with-source.mjs');
    await writeFile(withSource, shopsMigration({ sourceEnv: 'SHOPS_SOURCE_URL' }));
    const plan = await cli(['migrate', 'plan', '-m', withSource, '--tenant', '2'], { env: { ...source.env, SHOPS_SOURCE_URL: source.url } });
    expect(plan).toMatch(/customer\s+shop\s+20/);
    const none = await runCli(['migrate', 'plan', '-m', migration, '--tenant', '2'], { env: source.env });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/missing --source URL \(the database to extract from; .*shops\.mjs names no source\)/);
  });

  it('refuses --all for a migration without a tenants query', async () => {
    const bare = join(work.path, 'bare.mjs');
    await writeFile(bare, shopsMigration({ tenants: false }));
    const result = await runCli(['migrate', 'run', '-m', bare, '--staging', staging.url, '--source', source.url, '--all', '--stage-only'], { env: source.env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--all: .*bare\.mjs has no tenants query/);
  });
});
