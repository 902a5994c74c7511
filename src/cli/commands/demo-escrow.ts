/**
 * `failsafe demo`: the seed-000 story in one command. A multi-tenant hotel SaaS runs on an embedded
 * PostgreSQL with its files in a directory; one hotel gets a failsafe copy of only its own rows and
 * files, in a repository under its own key; the next day's copy adds only what changed; the copy is
 * restored into a second database and directory and verified. Everything lives in a temporary directory
 * that is removed at the end.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FailsafeError } from '../../core/errors.js';
import { formatBytes, formatCount, formatSeconds } from '../../core/units.js';
import { createHotelSaas, HOTEL_SAAS_TENANCY, mutateHotelSaas } from '../../demo/hotel-saas/index.js';
import { connect, type ConnectionSettings } from '../../postgres/connection.js';
import { EmbeddedCluster } from '../../postgres/embedded-cluster.js';
import { Repository } from '../../repository/repository.js';
import { shortId } from '../../repository/snapshot.js';
import { DirectoryObjectStore } from '../../sources/objects/directory-object-store.js';
import { objectsPart, restoreObjects } from '../../sources/objects/objects-part.js';
import { backupDatabase } from '../../sources/postgres/backup-database.js';
import { planReport } from '../../sources/postgres/plan-report.js';
import { restoreDatabase } from '../../sources/postgres/restore-database.js';
import { openStorage } from '../../storage/open-storage.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';

export interface EscrowDemoOptions {
  /** Hotel-SaaS scale: 10 hotels per unit. */
  readonly scale: number;
  readonly keep: boolean;
}

const TENANT = '3';

export async function escrowDemo(ctx: CommandContext, options: EscrowDemoOptions): Promise<ExitCode> {
  const out = ctx.output;
  const work = await mkdtemp(join(tmpdir(), 'failsafe-demo-'));
  // PostgreSQL runs as "nobody" when we are root: it must be able to enter the directory.
  await chmod(work, 0o711);
  const step = (name: string, text: string): void => {
    out.line(`${name.padEnd(10)}${text}`);
    ctx.signal.throwIfAborted();
  };
  const since = (start: number): string => formatSeconds((Date.now() - start) / 1000);
  const demoStarted = Date.now();
  let cluster: EmbeddedCluster | undefined;
  try {
    out.line(`failsafe demo: a tenant's own failsafe copy of a multi-tenant hotel SaaS, in ${work}`);
    out.line('');
    let started = Date.now();
    cluster = await EmbeddedCluster.start({ baseDir: join(work, 'postgres'), ephemeral: true });
    const admin = await connect(plain(cluster.connection('postgres')));
    await admin.query('CREATE DATABASE saas');
    await admin.query('CREATE DATABASE hotel_3_copy');
    await admin.end();
    step('postgres', `embedded PostgreSQL started on 127.0.0.1:${cluster.port} (${since(started)})`);

    started = Date.now();
    const saas = plain(cluster.connection('saas'));
    const session = await connect(saas);
    const summary = await createHotelSaas(session, { scale: options.scale });
    const files = join(work, 'saas-files');
    const fileCount = await writeHotelFiles(files, summary.tenantIds);
    const rows = Object.values(summary.rows).reduce((a, b) => a + b, 0);
    step(
      'saas',
      `${summary.hotels} hotels share one database: ${formatCount(rows, 'row')} in ${Object.keys(summary.rows).length} tables, ` +
        `and ${formatCount(fileCount, 'file')} under hotels/<id>/ (${since(started)})`,
    );

    started = Date.now();
    const plan = await planReport(session, HOTEL_SAAS_TENANCY, TENANT, { count: true });
    const copied = plan.tables.filter((t) => t.sql !== undefined);
    const tenantRows = copied.reduce((n, t) => n + (t.rows ?? 0), 0);
    const roleCount = (role: string): number => copied.filter((t) => t.role === role).length;
    step(
      'plan',
      `hotel ${TENANT}: ${formatCount(tenantRows, 'row')} (${((100 * tenantRows) / rows).toFixed(1)}% of the database) from ` +
        `${roleCount('tenant') + 1} tables of its own and ${roleCount('shared')} shared lookups; ` +
        `${plan.crossTenant.length === 0 ? 'no references into other hotels' : `${plan.crossTenant.length} cross-tenant references`} (${since(started)})`,
    );
    const booking = plan.tables.find((t) => t.table === 'public.booking');
    if (booking) step('', `e.g. public.booking: ${booking.predicate}  (${booking.reason})`);

    // The hotel's own repository and key: in real life in its own account, here in the temp directory.
    const password = randomBytes(24).toString('base64');
    const storage = await openStorage(join(work, 'hotel-3-repository'));
    try {
      const repo = await Repository.init(storage, password);
      step('init', `hotel ${TENANT}'s own encrypted repository ${shortId(repo.config.id)}; only the hotel holds its key`);

      const store = new DirectoryObjectStore(files);
      const backup = async () =>
        backupDatabase(repo, {
          settings: saas,
          sourceName: 'saas-db',
          tenancy: HOTEL_SAAS_TENANCY,
          tenant: TENANT,
          parts: [objectsPart(store, 'saas-files', `hotels/${TENANT}/`)],
          signal: ctx.signal,
          onProgress: ctx.progress.listener,
        });
      started = Date.now();
      const first = await backup();
      ctx.progress.done();
      step(
        'backup',
        `snapshot ${shortId(first.snapshot.id)}: ${formatCount(first.manifest.tables.reduce((n, t) => n + t.rows, 0), 'row')} and the hotel's files, ` +
          `one consistent PostgreSQL snapshot (LSN ${first.manifest.lsn}); stored ${formatBytes(first.snapshot.summary.newStoredBytes)} in ${since(started)}`,
      );

      const changed = await mutateHotelSaas(session, { fraction: 0.01 });
      step('change', `a day of bookings: ${formatCount(changed, 'row')} changed across all hotels`);
      started = Date.now();
      const second = await backup();
      ctx.progress.done();
      const added = second.snapshot.summary.newStoredBytes;
      step(
        'backup',
        `snapshot ${shortId(second.snapshot.id)}: added ${formatBytes(added)} ` +
          `(${((100 * added) / Math.max(1, first.snapshot.summary.newStoredBytes)).toFixed(1)}% of the first; unchanged chunks deduplicated) in ${since(started)}`,
      );

      started = Date.now();
      const copy = plain(cluster.connection('hotel_3_copy'));
      const restored = await restoreDatabase(repo, second.snapshot, { settings: copy, onProgress: ctx.progress.listener, signal: ctx.signal });
      const restoredFiles = await restoreObjects(repo, second.snapshot, new DirectoryObjectStore(join(work, 'hotel-3-files')));
      ctx.progress.done();
      const verification = restored.verification!;
      step(
        'restore',
        `into an empty database and directory: ${formatCount(restored.tables.reduce((n, t) => n + t.rows, 0), 'row')}, ` +
          `${formatCount(restoredFiles.objects, 'file')} in ${since(started)}`,
      );
      const otherHotels = await countOtherHotels(copy);
      step(
        'verify',
        `${verification.ok ? 'every table matches the snapshot (rows, checksums) and every foreign key holds' : 'MISMATCH'}; ` +
          `${otherHotels === 0 ? 'no row of any other hotel' : `${otherHotels} rows of other hotels`}`,
      );
      out.line('');
      out.line(
        `done in ${since(demoStarted)}: hotel ${TENANT}'s copy holds ${formatCount(tenantRows, 'row')} of ${formatCount(rows, 'row')}, ` +
          `${formatBytes(first.snapshot.summary.newStoredBytes + added)} stored for two days. ` +
          (options.keep ? `Kept ${work} (PostgreSQL stopped).` : 'Cleaned up.'),
      );
      await session.end();
      ctx.output.result({ workDir: work, rows, tenantRows, first: first.snapshot, second: second.snapshot, verification, otherHotels });
      if (!verification.ok || otherHotels !== 0) throw new FailsafeError('VERIFY_FAILED', 'the demo copy did not verify');
      return ExitCode.Ok;
    } finally {
      await storage.close();
    }
  } finally {
    await cluster?.stop();
    if (!options.keep) await rm(work, { recursive: true, force: true });
  }
}

/** The embedded cluster serves no TLS: skip the attempt. */
function plain(settings: ConnectionSettings): ConnectionSettings {
  return { ...settings, sslMode: 'disable' };
}

/** A logo and a few invoices (random bytes, as scans are) per hotel. */
async function writeHotelFiles(root: string, hotels: readonly number[]): Promise<number> {
  let count = 0;
  for (const hotel of hotels) {
    const dir = join(root, 'hotels', String(hotel));
    await mkdir(join(dir, 'invoices'), { recursive: true });
    await writeFile(join(dir, 'logo.png'), randomBytes(20_000));
    for (let i = 1; i <= 3; i++) await writeFile(join(dir, 'invoices', `2025-12-${String(i).padStart(2, '0')}.pdf`), randomBytes(60_000));
    count += 4;
  }
  return count;
}

/** Rows of other hotels in the copy: in the hotel table and in every table that carries a hotel_id. */
async function countOtherHotels(settings: ConnectionSettings): Promise<number> {
  const session = await connect(settings);
  try {
    let total = Number((await session.query<{ n: string }>('SELECT count(*) AS n FROM public.hotel WHERE id <> $1', [Number(TENANT)])).rows[0]!.n);
    const { rows: tables } = await session.query<{ name: string }>(
      `SELECT format('%I.%I', c.table_schema, c.table_name) AS name FROM information_schema.columns c
         JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE c.column_name = 'hotel_id' AND t.table_type = 'BASE TABLE' AND c.table_schema = 'public'`,
    );
    for (const { name } of tables) {
      total += Number((await session.query<{ n: string }>(`SELECT count(*) AS n FROM ONLY ${name} WHERE hotel_id <> $1`, [Number(TENANT)])).rows[0]!.n);
    }
    return total;
  } finally {
    await session.end();
  }
}
