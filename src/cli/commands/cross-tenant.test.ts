import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, runCli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import { createPagilaDatabase } from '../../../test/pagila.js';
import { createTestDatabase, type TestDatabase } from '../../../test/postgres.js';
import { createHotelSaas, CROSS_TENANT_REFERENCE } from '../../demo/hotel-saas/index.js';

/** Rental 1 belongs to store 1 but its customer (2) to store 2; payment 1 pays for rental 1. */
describe('cross-tenant references: fail, nullify, skip-row', () => {
  let source: TestDatabase;
  const targets: TestDatabase[] = [];
  let work: { path: string; remove: () => Promise<void> };
  let repo: string;
  const leaks = trackLeaks();

  beforeAll(async () => {
    source = await createPagilaDatabase('cross_src', { stores: 2, customersPerStore: 4, rentalsPerStore: 20, crossTenantRental: true });
    work = await tempDir();
    repo = join(work.path, 'repo');
    await cli(['init', '--repo', repo]);
  });
  afterAll(async () => {
    await Promise.all([source, ...targets].map((db) => db.drop()));
    await work.remove();
    await leaks.assertNoLeaks();
  });

  const backup = (...extra: string[]) =>
    runCli(['backup', '--repo', repo, '--postgres', source.url, '--tenant-root', 'public.store', '--tenant', '1', ...extra], { env: source.env });

  async function restoreAndCount(): Promise<{ rentals: number; payments: number; nullCustomers: number }> {
    const target = await createTestDatabase('cross_dst');
    targets.push(target);
    const out = await cli(['restore', 'latest', '--tenant', '1', '--repo', repo, '--postgres', target.url], { env: target.env });
    expect(out).toMatch(/verified: .* foreign keys hold/);
    const session = await target.connect();
    try {
      const { rows } = await session.query<{ rentals: string; payments: string; null_customers: string }>(
        `SELECT (SELECT count(*) FROM public.rental) AS rentals, (SELECT count(*) FROM public.payment) AS payments,
                (SELECT count(*) FROM public.rental WHERE customer_id IS NULL) AS null_customers`,
      );
      return { rentals: Number(rows[0]!.rentals), payments: Number(rows[0]!.payments), nullCustomers: Number(rows[0]!.null_customers) };
    } finally {
      await session.end();
    }
  }

  it('fails by default, naming the row, and stores nothing', async () => {
    const result = await backup();
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/tenant 1 references rows of other tenants \(1\), e\.g\. public\.customer \(customer_id=2\) of tenant 2/);
    expect(await cli(['snapshots', '--repo', repo])).toMatch(/no snapshots|0 snapshots/);
  });

  it('nullify refuses a NOT NULL column, then writes NULL where the column allows it', async () => {
    const refused = await backup('--on-cross-tenant', 'nullify');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/cannot write NULL into public\.rental\.customer_id \(NOT NULL\)/);

    const session = await source.connect();
    await session.query('ALTER TABLE public.rental ALTER COLUMN customer_id DROP NOT NULL');
    await session.end();
    const out = await backup('--on-cross-tenant', 'nullify');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/references to 1 other tenants' row written as NULL/);
    expect(await restoreAndCount()).toEqual({ rentals: 20, payments: 20, nullCustomers: 1 });
  });

  it("skip-row leaves out the rental and the payment that depends on it", async () => {
    const out = await backup('--on-cross-tenant', 'skip-row');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/2 rows referencing other tenants left out/);
    expect(await restoreAndCount()).toEqual({ rentals: 19, payments: 19, nullCustomers: 0 });
  });
});

/**
 * A booking of hotel 1 names a guest of hotel 2. Hotel 2's bookings are read by their hotel_id, so the
 * count of bookings reached through guest_id is what notices the other one (then the tables are read the
 * long way and the closure names the row).
 */
describe('cross-tenant references reached through a key other than the tenant id', () => {
  let source: TestDatabase;
  let target: TestDatabase | undefined;
  let work: { path: string; remove: () => Promise<void> };
  let repo: string;
  const leaks = trackLeaks();
  const { tenantId, references } = CROSS_TENANT_REFERENCE;

  beforeAll(async () => {
    source = await createTestDatabase('cross_hotel_src');
    const session = await source.connect();
    try {
      await createHotelSaas(session, { scale: 1, hotels: 3, crossTenantReference: true });
    } finally {
      await session.end();
    }
    work = await tempDir();
    repo = join(work.path, 'repo');
    await cli(['init', '--repo', repo]);
  });
  afterAll(async () => {
    await Promise.all([source, target].map((db) => db?.drop()));
    await work.remove();
    await leaks.assertNoLeaks();
  });

  const backup = (...extra: string[]) =>
    runCli(['backup', '--repo', repo, '--postgres', source.url, '--tenant-root', 'public.hotel', '--tenant', String(references.tenantId), ...extra], {
      env: source.env,
    });

  it('fails by default, naming the other hotel', async () => {
    const result = await backup();
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(new RegExp(`tenant ${references.tenantId} references rows of other tenants .*public\\.hotel \\(id=${tenantId}\\)`));
  });

  it("with root-key ownership the booking is its hotel's: the other hotel's copy leaves it out, its own hotel's names the guest", async () => {
    const out = await backup('--tenant-ownership', 'root-key');
    expect(out.code, out.stderr).toBe(0);
    const manifest = await cli(['restore', 'latest', '--repo', repo, '--stdout', '--file', `/${source.name}/manifest.json`]);
    const { tenant, tables } = JSON.parse(manifest) as { tenant: { ownership?: string }; tables: { name: string; rows: number }[] };
    expect(tenant.ownership).toBe('root-key');
    const session = await source.connect();
    try {
      const { rows } = await session.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.booking WHERE hotel_id = ${references.tenantId}`);
      expect(tables.find((t) => t.name === 'public.booking')!.rows).toBe(rows[0]!.n);
    } finally {
      await session.end();
    }

    const ownHotel = await runCli(['backup', '--repo', repo, '--postgres', source.url, '--tenant-root', 'public.hotel', '--tenant', String(tenantId), '--tenant-ownership', 'root-key'], {
      env: source.env,
    });
    expect(ownHotel.code).toBe(3);
    expect(ownHotel.stderr).toMatch(new RegExp(`tenant ${tenantId} references rows of other tenants .*public\\.guest \\(id=\\d+\\) of tenant ${references.tenantId}`));
  });

  it('takes the ownership rule from the source\'s tenancy, and --tenant-ownership overrides it', async () => {
    const config = join(work.path, 'failsafe.yaml');
    await writeFile(
      config,
      ['sources:', '  hotels:', '    kind: postgres', `    url: ${source.url}`, '    tenancy: { root: public.hotel, key: id, ownership: root-key }'].join('\n'),
    );
    const configured = (...extra: string[]) =>
      runCli(['backup', '--repo', repo, '--config', config, '--source', 'hotels', '--tenant', String(references.tenantId), ...extra], { env: source.env });
    const rootKey = await configured();
    expect(rootKey.code, rootKey.stderr).toBe(0);
    const reach = await configured('--tenant-ownership', 'reach');
    expect(reach.code).toBe(3);
    expect(reach.stderr).toMatch(/references rows of other tenants/);
  });

  it('skip-row leaves the other hotel\'s booking out, and the restored copy holds', async () => {
    const out = await backup('--on-cross-tenant', 'skip-row');
    expect(out.code, out.stderr).toBe(0);
    target = await createTestDatabase('cross_hotel_dst');
    const restored = await cli(['restore', 'latest', '--tenant', String(references.tenantId), '--repo', repo, '--postgres', target.url], { env: target.env });
    expect(restored).toMatch(/verified: .* foreign keys hold/);
    const session = await target.connect();
    try {
      const { rows } = await session.query<{ hotels: string }>('SELECT count(DISTINCT hotel_id)::text AS hotels FROM public.booking');
      expect(rows[0]!.hotels).toBe('1');
    } finally {
      await session.end();
    }
  });
});
