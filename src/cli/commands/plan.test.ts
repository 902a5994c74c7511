import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliJson, runCli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import { createPagilaDatabase } from '../../../test/pagila.js';
import type { TestDatabase } from '../../../test/postgres.js';
import type { PlanReport } from '../../sources/postgres/plan-report.js';

describe('failsafe plan (Pagila, store as the tenant)', () => {
  let db: TestDatabase;
  let work: { path: string; remove: () => Promise<void> };
  const leaks = trackLeaks();

  beforeAll(async () => {
    db = await createPagilaDatabase('plan_cli', { stores: 3, customersPerStore: 4, rentalsPerStore: 30 });
    work = await tempDir();
    await writeFile(
      join(work.path, 'failsafe.yaml'),
      [
        'sources:',
        '  rentals:',
        '    kind: postgres',
        `    url: ${db.url}`,
        '    tenancy: { root: public.store, key: store_id }',
        '    tables:',
        '      public.film_actor: { include: whole }',
        '      public.actor: { include: whole }',
        '    extra-foreign-keys:',
        '      - { from: "public.store (manager_staff_id)", to: "public.staff (staff_id)" }',
        'tenants:',
        '  downtown: { id: 2 }',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await db.drop();
    await work.remove();
    await leaks.assertNoLeaks();
  });

  it('prints each table with its role, selection and reason, from the config and a tenant name', async () => {
    const out = await cli(['plan', '--tenant', 'downtown', '--count'], { cwd: work.path, env: db.env });
    expect(out).toMatch(/^tenant 2: public\.store where store_id = 2/);
    expect(out).toMatch(/public\.rental\s+tenant\s+30\s+/);
    expect(out).toMatch(/public\.film_actor\s+whole\s+\d+\s+rule: whole\n\s+where all rows/);
    expect(out).toMatch(/public\.category \(left-out\): references only|public\.category \(left-out\): no foreign-key path/);
  });

  it('gives the SQL per table with --json, from flags alone', async () => {
    const report = await cliJson<PlanReport>(
      ['plan', '--postgres', db.url, '--tenant-root', 'public.store', '--tenant', '1', '--count'],
      { env: db.env },
    );
    const payment = report.tables.find((t) => t.table === 'public.payment')!;
    expect(payment).toMatchObject({ role: 'tenant', rows: 30 });
    expect(payment.sql).toMatch(/^WITH .* ORDER BY t\."payment_date", t\."payment_id"$/);
  });

  it('fails with a report when a row references another tenant', async () => {
    const session = await db.connect();
    try {
      await session.query('UPDATE public.rental SET customer_id = 2 WHERE rental_id = 1');
      const result = await runCli(['plan', '--tenant', '1'], { cwd: work.path, env: db.env });
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/public\.customer \(customer_id=2\) of tenant 2, referenced through public\.rental\.customer_id → public\.customer/);
    } finally {
      await session.query('UPDATE public.rental SET customer_id = 1 WHERE rental_id = 1');
      await session.end();
    }
  });

  it('refuses bad input with one line', async () => {
    const unknown = await runCli(['plan', '--tenant', '99'], { cwd: work.path, env: db.env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no tenant 99: public\.store has no row with store_id = 99/);

    const withPassword = await runCli(['plan', '--postgres', db.url.replace('postgres@', 'postgres:secret@'), '--tenant-root', 'public.store', '--tenant', '1']);
    expect(withPassword.code).toBe(2);
    expect(withPassword.stderr).toMatch(/contains a password/);
    expect(withPassword.stderr).not.toMatch(/secret/);

    const down = await runCli(['plan', '--postgres', 'postgres://postgres@127.0.0.1:1/x', '--tenant-root', 'public.store', '--tenant', '1']);
    expect(down.code).not.toBe(0);
    expect(down.stderr).toMatch(/cannot reach PostgreSQL at 127\.0\.0\.1:1/);

    const typo = await runCli(['plan', '--postgres', db.url, '--tenant-root', 'public.stores', '--tenant', '1'], { env: db.env });
    expect(typo.stderr).toMatch(/no table public\.stores in the database \(did you mean "public\.store"\?\)/);
  });
});
