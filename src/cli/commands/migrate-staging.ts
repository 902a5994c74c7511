/**
 * What every `failsafe migrate` command needs: the migration's name in the staging tables, checks of
 * names given on the command line, and the staging database (`--staging`, or embedded PostgreSQL under
 * `.failsafe/migrate/`, started for the command).
 */
import { basename, extname, join } from 'node:path';
import { FailsafeError } from '../../core/errors.js';
import type { LoadedMigration } from '../../migrate/load-migration.js';
import { StagingReports } from '../../migrate/staging-reports.js';
import { StagingStore } from '../../migrate/staging-store.js';
import { connect, settingsFromUrl, type PgSession } from '../../postgres/connection.js';
import { settingsFromFlag } from '../postgres-source.js';

export interface MigrateOptions {
  readonly migration: string;
  readonly staging?: string;
}

/** Where the embedded staging cluster keeps its data. */
export const EMBEDDED_STAGING_DIR = join('.failsafe', 'migrate');

/** `name` is one of the migration's datasets; `given` is how the command line named it. */
export function assertDataset(migration: LoadedMigration, name: string, given: string): void {
  if (!migration.graph.order.includes(name)) throw new FailsafeError('USAGE', `${given}: no dataset ${name} in ${migration.file}`);
}

/** The migration's name in the staging tables: its file's name without the extension. */
export function migrationName(migration: LoadedMigration): string {
  return basename(migration.file, extname(migration.file));
}

function connectTo(url: string, flag: string): Promise<PgSession> {
  return connect(settingsFromFlag(url, flag));
}

/**
 * Connects to the source: `--source URL` (password from PGPASSWORD or ~/.pgpass), else the migration's
 * `source`; undefined when neither names one.
 */
export function sourceConnector(migration: LoadedMigration, flag: string | undefined, env: NodeJS.ProcessEnv): (() => Promise<PgSession>) | undefined {
  if (flag !== undefined) return () => connectTo(flag, '--source');
  const source = migration.definition.source;
  if (source === undefined) return undefined;
  const settings = settingsFromUrl(source.url, source.passwordEnv, env, `${migration.file}: source`);
  return () => connect(settings);
}

/**
 * Runs `work` with a way to open sessions on the staging database (`work` ends them): `--staging`, or
 * an embedded cluster kept under `.failsafe/migrate/`, started for the command.
 */
export async function withStaging(options: MigrateOptions, work: (openStaging: () => Promise<PgSession>) => Promise<void>): Promise<void> {
  if (options.staging) return work(() => connectTo(options.staging!, '--staging'));
  const { EmbeddedCluster } = await import('../../postgres/embedded-cluster.js');
  const cluster = await EmbeddedCluster.start({ baseDir: EMBEDDED_STAGING_DIR });
  try {
    return await work(() => connect({ ...cluster.connection('postgres'), sslMode: 'disable' }));
  } finally {
    await cluster.stop();
  }
}

/** Runs `work` on the staging tables through one session. */
export async function withStagingStore(options: MigrateOptions, work: (store: StagingStore) => Promise<void>): Promise<void> {
  await withStagingSession(options, async (session) => work(await StagingStore.open(session)));
}

/** Runs `work` reading the staging tables through one session. */
export async function withStagingReports(options: MigrateOptions, work: (reports: StagingReports) => Promise<void>): Promise<void> {
  await withStagingSession(options, async (session) => work(await StagingReports.open(session)));
}

/** Runs `work` on one staging session, ended after. */
export async function withStagingSession(options: MigrateOptions, work: (session: PgSession) => Promise<void>): Promise<void> {
  await withStaging(options, async (openStaging) => {
    const session = await openStaging();
    try {
      await work(session);
    } finally {
      await session.end();
    }
  });
}

/** The tenants given (`--tenant`), or every tenant the staging database holds runs of. */
export async function tenantsOrAll(reports: StagingReports, migration: LoadedMigration, given: readonly string[] | undefined): Promise<string[]> {
  if (given && given.length > 0) return [...given];
  const tenants = await reports.tenants(migrationName(migration));
  if (tenants.length === 0) throw new FailsafeError('USAGE', `nothing of ${migration.file} is staged yet`, { hint: 'failsafe migrate run first' });
  return tenants;
}
