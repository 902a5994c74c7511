import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, runCli, spawnCli, collect, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import { createPagilaDatabase } from '../../../test/pagila.js';
import { createTestDatabase, type TestDatabase } from '../../../test/postgres.js';

describe('tenant escrow copies (Pagila, store = tenant)', () => {
  let source: TestDatabase;
  const targets: TestDatabase[] = [];
  let work: { path: string; remove: () => Promise<void> };
  const leaks = trackLeaks();
  const passwords = { STORE1_PASSWORD: 'store one secret', STORE2_PASSWORD: 'store two secret' };

  beforeAll(async () => {
    source = await createPagilaDatabase('escrow_src', { stores: 3, customersPerStore: 5, rentalsPerStore: 40 });
    work = await tempDir();
    await writeFile(
      join(work.path, 'failsafe.yaml'),
      [
        'sources:',
        '  rentals:',
        '    kind: postgres',
        `    url: ${source.url}`,
        '    tenancy: { root: public.store, key: store_id }',
        '    extra-foreign-keys:',
        '      - { from: "public.store (manager_staff_id)", to: "public.staff (staff_id)" }',
        'tenants:',
        '  one: { id: 1, repository: ./store-1, password-env: STORE1_PASSWORD }',
        '  two: { id: 2, repository: ./store-2, password-env: STORE2_PASSWORD }',
      ].join('\n'),
    );
    for (const [name, variable] of [['store-1', 'STORE1_PASSWORD'], ['store-2', 'STORE2_PASSWORD']] as const) {
      await cli(['init', '--repo', join(work.path, name)], { env: { FAILSAFE_PASSWORD: passwords[variable] } });
    }
  });
  afterAll(async () => {
    await Promise.all([source, ...targets].map((db) => db.drop()));
    await work.remove();
    await leaks.assertNoLeaks();
  });

  it("writes each tenant into its own repository under its own key, with none of another tenant's rows", async () => {
    const env = { ...source.env, ...passwords, FAILSAFE_PASSWORD: '' };
    const out = await cli(['backup', '--all-tenants'], { cwd: work.path, env });
    expect(out.match(/snapshot \w{8} saved: tenant \d of/g)).toHaveLength(2);

    // Store 2's password does not open store 1's repository.
    const wrong = await runCli(['snapshots', '--repo', join(work.path, 'store-1')], { env: { FAILSAFE_PASSWORD: passwords.STORE2_PASSWORD } });
    expect(wrong.code).toBe(12);

    // Decrypted, store 1's copy holds only store 1's customers, staff, inventory and rentals.
    const files = join(work.path, 'files-1');
    await cli(['restore', 'latest', '--repo', join(work.path, 'store-1'), '--target', files], { env: { FAILSAFE_PASSWORD: passwords.STORE1_PASSWORD } });
    const column = async (table: string, index: number) =>
      (await readFile(join(files, 'rentals', 'tables', `public.${table}.copy`), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => line.split('\t')[index]);
    expect(new Set(await column('customer', 1))).toEqual(new Set(['1']));
    expect(new Set(await column('staff', 5))).toEqual(new Set(['1']));
    expect(new Set(await column('inventory', 2))).toEqual(new Set(['1']));
    expect(await column('store', 0)).toEqual(['1']);
  });

  it("backs up the other tenants when one tenant's repository cannot be opened, and says which failed", async () => {
    const config = join(work.path, 'with-broken-tenant.yaml');
    const base = await readFile(join(work.path, 'failsafe.yaml'), 'utf8');
    // First in the list, so its repository is the one opened while nothing else runs yet.
    await writeFile(config, base.replace('tenants:\n', 'tenants:\n  zero: { id: 3, repository: ./no-such-repo, password-env: STORE1_PASSWORD }\n'));
    const result = await runCli(['backup', '--all-tenants', '--config', config], { cwd: work.path, env: { ...source.env, ...passwords, FAILSAFE_PASSWORD: '' } });
    expect(result.code).toBe(10);
    expect(result.stdout.match(/snapshot \w{8} saved: tenant \d of/g)).toHaveLength(2);
    expect(result.stderr).toMatch(/tenant zero: .*no-such-repo/);
    expect(result.stderr).toMatch(/1 of 3 backups failed: tenant zero/);
  });

  it('takes a consistent snapshot while the application keeps writing', async () => {
    const writer = await source.connect();
    let stop = false;
    let written = 0;
    const writes = (async () => {
      for (let id = 100_000; !stop; id++) {
        // A rental and its payment in one transaction: a torn snapshot would have one without the other.
        await writer.query(`BEGIN;
          INSERT INTO public.rental (rental_id, rental_date, inventory_id, customer_id, staff_id) VALUES (${id}, now(), 1, 1, 1);
          INSERT INTO public.payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date) VALUES (${id}, 1, 1, ${id}, 1, timestamptz '2022-03-01' + ${id - 100_000} * interval '1 second');
          COMMIT`);
        written++;
      }
    })();
    try {
      const env = { ...source.env, ...passwords };
      const backup = spawnCli(['backup', '--source', 'rentals', '--tenant', 'one', '--jobs', '3'], { cwd: work.path, env });
      backup.stdin?.end();
      const result = await collect(backup);
      expect(result.code, result.stderr).toBe(0);
    } finally {
      stop = true;
      await writes;
      await writer.end();
    }
    expect(written).toBeGreaterThan(0);
    const target = await createTestDatabase('escrow_dst');
    targets.push(target);
    // Restoring creates every foreign key (which would fail on a torn snapshot) and verifies them.
    const restored = await cli(['restore', 'latest', '--repo', join(work.path, 'store-1'), '--postgres', target.url], {
      env: { ...target.env, FAILSAFE_PASSWORD: passwords.STORE1_PASSWORD },
    });
    expect(restored).toMatch(/verified: .* foreign keys hold/);
    const session = await target.connect();
    try {
      const { rows } = await session.query<{ rentals: string; payments: string }>(
        'SELECT (SELECT count(*) FROM public.rental WHERE rental_id >= 100000) AS rentals, (SELECT count(*) FROM public.payment WHERE payment_id >= 100000) AS payments',
      );
      expect(rows[0]!.rentals).toBe(rows[0]!.payments);
    } finally {
      await session.end();
    }
  });
});
