import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, runCli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import { createTestDatabase, type TestDatabase } from '../../../test/postgres.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/concierge-migration/', import.meta.url));

/** The reference example's migration on its legacy schema: plan, stage, resume, status, and bad input. */
describe('failsafe migrate', () => {
  let source: TestDatabase;
  let staging: TestDatabase;
  const leaks = trackLeaks();
  const migration = join(EXAMPLE, 'migration.ts');
  const env = (): Record<string, string> => source.env;

  beforeAll(async () => {
    [source, staging] = await Promise.all([createTestDatabase('migrate_cli_src'), createTestDatabase('migrate_cli_stage')]);
    const session = await source.connect();
    try {
      await session.query(await readFile(join(EXAMPLE, 'legacy-schema.sql'), 'utf8'));
    } finally {
      await session.end();
    }
  });
  afterAll(async () => {
    await Promise.all([source, staging].map((db) => db.drop()));
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
    expect(first).toMatch(/task\s+staged\s+60\s+56\s+4/);
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

  it('refuses without --stage-only, a misspelled dataset, and a migration that does not load, each in one line', async () => {
    const base = ['migrate', 'run', '--source', source.url, '--staging', staging.url, '--tenant', '1'];
    const noStageOnly = await runCli([...base, '-m', migration], { env: env() });
    expect(noStageOnly.code).toBe(2);
    expect(noStageOnly.stderr).toMatch(/loading into targets is not built yet: give --stage-only/);
    const typo = await runCli([...base, '-m', migration, '--stage-only', '--only', 'gest'], { env: env() });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/--only gest: no dataset gest in/);
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
