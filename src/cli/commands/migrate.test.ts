import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, runCli, tempDir } from '../../../test/cli.js';
import { createLegacyDatabase, EXAMPLE_MIGRATION } from '../../../test/concierge-example.js';
import { trackLeaks } from '../../../test/leak-check.js';
import { createTestDatabase, type TestDatabase } from '../../../test/postgres.js';
import { startTargetApi } from '../../../examples/concierge-migration/target-api.js';


/** The reference example's migration on its legacy schema: plan, stage, resume, status, and bad input. */
describe('failsafe migrate', () => {
  let source: TestDatabase;
  let staging: TestDatabase;
  const api = {} as { db: TestDatabase };
  const leaks = trackLeaks();
  const migration = EXAMPLE_MIGRATION;
  const env = (): Record<string, string> => source.env;

  beforeAll(async () => {
    [source, staging, api.db] = await Promise.all([createLegacyDatabase('migrate_cli_src'), createTestDatabase('migrate_cli_stage'), createTestDatabase('migrate_cli_api')]);
  });
  afterAll(async () => {
    await Promise.all([source, staging, api.db].map((db) => db.drop()));
    await leaks.assertNoLeaks();
  });

  it("plans the datasets in order with one tenant's source rows", async () => {
    const out = await cli(['migrate', 'plan', '-m', migration, '--source', source.url, '--tenant', '1'], { env: env() });
    expect(out).toMatch(/migration migration, tenant 1: 5 datasets in this order/);
    expect(out.split('\n').filter((line) => /^(hotel|guest|preference|vendor|task) /.test(line)).map((line) => line.split(/\s{2,}/)[0])).toEqual([
      'hotel',
      'guest',
      'preference',
      'vendor',
      'task',
    ]);
    expect(out).toMatch(/preference\s+guest\s+81/);
  });

  it('stages a tenant, keeps what is staged on a rerun, restages a dataset and its dependants with --only D+', async () => {
    const run = (...extra: string[]) => cli(['migrate', 'run', '-m', migration, '--source', source.url, '--staging', staging.url, '--tenant', '1', '--stage-only', ...extra], { env: env() });
    const first = await run();
    expect(first).toMatch(/tenant 1: staged/);
    expect(first).toMatch(/guest\s+staged\s+40\s+38\s+2/);
    expect(first).toMatch(/task\s+staged\s+61\s+57\s+4/);
    const again = await run();
    expect(again).toMatch(/guest\s+kept\s+40\s+38\s+2/);
    const only = await run('--only', 'guest+');
    expect(only).toMatch(/hotel\s+kept/);
    expect(only).toMatch(/vendor\s+kept/);
    expect(only).toMatch(/preference\s+staged/);
    const status = JSON.parse(await cli(['--json', 'migrate', 'status', '-m', migration, '--staging', staging.url, '--tenant', '1'], { env: env() })) as {
      datasets: { dataset: string; staged: number; rejected: number; done: boolean }[];
    };
    expect(status.datasets.find((d) => d.dataset === 'preference')).toEqual({ dataset: 'preference', staged: 76, rejected: 5, done: true });
    const errors = await cli(['migrate', 'errors', '-m', migration, '--staging', staging.url, '--tenant', '1', '--dataset', 'guest'], { env: env() });
    expect(errors).toBe(
      'tenant 1: 2 records not staged or loaded\n' +
        '  guest ["1","13"]: transform failed: guest has no last name\n' +
        '  guest ["1","14"]: reference to guest ["1","13"]: no such record staged\n',
    );
  });

  it('stages the tenants of a file, several at once', async () => {
    const work = await tempDir();
    try {
      const list = join(work.path, 'hotels.txt');
      await writeFile(list, '# hotels moving this week\n1\n\n2\n');
      const out = await cli(['migrate', 'run', '-m', migration, '--source', source.url, '--staging', staging.url, '--tenants', list, '--concurrency', '2', '--stage-only'], { env: env() });
      expect(out).toMatch(/tenant 1: staged/);
      expect(out).toMatch(/tenant 2: staged[^]*guest\s+staged\s+8\s+8\s+0/);
    } finally {
      await work.remove();
    }
  });

  it('loads a tenant into the reference API: references become target ids, a refused record is a dead letter, a rerun sends nothing, a changed row is an update', async () => {
    const apiSession = await api.db.connect();
    try {
      const target = await startTargetApi(apiSession, { ratePerSecond: 2000 });
      try {
        const run = (...extra: string[]) =>
          cli(['migrate', 'run', '-m', migration, '--source', source.url, '--staging', staging.url, '--tenant', '1', ...extra], { env: { ...env(), CONCIERGE_API_URL: target.url } });
        const first = await run();
        expect(first).toMatch(/tenant 1: loaded into reference/);
        expect(first).toMatch(/guest\s+38\s+0\s+0\s+0/);
        expect(first).toMatch(/vendor\s+2\s+0\s+1\s+0/);
        const kinds = async (): Promise<Record<string, number>> =>
          Object.fromEntries((await apiSession.query<{ kind: string; n: number }>('SELECT kind, count(*)::int AS n FROM api_record GROUP BY kind')).rows.map((row) => [row.kind, row.n]));
        expect(await kinds()).toEqual({ hotels: 1, guests: 38, preferences: 76, vendors: 2, tasks: 56 });
        const { rows: referred } = await apiSession.query<{ ok: boolean }>(
          `SELECT bool_and(EXISTS (SELECT 1 FROM api_record h WHERE h.kind = 'hotels' AND h.id = (g.body->>'hotelId')::bigint)) AS ok FROM api_record g WHERE g.kind = 'guests'`,
        );
        expect(referred[0]!.ok).toBe(true);
        const errors = await cli(['migrate', 'errors', '-m', migration, '--staging', staging.url, '--tenant', '1', '--dataset', 'vendor'], { env: env() });
        expect(errors).toMatch(/vendor \["1","LIMO"\] → reference: the target answered HTTP 422/);
        // The task for that vendor waits in dead letter instead of going with a missing reference.
        expect(first).toMatch(/task\s+56\s+0\s+1\s+0/);
        const taskErrors = await cli(['migrate', 'errors', '-m', migration, '--staging', staging.url, '--tenant', '1', '--dataset', 'task'], { env: env() });
        expect(taskErrors).toMatch(/task \["1","61"\] → reference: a record it refers to was not loaded \(rejected, or never staged\)/);

        const again = await run();
        expect(again).toMatch(/task\s+0\s+0\s+0\s+0/);
        expect(await kinds()).toEqual({ hotels: 1, guests: 38, preferences: 76, vendors: 2, tasks: 56 });

        const legacy = await source.connect();
        await legacy.query("UPDATE gc_guest SET last_nm = 'Renamed' WHERE property_id = 1 AND guest_no = 2");
        await legacy.end();
        const changed = await run('--only', 'guest');
        expect(changed).toMatch(/guest\s+0\s+1\s+0\s+0/);
        const { rows } = await apiSession.query<{ last: string; updated: number }>("SELECT body->>'lastName' AS last, updated FROM api_record WHERE kind = 'guests' AND body->>'firstName' = 'Guest2'");
        expect(rows).toEqual([{ last: 'Renamed', updated: 1 }]);

        // The refused vendor gets a name at the source: restaged, then sent again.
        const fix = await source.connect();
        await fix.query("UPDATE gc_vendor SET vendor_nm = 'Limousines Ltd' WHERE vendor_cd = 'LIMO'");
        await fix.end();
        await run('--only', 'vendor', '--stage-only');
        const redriven = await cli(['migrate', 'redrive', '-m', migration, '--staging', staging.url, '--tenant', '1', '--dataset', 'vendor'], { env: { ...env(), CONCIERGE_API_URL: target.url } });
        expect(redriven).toMatch(/tenant 1: 1 refused record sent again/);
        expect(redriven).toMatch(/vendor\s+1\s+0\s+0\s+0/);
        expect((await kinds()).vendors).toBe(3);
      } finally {
        await target.close();
      }
    } finally {
      await apiSession.end();
    }
  });

  it('stops a load that goes over its error budget: exit 3, naming the dataset and the budget', async () => {
    const work = await tempDir();
    const apiSession = await api.db.connect();
    const target = await startTargetApi(apiSession);
    try {
      // The example with a budget of no refused vendors: its nameless vendor stops the load.
      const strict = join(work.path, 'strict.ts');
      await writeFile(
        strict,
        `import base from ${JSON.stringify(EXAMPLE_MIGRATION)};\n` +
          'const vendor = base.datasets.vendor;\n' +
          'export default { ...base, datasets: { ...base.datasets, vendor: { ...vendor, load: { ...vendor.load, maxRejected: 0 } } } };\n',
      );
      const result = await runCli(['migrate', 'run', '-m', strict, '--source', source.url, '--staging', staging.url, '--tenant', '2'], { env: { ...env(), CONCIERGE_API_URL: target.url } });
      expect(result.code).toBe(0);
      const legacy = await source.connect();
      await legacy.query("INSERT INTO gc_vendor VALUES (2, 'NONAME', '', NULL, NULL, NULL, NULL)");
      await legacy.end();
      const over = await runCli(['migrate', 'run', '-m', strict, '--source', source.url, '--staging', staging.url, '--tenant', '2', '--only', 'vendor'], { env: { ...env(), CONCIERGE_API_URL: target.url } });
      expect(over.code).toBe(3);
      expect(over.stderr).toMatch(/load dataset vendor of tenant 2 into reference: the target refused 1 of 1 records of dataset vendor, over its budget of 0; the load stopped/);
    } finally {
      await target.close();
      await apiSession.end();
      await work.remove();
      const legacy = await source.connect();
      await legacy.query("DELETE FROM gc_vendor WHERE vendor_cd = 'NONAME'");
      await legacy.end();
    }
  });

  it("resets a tenant's staging, or a target's load state, only with --yes", async () => {
    const reset = (...extra: string[]) => runCli(['migrate', 'reset', '-m', migration, '--staging', staging.url, '--tenant', '2', ...extra], { env: env() });
    const asked = await reset();
    expect(asked.code).toBe(2);
    expect(asked.stdout).toMatch(/would forget, for tenant\(s\) 2: staged records, checkpoints and staging dead letters\ngive --yes to do it/);
    const done = await reset('--yes');
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/tenant 2: forgot (\d+) staged, 5 stage_progress, 0 dead_letter/);
    const status = await cli(['migrate', 'status', '-m', migration, '--staging', staging.url, '--tenant', '2'], { env: env() });
    expect(status).toMatch(/guest\s+0\s+0\s+not staged/);
    const target = await reset('--target', 'reference', '--yes');
    expect(target.stdout).toMatch(/tenant 2: forgot \d+ key_map, \d+ load_batch, \d+ dead_letter/);
  });

  it('refuses a misspelled dataset, an unknown target, and a migration that does not load, each in one line', async () => {
    const base = ['migrate', 'run', '--source', source.url, '--staging', staging.url, '--tenant', '1'];
    const typo = await runCli([...base, '-m', migration, '--stage-only', '--only', 'gest'], { env: env() });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/--only gest: no dataset gest in/);
    const noTarget = await runCli([...base, '-m', migration, '--target', 'prod'], { env: env() });
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toMatch(/--target prod: no such target in .*migration\.ts \(targets: reference\)/);
    const work = await tempDir();
    try {
      const missing = await runCli([...base, '-m', join(work.path, 'nope.ts'), '--stage-only'], { env: env() });
      expect(missing.code).toBe(2);
      expect(missing.stderr.trim().split('\n')).toHaveLength(1);
      expect(missing.stderr).toMatch(/migration file .*nope\.ts does not exist/);
    } finally {
      await work.remove();
    }
  });
});
