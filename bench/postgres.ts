/**
 * `npm run bench:postgres`: failsafe against pg_dump / pg_restore on Debian's PostgreSQL 15, same data,
 * same run. Starts its own cluster on a loopback port (installs postgresql-15 when missing), loads the
 * hotel-SaaS dataset, then measures:
 *   - whole-database backup: failsafe (--jobs 2) vs pg_dump -Fc vs pg_dump -Fd -j2
 *   - restore into an empty database: failsafe (--jobs 2, with its verification) vs pg_restore -j2
 *   - one ~1% tenant's backup vs the whole database's
 *   - the next day's backup after 1% of rows changed: bytes added vs the first snapshot
 *
 * The data: the hotel-SaaS sample at `--scale` (rows grow linearly; 100 ≈ 2 M rows) spread over 100
 * hotels, so one hotel is about 1% of the rows, as a tenant in the target. The source is
 * vacuumed once after loading; then autovacuum is off and every step starts after a checkpoint, so
 * no tool pays for the work another left behind. Whole-database backups and restores run `--rounds`
 * times, the tools taking turns, each round into a fresh repository, file or database; the fastest
 * round of each counts (as in bench:repo), so a slow spell of the machine does not decide a ratio.
 *
 * Usage: npm run bench:postgres -- [--scale 100] [--rounds 3] [--work DIR] [--json FILE]
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatBytes } from '../src/core/units.js';
import { createHotelSaas, mutateHotelSaas } from '../src/demo/hotel-saas/index.js';
import { connect, type PgSession } from '../src/postgres/connection.js';
import { EmbeddedCluster } from '../src/postgres/embedded-cluster.js';
import type { Snapshot } from '../src/repository/snapshot.js';
import { directoryBytes, ensureDebianPackage, fastest, log, parseArgs, ratio, timed, type Measurement } from './support.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin', 'failsafe.js');
const PG_BIN = '/usr/lib/postgresql/15/bin';
const PASSWORD = 'benchmark password';

const args = parseArgs(process.argv.slice(2), 'bench/postgres.ts [--scale 100] [--rounds 3] [--work DIR] [--json FILE]');
const scale = Number(args.scale ?? 100);
const rounds = Number(args.rounds ?? 3);
const HOTELS = 100;
const work = resolve(args.work ?? join(ROOT, '.bench', 'postgres'));

ensureDebianPackage(join(PG_BIN, 'pg_ctl'), 'postgresql-15');
ensureDebianPackage('/usr/bin/time', 'time');

await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
const cluster = await EmbeddedCluster.start({ baseDir: join(work, 'cluster'), binDir: PG_BIN });
try {
  await main(cluster);
} finally {
  await cluster.stop();
}

async function main(cluster: EmbeddedCluster): Promise<void> {
  const env = { PGPASSWORD: cluster.password, FAILSAFE_PASSWORD: PASSWORD, PGHOST: '127.0.0.1', PGPORT: String(cluster.port), PGUSER: 'postgres' };
  const admin = await connect({ ...cluster.connection('postgres'), sslMode: 'disable' });
  await admin.query('CREATE DATABASE source');
  await admin.end();

  log(`loading the hotel-SaaS dataset at scale ${scale}`);
  const loadStarted = Date.now();
  const source = await connect({ ...cluster.connection('source'), sslMode: 'disable' });
  const summary = await createHotelSaas(source, { scale, hotels: HOTELS });
  const rows = Object.values(summary.rows).reduce((a, b) => a + b, 0);
  const { rows: size } = await source.query<{ bytes: string }>('SELECT pg_database_size(current_database())::text AS bytes');
  log(`  ${rows.toLocaleString('en')} rows in ${Object.keys(summary.rows).length} tables, ${formatBytes(Number(size[0]!.bytes))} on disk, ${((Date.now() - loadStarted) / 1000).toFixed(0)} s`);
  const tenant = await pickOnePercentTenant(source);
  // A quiet server for every measurement: the source vacuumed once, as a production database would be,
  // then no autovacuum (it would work on whichever database was just loaded or restored while the next
  // tool runs), and a checkpoint before each step (so none writes out the step before's pages).
  log('vacuuming the source; autovacuum off');
  await source.query('VACUUM (ANALYZE)');
  const control = await connect({ ...cluster.connection('postgres'), sslMode: 'disable' });
  await control.query('ALTER SYSTEM SET autovacuum = off');
  await control.query('SELECT pg_reload_conf()');
  const quiet = async (): Promise<void> => {
    await control.query('CHECKPOINT');
    execFileSync('sync'); // the dumps' and repositories' own writes too, so no step pays for another's writeback
  };

  const url = (db: string) => `postgres://postgres@127.0.0.1:${cluster.port}/${db}?sslmode=disable`;
  const repo = join(work, 'repo');
  const failsafe = (...cliArgs: string[]): Measurement => timed(work, process.execPath, [CLI, '--quiet', ...cliArgs], env);
  const emptyDatabase = async (name: string): Promise<string> => {
    await control.query(`DROP DATABASE IF EXISTS ${name}`);
    await control.query(`CREATE DATABASE ${name}`);
    await quiet();
    return name;
  };

  /** Runs one round of a measurement, logs its time and keeps the faster of it and `best`. */
  const measure = (label: string, best: Measurement | undefined, take: () => Measurement): Measurement => {
    log(label);
    const measured = take();
    log(`  ${measured.seconds.toFixed(2)} s`);
    return fastest(best, measured);
  };
  let fsBackup: Measurement | undefined;
  let dumpFc: Measurement | undefined;
  let dumpFd: Measurement | undefined;
  let fsRestore: Measurement | undefined;
  let fsRestoreNoVerify: Measurement | undefined;
  let pgRestore: Measurement | undefined;
  for (let round = 1; round <= rounds; round++) {
    const of = `(round ${round}/${rounds})`;
    await rm(repo, { recursive: true, force: true });
    execFileSync(process.execPath, [CLI, 'init', '--repo', repo], { env: { ...process.env, ...env } });
    await quiet();
    fsBackup = measure(`failsafe: whole-database backup ${of}`, fsBackup, () => failsafe('backup', '--repo', repo, '--postgres', url('source'), '--jobs', '2'));
    await quiet();
    dumpFc = measure(`pg_dump -Fc ${of}`, dumpFc, () => timed(work, join(PG_BIN, 'pg_dump'), ['-Fc', '-f', join(work, 'dump.fc'), 'source'], env));
    await rm(join(work, 'dump.dir'), { recursive: true, force: true });
    await quiet();
    dumpFd = measure(`pg_dump -Fd -j2 ${of}`, dumpFd, () => timed(work, join(PG_BIN, 'pg_dump'), ['-Fd', '-j2', '-f', join(work, 'dump.dir'), 'source'], env));

    const restoreTarget = url(await emptyDatabase('restore_failsafe'));
    fsRestore = measure(`failsafe: restore (with verification) ${of}`, fsRestore, () =>
      failsafe('restore', 'latest', '--repo', repo, '--postgres', restoreTarget, '--jobs', '2'),
    );
    const noVerifyTarget = url(await emptyDatabase('restore_noverify'));
    fsRestoreNoVerify = measure(`failsafe: restore --no-verify ${of}`, fsRestoreNoVerify, () =>
      failsafe('restore', 'latest', '--repo', repo, '--postgres', noVerifyTarget, '--jobs', '2', '--no-verify'),
    );
    const pgTarget = await emptyDatabase('restore_pg');
    pgRestore = measure(`pg_restore -j2 ${of}`, pgRestore, () => timed(work, join(PG_BIN, 'pg_restore'), ['-j2', '-d', pgTarget, join(work, 'dump.fc')], env));
  }
  if (!fsBackup || !dumpFc || !dumpFd || !fsRestore || !fsRestoreNoVerify || !pgRestore) throw new Error('--rounds must be at least 1');
  const firstRepoBytes = await directoryBytes(repo);
  const fcBytes = (await stat(join(work, 'dump.fc'))).size;

  await quiet();
  log(`failsafe: tenant ${tenant.id} (about ${(tenant.share * 100).toFixed(1)}% of the bookings)`);
  const fsTenant = failsafe('backup', '--repo', repo, '--postgres', url('source'), '--tenant-root', 'public.hotel', '--tenant', String(tenant.id));

  log('next day: 1% of rows change');
  const changed = await mutateHotelSaas(source, { fraction: 0.01 });
  await source.end();
  await quiet();
  const fsSecond = failsafe('backup', '--repo', repo, '--postgres', url('source'), '--jobs', '2');
  const snapshots = JSON.parse(execFileSync(process.execPath, [CLI, 'snapshots', '--repo', repo, '--json'], { env: { ...process.env, ...env }, encoding: 'utf8' })) as Snapshot[];
  const first = snapshots[0]!;
  const second = snapshots[snapshots.length - 1]!;

  await control.end();
  const machine = `${cpus().length} × ${cpus()[0]?.model.replace(/\s+/g, ' ').trim()}, ${formatBytes(totalmem())} RAM, Node ${process.version}`;
  const lines = [
    `bench:postgres ${new Date().toISOString().slice(0, 10)} — scale ${scale}: ${rows.toLocaleString('en')} rows, ${formatBytes(Number(size[0]!.bytes))} on disk — ${machine}`,
    `whole-database backups and restores: fastest of ${rounds} round(s), the tools taking turns`,
    `PostgreSQL ${execFileSync(join(PG_BIN, 'postgres'), ['--version'], { encoding: 'utf8' }).trim()}`,
    '',
    '| | failsafe | peer | ratio | target |',
    '|---|---|---|---|---|',
    `| whole-DB backup vs pg_dump -Fc | ${fsBackup.seconds.toFixed(2)} s | ${dumpFc.seconds.toFixed(2)} s | ${ratio(fsBackup.seconds, dumpFc.seconds)} | ≤ 1.00x |`,
    `| whole-DB backup vs pg_dump -Fd -j2 | ${fsBackup.seconds.toFixed(2)} s | ${dumpFd.seconds.toFixed(2)} s | ${ratio(fsBackup.seconds, dumpFd.seconds)} | |`,
    `| restore (+ verify) vs pg_restore -j2 | ${fsRestore.seconds.toFixed(2)} s | ${pgRestore.seconds.toFixed(2)} s | ${ratio(fsRestore.seconds, pgRestore.seconds)} | ≤ 1.00x |`,
    `| restore --no-verify vs pg_restore -j2 | ${fsRestoreNoVerify.seconds.toFixed(2)} s | ${pgRestore.seconds.toFixed(2)} s | ${ratio(fsRestoreNoVerify.seconds, pgRestore.seconds)} | |`,
    `| tenant ${tenant.id} (${(tenant.share * 100).toFixed(1)}% of rows) vs whole DB | ${fsTenant.seconds.toFixed(2)} s | ${fsBackup.seconds.toFixed(2)} s | ${ratio(fsTenant.seconds, fsBackup.seconds)} | ≤ 0.05x |`,
    `| next day's backup time vs first | ${fsSecond.seconds.toFixed(2)} s | ${fsBackup.seconds.toFixed(2)} s | ${ratio(fsSecond.seconds, fsBackup.seconds)} | |`,
    `| next day (${changed.toLocaleString('en')} rows changed): added vs first | ${formatBytes(second.summary.newStoredBytes)} | ${formatBytes(first.summary.newStoredBytes)} | ${ratio(second.summary.newStoredBytes, first.summary.newStoredBytes)} | ≤ 0.05x |`,
    `| stored size vs pg_dump -Fc file | ${formatBytes(firstRepoBytes)} | ${formatBytes(fcBytes)} | ${ratio(firstRepoBytes, fcBytes)} | |`,
    `| peak RSS backup / restore | ${formatBytes(fsBackup.peakRssBytes)} / ${formatBytes(fsRestore.peakRssBytes)} | ${formatBytes(dumpFc.peakRssBytes)} / ${formatBytes(pgRestore.peakRssBytes)} | | |`,
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
  if (args.json) {
    await writeFile(
      args.json,
      JSON.stringify({ date: new Date().toISOString(), machine, scale, rounds, rows, fsBackup, dumpFc, dumpFd, fsRestore, fsRestoreNoVerify, pgRestore, fsTenant, fsSecond, tenant, changed, first: first.summary, second: second.summary }, null, 2),
    );
  }
}

/** The hotel whose share of the bookings is closest to 1%. */
async function pickOnePercentTenant(session: PgSession): Promise<{ id: number; share: number }> {
  const { rows } = await session.query<{ id: number; share: number }>(
    `SELECT hotel_id AS id, count(*)::float8 / sum(count(*)) OVER () AS share FROM public.booking GROUP BY hotel_id ORDER BY abs(count(*)::float8 / sum(count(*)) OVER () - 0.01), hotel_id LIMIT 1`,
  );
  return rows[0]!;
}
