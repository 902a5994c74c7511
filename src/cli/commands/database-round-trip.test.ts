import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliJson, runCli, tempDir, TEST_PASSWORD } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import { createPagilaDatabase } from '../../../test/pagila.js';
import { createTestDatabase, type TestDatabase } from '../../../test/postgres.js';
import type { Snapshot } from '../../repository/snapshot.js';

/** Rows per table, for comparing two databases. */
async function rowCounts(db: TestDatabase): Promise<Record<string, number>> {
  const session = await db.connect();
  try {
    const { rows } = await session.query<{ name: string }>(
      `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = 'public' ORDER BY 1`,
    );
    const counts: Record<string, number> = {};
    for (const { name } of rows) {
      counts[name] = Number((await session.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`)).rows[0]!.n);
    }
    return counts;
  } finally {
    await session.end();
  }
}

describe('database backup and restore (Pagila)', () => {
  let source: TestDatabase;
  const targets: TestDatabase[] = [];
  let work: { path: string; remove: () => Promise<void> };
  let repo: string;
  let env: Record<string, string>;
  const leaks = trackLeaks();

  beforeAll(async () => {
    source = await createPagilaDatabase('roundtrip_src', { stores: 3, customersPerStore: 6, rentalsPerStore: 50 });
    work = await tempDir();
    repo = join(work.path, 'repo');
    env = source.env;
    await cli(['init', '--repo', repo]);
  });
  afterAll(async () => {
    await Promise.all([source, ...targets].map((db) => db.drop()));
    await work.remove();
    await leaks.assertNoLeaks();
  });

  async function emptyTarget(): Promise<TestDatabase> {
    const db = await createTestDatabase('roundtrip_dst');
    targets.push(db);
    return db;
  }

  it('backs up the whole database and restores it verified, row for row', async () => {
    const out = await cli(['backup', '--repo', repo, '--postgres', source.url, '--jobs', '2'], { env });
    expect(out).toMatch(/snapshot \w{8} saved: database roundtrip_src_\w+, \d+ tables, [\d,]+ rows/);
    const target = await emptyTarget();
    const restored = await cli(['restore', 'latest', '--repo', repo, '--postgres', target.url], { env });
    expect(restored).toMatch(/verified: \d+ tables match the snapshot \(rows and checksums\), \d+ foreign keys hold/);
    expect(await rowCounts(target)).toEqual(await rowCounts(source));
    // The tables the restore created were loaded frozen (payment is partitioned: its rows are routed).
    const session = await target.connect();
    try {
      await session.query('CREATE EXTENSION pg_visibility');
      const unfrozen = async (table: string): Promise<number> =>
        Number((await session.query<{ n: string }>(`SELECT count(*) AS n FROM pg_visibility_map('${table}') WHERE NOT all_frozen`)).rows[0]!.n);
      expect(await unfrozen('public.rental')).toBe(0);
      expect(await unfrozen('public.customer')).toBe(0);
    } finally {
      await session.end();
    }
  });

  it('restores rows into existing tables with --data-only, keeping the rows they hold', async () => {
    const target = await emptyTarget();
    await cli(['restore', 'latest', '--repo', repo, '--postgres', target.url, '--schema-only'], { env });
    const session = await target.connect();
    try {
      await session.query("INSERT INTO public.language (language_id, name) VALUES (1000, 'Klingon')");
      const restored = await runCli(['restore', 'latest', '--repo', repo, '--postgres', target.url, '--data-only', '--table', 'public.language'], { env });
      expect(restored.code).toBe(3);
      expect(restored.stderr).toMatch(/verify: table public\.language: \d+ rows, expected \d+/);
      const { rows } = await session.query<{ name: string }>('SELECT name FROM public.language WHERE language_id = 1000');
      expect(rows.map((row) => row.name.trim())).toEqual(['Klingon']);
    } finally {
      await session.end();
    }
  });

  it('backs up one store and restores only its rows, every foreign key satisfied', async () => {
    await cli(['backup', '--repo', repo, '--postgres', source.url, '--tenant-root', 'public.store', '--tenant', '2'], { env });
    const snapshots = await cliJson<Snapshot[]>(['snapshots', '--repo', repo, '--tenant', '2'], { env });
    expect(snapshots).toHaveLength(1);
    const target = await emptyTarget();
    const restored = await cli(['restore', 'latest', '--tenant', '2', '--repo', repo, '--postgres', target.url], { env });
    expect(restored).toMatch(/verified: /);
    const counts = await rowCounts(target);
    expect(counts).toMatchObject({ 'public.store': 1, 'public.staff': 2, 'public.customer': 6, 'public.rental': 50, 'public.payment': 50 });
    expect(counts['public.actor']).toBe(0);
  });

  it('refuses a database that is not empty, and verify finds a changed row (exit 3)', async () => {
    const target = await emptyTarget();
    await cli(['restore', 'latest', '--tenant', '2', '--repo', repo, '--postgres', target.url], { env });
    const again = await runCli(['restore', 'latest', '--tenant', '2', '--repo', repo, '--postgres', target.url], { env });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/the target database is not empty/);

    const session = await target.connect();
    try {
      await session.query("UPDATE public.customer SET first_name = 'changed' WHERE customer_id = 2");
    } finally {
      await session.end();
    }
    const verify = await runCli(['verify', 'latest', '--tenant', '2', '--repo', repo, '--postgres', target.url], { env });
    expect(verify.code).toBe(3);
    expect(verify.stderr).toMatch(/verify: table public\.customer: row contents differ \(checksum mismatch\)/);
  });

  it('records owners with --owners and applies them unless --no-owners', async () => {
    const role = `owner_${Date.now().toString(36)}`;
    const admin = await source.connect();
    await admin.query(`CREATE ROLE ${role}; ALTER TABLE public.store OWNER TO ${role}`);
    const ownerOfStore = async (db: TestDatabase): Promise<string> => {
      const session = await db.connect();
      try {
        return (await session.query<{ owner: string }>(`SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'store'`)).rows[0]!.owner;
      } finally {
        await session.end();
      }
    };
    try {
      await cli(['backup', '--repo', repo, '--postgres', source.url, '--owners', '--tag', 'owners'], { env });
      const withOwners = await emptyTarget();
      await cli(['restore', 'latest', '--tag', 'owners', '--repo', repo, '--postgres', withOwners.url], { env });
      expect(await ownerOfStore(withOwners)).toBe(role);
      const withoutOwners = await emptyTarget();
      await cli(['restore', 'latest', '--tag', 'owners', '--repo', repo, '--postgres', withoutOwners.url, '--no-owners'], { env });
      expect(await ownerOfStore(withoutOwners)).toBe('postgres');
      await Promise.all([withOwners, withoutOwners].map((db) => db.drop()));
      targets.splice(targets.indexOf(withOwners), 2);
    } finally {
      await admin.query(`ALTER TABLE public.store OWNER TO postgres; DROP ROLE ${role}`);
      await admin.end();
    }
  });

  it('copies the rows the closure adds: a parent without a tenant, and a child reached through a self-reference', async () => {
    const db = await createTestDatabase('closure_src');
    targets.push(db);
    const session = await db.connect();
    try {
      await session.query(`
        CREATE TABLE public.tenant (id int PRIMARY KEY);
        CREATE TABLE public.item (id int PRIMARY KEY, tenant_id int REFERENCES public.tenant, parent_id int REFERENCES public.item);
        INSERT INTO public.tenant VALUES (1), (2);
        INSERT INTO public.item VALUES (2, NULL, NULL), (1, 1, 2), (3, NULL, 1), (4, 2, NULL), (5, NULL, NULL);`);
    } finally {
      await session.end();
    }
    await cli(['backup', '--repo', repo, '--postgres', db.url, '--tenant-root', 'public.tenant', '--tenant', '1', '--tag', 'closure'], { env });
    const target = await emptyTarget();
    expect(await cli(['restore', 'latest', '--tag', 'closure', '--repo', repo, '--postgres', target.url], { env })).toMatch(/verified: /);
    const restored = await target.connect();
    try {
      const { rows } = await restored.query<{ id: number }>('SELECT id FROM public.item ORDER BY id');
      // 1 is the tenant's, 2 its parent (no tenant), 3 a child of 1; 4 is tenant 2's, 5 nobody's.
      expect(rows.map((row) => row.id)).toEqual([1, 2, 3]);
    } finally {
      await restored.end();
    }
  });

  it('never writes the database or repository password to its logs', async () => {
    const result = await runCli(['backup', '--repo', repo, '--postgres', source.url, '-vv'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('"msg":"command finished"');
    expect(result.stderr).not.toContain(source.settings.password!);
    expect(result.stderr).not.toContain(TEST_PASSWORD);
  });

  it('refuses tenant flags without a tenant, before touching the database or the repository', async () => {
    const before = await cliJson<Snapshot[]>(['snapshots', '--repo', repo], { env });
    const result = await runCli(['backup', '--repo', repo, '--postgres', source.url, '--tenant-root', 'public.store', '--tenant-ownership', 'root-key'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      "failsafe: --tenant-root, --tenant-ownership select a tenant's rows, but no tenant is given (add --tenant ID, or --all-tenants with tenants: in the config; without either the whole database is backed up)",
    ]);
    expect(await cliJson<Snapshot[]>(['snapshots', '--repo', repo], { env })).toHaveLength(before.length);
  });

  it('writes nothing to the repository when the server is unreachable', async () => {
    const before = await cliJson<Snapshot[]>(['snapshots', '--repo', repo], { env });
    const result = await runCli(['backup', '--repo', repo, '--postgres', 'postgres://postgres@127.0.0.1:1/x'], { env });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/cannot reach PostgreSQL at 127\.0\.0\.1:1/);
    expect(await cliJson<Snapshot[]>(['snapshots', '--repo', repo], { env })).toHaveLength(before.length);
  });

  it('reports a wrong password after the database work it overlapped, and writes nothing', async () => {
    const before = await cliJson<Snapshot[]>(['snapshots', '--repo', repo], { env });
    for (const tenant of [[], ['--tenant-root', 'public.store', '--tenant', '2']]) {
      const result = await runCli(['backup', '--repo', repo, '--postgres', source.url, ...tenant], { env: { ...env, FAILSAFE_PASSWORD: 'not the password' } });
      expect(result.code).toBe(12);
      expect(result.stderr.trim()).toMatch(/^failsafe: wrong password or no matching key/);
    }
    expect(await cliJson<Snapshot[]>(['snapshots', '--repo', repo], { env })).toHaveLength(before.length);
  });

  it('restore reports a wrong password or an unreachable target in one line, and writes nothing', async () => {
    const target = await emptyTarget();
    const wrong = await runCli(['restore', 'latest', '--repo', repo, '--postgres', target.url], { env: { ...env, FAILSAFE_PASSWORD: 'not the password' } });
    expect(wrong.code).toBe(12);
    expect(wrong.stderr.trim()).toMatch(/^failsafe: wrong password or no matching key[^\n]*$/);
    expect(Object.values(await rowCounts(target))).toEqual([]);
    const down = await runCli(['restore', 'latest', '--repo', repo, '--postgres', 'postgres://postgres@127.0.0.1:1/x'], { env });
    expect(down.code).not.toBe(0);
    expect(down.stderr.trim()).toMatch(/^failsafe: cannot reach PostgreSQL at 127\.0\.0\.1:1[^\n]*$/);
  });

  it('refuses to restore or verify a snapshot that holds no database (exit 2)', async () => {
    await cli(['backup', '--repo', repo, '--stdin', '--stdin-name', 'notes.txt', '--tag', 'not-a-database'], { env, input: 'notes\n' });
    const target = await emptyTarget();
    for (const command of ['restore', 'verify']) {
      const result = await runCli([command, 'latest', '--tag', 'not-a-database', '--repo', repo, '--postgres', target.url], { env });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(/snapshot [0-9a-f]{8} holds stdin data, not a database/);
    }
  });
});
