/**
 * `npm run bench:postgres`: failsafe against pg_dump / pg_restore on Debian's PostgreSQL 15, same data,
 * same run. Starts its own cluster on a loopback port (installs postgresql-15 when missing), loads the
 * hotel-SaaS dataset, then measures:
 *   - whole-database backup: failsafe (--jobs 2) vs pg_dump -Fc vs pg_dump -Fd -j2
 *   - restore into an empty database: failsafe (--jobs 2, with its verification) vs pg_restore -j2
 *   - one ~1% tenant's backup vs the whole database's, under both ownership rules
 *   - the next day's backup after 1% of rows changed: bytes added vs the first snapshot
 *
 * The data: the hotel-SaaS sample at `--scale` (rows grow linearly; 100 ≈ 2 M rows) spread over 100
 * hotels, so one hotel is about 1% of the rows, as a tenant in the target (its backups, under
 * each ownership rule, also run `--rounds` times, fastest counting). The source is
 * vacuumed once after loading; then autovacuum is off and every step starts after a checkpoint, so
 * no tool pays for the work another left behind. Whole-database backups and restores run `--rounds`
 * times, the tools taking turns, each round into a fresh repository, file or database; the fastest
 * round of each counts (as in bench:repo), so a slow spell of the machine does not decide a ratio.
 * Each restored database is dropped once measured, so the disk holds the source and one copy.
 *
 * `--only tenant` measures the whole-database backup and the tenant's, nothing else: for scales whose
 * restores and dumps would not fit on the disk. `--keep-cluster` keeps the cluster (in `--work`) after
 * the run and reuses one loaded at the same scale, instead of loading again (scale 10000 loads for an
 * hour); a reused source has had its "next day" already, which changes no measurement's meaning.
 *
 * Usage: npm run bench:postgres -- [--scale 100] [--rounds 3] [--only all|tenant] [--keep-cluster yes] [--work DIR] [--json FILE]
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatBytes } from '../src/core/units.js';
import { createHotelSaas, mutateHotelSaas } from '../src/demo/hotel-saas/index.js';
import { connect, type PgSession } from '../src/postgres/connection.js';
import { EmbeddedCluster } from '../src/postgres/embedded-cluster.js';
import type { Snapshot } from '../src/repository/snapshot.js';
import type { Ownership } from '../src/sources/postgres/tenant-plan.js';
import { directoryBytes, ensureDebianPackage, fastest, log, parseArgs, ratio, timed, type Measurement } from './support.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin', 'failsafe.js');
const PG_BIN = '/usr/lib/postgresql/15/bin';
const PASSWORD = 'benchmark password';
const USAGE = 'bench/postgres.ts [--scale 100] [--rounds 3] [--only all|tenant] [--keep-cluster yes] [--work DIR] [--json FILE]';

const args = parseArgs(process.argv.slice(2), USAGE);
const scale = Number(args.scale ?? 100);
const rounds = Number(args.rounds ?? 3);
const only = args.only ?? 'all';
const keepCluster = args['keep-cluster'] === 'yes';
if (only !== 'all' && only !== 'tenant') throw new Error(`usage: ${USAGE}`);
const HOTELS = 100;
/** What a loaded source database says about itself, so `--keep-cluster` reuses only the same data. */
const LOADED = `hotel-saas scale ${scale}, ${HOTELS} hotels`;
const work = resolve(args.work ?? join(ROOT, '.bench', 'postgres'));

ensureDebianPackage(join(PG_BIN, 'pg_ctl'), 'postgresql-15');
ensureDebianPackage('/usr/bin/time', 'time');

await clearWork();
const cluster = await EmbeddedCluster.start({ baseDir: join(work, 'cluster'), binDir: PG_BIN });
try {
  await main(cluster);
} finally {
  await cluster.stop();
  if (!keepCluster) await rm(work, { recursive: true, force: true });
}

/** Empties `--work`, all but the cluster with `--keep-cluster`. */
async function clearWork(): Promise<void> {
  if (!keepCluster) await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  for (const entry of await readdir(work)) if (entry !== 'cluster') await rm(join(work, entry), { recursive: true, force: true });
}

async function main(cluster: EmbeddedCluster): Promise<void> {
  const env = { PGPASSWORD: cluster.password, FAILSAFE_PASSWORD: PASSWORD, PGHOST: '127.0.0.1', PGPORT: String(cluster.port), PGUSER: 'postgres' };
  const control = await connect({ ...cluster.connection('postgres'), sslMode: 'disable' });
  await control.query('ALTER SYSTEM RESET autovacuum');
  await control.query('SELECT pg_reload_conf()');
  const { rows: loaded } = await control.query<{ comment: string | null }>(
    `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = 'source'`,
  );
  if (loaded.length > 0 && loaded[0]!.comment !== LOADED) await control.query('DROP DATABASE source');
  const reused = loaded[0]?.comment === LOADED;
  if (!reused) await control.query('CREATE DATABASE source');
  for (const name of ['restore_failsafe', 'restore_noverify', 'restore_pg']) await control.query(`DROP DATABASE IF EXISTS ${name}`);

  const source = await connect({ ...cluster.connection('source'), sslMode: 'disable' });
  if (reused) log(`reusing the hotel-SaaS dataset at scale ${scale} in ${join(work, 'cluster')}`);
  else {
    log(`loading the hotel-SaaS dataset at scale ${scale}`);
    const loadStarted = Date.now();
    await createHotelSaas(source, { scale, hotels: HOTELS });
    log(`  loaded in ${((Date.now() - loadStarted) / 1000).toFixed(0)} s`);
  }
  // A quiet server for every measurement: the source vacuumed once, as a production database would be,
  // then no autovacuum (it would work on whichever database was just loaded or restored while the next
  // tool runs), and a checkpoint before each step (so none writes out the step before's pages).
  log('vacuuming the source; autovacuum off');
  await source.query('VACUUM (ANALYZE)');
  if (!reused) await source.query(`COMMENT ON DATABASE source IS '${LOADED}'`);
  const { rows: counted } = await source.query<{ rows: string; bytes: string }>(
    `SELECT (SELECT sum(n_live_tup) FROM pg_stat_user_tables)::text AS rows, pg_database_size(current_database())::text AS bytes`,
  );
  const rows = Number(counted[0]!.rows);
  const size = Number(counted[0]!.bytes);
  log(`  ${rows.toLocaleString('en')} rows, ${formatBytes(size)} on disk`);
  const tenant = await pickOnePercentTenant(source);
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
  /** Restores into a fresh database, measured, then drops it: the disk holds one copy at a time. */
  const restoreInto = async (name: string, take: (database: string) => Measurement): Promise<Measurement> => {
    const measured = take(await emptyDatabase(name));
    await control.query(`DROP DATABASE ${name}`);
    return measured;
  };

  /** Runs one round of a measurement, logs its time and keeps the faster of it and `best`. */
  const measure = async (label: string, best: Measurement | undefined, take: () => Measurement | Promise<Measurement>): Promise<Measurement> => {
    log(label);
    const measured = await take();
    log(`  ${measured.seconds.toFixed(2)} s`);
    return fastest(best, measured);
  };
  const peers = only === 'all';
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
    fsBackup = await measure(`failsafe: whole-database backup ${of}`, fsBackup, () => failsafe('backup', '--repo', repo, '--postgres', url('source'), '--jobs', '2'));
    if (!peers) continue;
    await quiet();
    dumpFc = await measure(`pg_dump -Fc ${of}`, dumpFc, () => timed(work, join(PG_BIN, 'pg_dump'), ['-Fc', '-f', join(work, 'dump.fc'), 'source'], env));
    await rm(join(work, 'dump.dir'), { recursive: true, force: true });
    await quiet();
    dumpFd = await measure(`pg_dump -Fd -j2 ${of}`, dumpFd, () => timed(work, join(PG_BIN, 'pg_dump'), ['-Fd', '-j2', '-f', join(work, 'dump.dir'), 'source'], env));
    await rm(join(work, 'dump.dir'), { recursive: true, force: true });

    fsRestore = await measure(`failsafe: restore (with verification) ${of}`, fsRestore, () =>
      restoreInto('restore_failsafe', (db) => failsafe('restore', 'latest', '--repo', repo, '--postgres', url(db), '--jobs', '2')),
    );
    fsRestoreNoVerify = await measure(`failsafe: restore --no-verify ${of}`, fsRestoreNoVerify, () =>
      restoreInto('restore_noverify', (db) => failsafe('restore', 'latest', '--repo', repo, '--postgres', url(db), '--jobs', '2', '--no-verify')),
    );
    pgRestore = await measure(`pg_restore -j2 ${of}`, pgRestore, () =>
      restoreInto('restore_pg', (db) => timed(work, join(PG_BIN, 'pg_restore'), ['-j2', '-d', db, join(work, 'dump.fc')], env)),
    );
  }
  if (!fsBackup) throw new Error('--rounds must be at least 1');
  const firstRepoBytes = await directoryBytes(repo);

  const tenantBackup = async (ownership: Ownership, best: Measurement | undefined, of: string): Promise<Measurement> => {
    await quiet();
    return measure(`failsafe: tenant ${tenant.id} (about ${(tenant.share * 100).toFixed(1)}% of the bookings), ${ownership} ownership ${of}`, best, () =>
      failsafe('backup', '--repo', repo, '--postgres', url('source'), '--tenant-root', 'public.hotel', '--tenant', String(tenant.id), '--tenant-ownership', ownership),
    );
  };
  let fsTenant: Measurement | undefined;
  let fsTenantRootKey: Measurement | undefined;
  for (let round = 1; round <= rounds; round++) {
    fsTenant = await tenantBackup('reach', fsTenant, `(round ${round}/${rounds})`);
    fsTenantRootKey = await tenantBackup('root-key', fsTenantRootKey, `(round ${round}/${rounds})`);
  }

  const machine = `${cpus().length} × ${cpus()[0]?.model.replace(/\s+/g, ' ').trim()}, ${formatBytes(totalmem())} RAM, Node ${process.version}`;
  const tenantRow = (label: string, measured: Measurement | undefined): string =>
    `| tenant ${tenant.id} (${(tenant.share * 100).toFixed(1)}% of rows), ${label}, vs whole DB | ${measured!.seconds.toFixed(2)} s | ${fsBackup!.seconds.toFixed(2)} s | ${ratio(measured!.seconds, fsBackup!.seconds)} | ≤ 0.05x |`;
  const lines = [
    `bench:postgres ${new Date().toISOString().slice(0, 10)} — scale ${scale}: ${rows.toLocaleString('en')} rows, ${formatBytes(size)} on disk — ${machine}`,
    `whole-database backups${peers ? ' and restores' : ''}: fastest of ${rounds} round(s)${peers ? ', the tools taking turns' : ''}`,
    `PostgreSQL ${execFileSync(join(PG_BIN, 'postgres'), ['--version'], { encoding: 'utf8' }).trim()}`,
    '',
    '| | failsafe | peer | ratio | target |',
    '|---|---|---|---|---|',
  ];
  let result: Record<string, unknown> = { date: new Date().toISOString(), machine, scale, rounds, only, rows, fsBackup, fsTenant, fsTenantRootKey, tenant };
  if (peers) {
    if (!dumpFc || !dumpFd || !fsRestore || !fsRestoreNoVerify || !pgRestore) throw new Error('a peer measurement is missing');
    const fcBytes = (await stat(join(work, 'dump.fc'))).size;
    log('next day: 1% of rows change');
    const changed = await mutateHotelSaas(source, { fraction: 0.01 });
    await quiet();
    const fsSecond = failsafe('backup', '--repo', repo, '--postgres', url('source'), '--jobs', '2');
    const snapshots = JSON.parse(execFileSync(process.execPath, [CLI, 'snapshots', '--repo', repo, '--json'], { env: { ...process.env, ...env }, encoding: 'utf8' })) as Snapshot[];
    const first = snapshots[0]!;
    const second = snapshots[snapshots.length - 1]!;
    lines.push(
      `| whole-DB backup vs pg_dump -Fc | ${fsBackup.seconds.toFixed(2)} s | ${dumpFc.seconds.toFixed(2)} s | ${ratio(fsBackup.seconds, dumpFc.seconds)} | ≤ 1.00x |`,
      `| whole-DB backup vs pg_dump -Fd -j2 | ${fsBackup.seconds.toFixed(2)} s | ${dumpFd.seconds.toFixed(2)} s | ${ratio(fsBackup.seconds, dumpFd.seconds)} | |`,
      `| restore (+ verify) vs pg_restore -j2 | ${fsRestore.seconds.toFixed(2)} s | ${pgRestore.seconds.toFixed(2)} s | ${ratio(fsRestore.seconds, pgRestore.seconds)} | ≤ 1.00x |`,
      `| restore --no-verify vs pg_restore -j2 | ${fsRestoreNoVerify.seconds.toFixed(2)} s | ${pgRestore.seconds.toFixed(2)} s | ${ratio(fsRestoreNoVerify.seconds, pgRestore.seconds)} | |`,
      tenantRow('reach (default)', fsTenant),
      tenantRow('root-key', fsTenantRootKey),
      `| next day's backup time vs first | ${fsSecond.seconds.toFixed(2)} s | ${fsBackup.seconds.toFixed(2)} s | ${ratio(fsSecond.seconds, fsBackup.seconds)} | |`,
      `| next day (${changed.toLocaleString('en')} rows changed): added vs first | ${formatBytes(second.summary.newStoredBytes)} | ${formatBytes(first.summary.newStoredBytes)} | ${ratio(second.summary.newStoredBytes, first.summary.newStoredBytes)} | ≤ 0.05x |`,
      `| stored size vs pg_dump -Fc file | ${formatBytes(firstRepoBytes)} | ${formatBytes(fcBytes)} | ${ratio(firstRepoBytes, fcBytes)} | |`,
      `| peak RSS backup / restore | ${formatBytes(fsBackup.peakRssBytes)} / ${formatBytes(fsRestore.peakRssBytes)} | ${formatBytes(dumpFc.peakRssBytes)} / ${formatBytes(pgRestore.peakRssBytes)} | | |`,
    );
    result = { ...result, dumpFc, dumpFd, fsRestore, fsRestoreNoVerify, pgRestore, fsSecond, changed, first: first.summary, second: second.summary };
  } else {
    lines.push(
      `| whole-DB backup | ${fsBackup.seconds.toFixed(2)} s | | | |`,
      tenantRow('reach (default)', fsTenant),
      tenantRow('root-key', fsTenantRootKey),
      `| stored size | ${formatBytes(firstRepoBytes)} | | | |`,
    );
  }
  await source.end();
  await control.end();
  process.stdout.write(`\n${lines.join('\n')}\n`);
  if (args.json) await writeFile(args.json, JSON.stringify(result, null, 2));
}

/** The hotel whose share of the bookings is closest to 1%. */
async function pickOnePercentTenant(session: PgSession): Promise<{ id: number; share: number }> {
  const { rows } = await session.query<{ id: number; share: number }>(
    `SELECT hotel_id AS id, count(*)::float8 / sum(count(*)) OVER () AS share FROM public.booking GROUP BY hotel_id ORDER BY abs(count(*)::float8 / sum(count(*)) OVER () - 0.01), hotel_id LIMIT 1`,
  );
  return rows[0]!;
}
