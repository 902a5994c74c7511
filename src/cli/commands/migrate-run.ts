/**
 * What `failsafe migrate plan|run|status` do (declared in migrate.ts): load the migration file, connect
 * to the source and the staging database (embedded PostgreSQL under `.failsafe/migrate/` unless
 * `--staging` names one), and call the engine in src/migrate.
 */
import { basename, extname, join } from 'node:path';
import { FailsafeError } from '../../core/errors.js';
import { formatCount } from '../../core/units.js';
import { loadMigration, type LoadedMigration } from '../../migrate/load-migration.js';
import { stageTenant } from '../../migrate/stage-tenant.js';
import { StagingStore } from '../../migrate/staging-store.js';
import { connect, parsePostgresUrl, urlHasPassword, type PgSession } from '../../postgres/connection.js';
import type { CommandContext } from '../context.js';

interface MigrateOptions {
  readonly migration: string;
  readonly staging?: string;
}

export async function runMigratePlan(ctx: CommandContext, options: MigrateOptions & { source: string; tenant: string }): Promise<void> {
  const migration = await loadMigration(options.migration);
  const source = await connectTo(options.source, '--source');
  try {
    const rows: string[][] = [['dataset', 'depends on', 'source rows']];
    const counts: Record<string, number> = {};
    for (const dataset of migration.graph.order) {
      const { extract } = migration.definition.datasets[dataset]!;
      const { rows: result } = await source.query<{ n: string }>(`SELECT count(*)::text AS n FROM (${extract}) s`, [options.tenant]);
      counts[dataset] = Number(result[0]!.n);
      rows.push([dataset, migration.graph.dependsOn(dataset).join(', ') || '-', counts[dataset]!.toLocaleString('en')]);
    }
    ctx.output.result({ migration: migrationName(migration), tenant: options.tenant, order: migration.graph.order, sourceRows: counts });
    ctx.output.line(`migration ${migrationName(migration)}, tenant ${options.tenant}: ${formatCount(migration.graph.order.length, 'dataset')} in this order`);
    ctx.output.table(rows, [2]);
  } finally {
    await source.end();
  }
}

export async function runMigrateRun(ctx: CommandContext, options: MigrateOptions & { source: string; tenant: string[]; only?: string[]; stageOnly?: boolean }): Promise<void> {
  if (!options.stageOnly) {
    throw new FailsafeError('USAGE', 'loading into targets is not built yet: give --stage-only', { hint: 'see docs/migration.md for what comes next' });
  }
  const migration = await loadMigration(options.migration);
  const restage = options.only?.flatMap((given) => {
    const name = given.endsWith('+') ? given.slice(0, -1) : given;
    if (!migration.graph.order.includes(name)) throw new FailsafeError('USAGE', `--only ${given}: no dataset ${name} in ${migration.file}`);
    return given.endsWith('+') ? migration.graph.withDependants(name) : [name];
  });
  await withStaging(options, async (staging) => {
    const source = await connectTo(options.source, '--source');
    try {
      for (const tenant of options.tenant) {
        const result = await stageTenant({ migration, name: migrationName(migration), tenant, source, staging, ...(restage ? { restage } : {}), onProgress: ctx.progress.listener, signal: ctx.signal });
        ctx.progress.done();
        ctx.output.result({ tenant, ...result });
        ctx.output.line(`tenant ${tenant}: staged (run ${result.runId})`);
        ctx.output.table(
          [['dataset', '', 'rows read', 'records', 'rejected'], ...result.datasets.map((d) => [d.dataset, d.outcome, String(d.rowsRead), String(d.records), String(d.rejected)])],
          [2, 3, 4],
        );
      }
    } finally {
      await source.end();
    }
  });
}

export async function runMigrateStatus(ctx: CommandContext, options: MigrateOptions & { tenant: string[] }): Promise<void> {
  const migration = await loadMigration(options.migration);
  await withStaging(options, async (staging) => {
    const store = await StagingStore.open(staging);
    for (const tenant of options.tenant) {
      const counts = await store.counts(migrationName(migration), tenant);
      const datasets = migration.graph.order.map((dataset) => ({ dataset, ...(counts.get(dataset) ?? { staged: 0, rejected: 0, done: false }) }));
      ctx.output.result({ tenant, datasets });
      ctx.output.line(`tenant ${tenant}:`);
      ctx.output.table([['dataset', 'staged', 'rejected', ''], ...datasets.map((d) => [d.dataset, String(d.staged), String(d.rejected), d.done ? 'done' : counts.has(d.dataset) ? 'unfinished' : 'not staged'])], [1, 2]);
    }
  });
}

/** The migration's name in the staging tables: its file's name without the extension. */
function migrationName(migration: LoadedMigration): string {
  return basename(migration.file, extname(migration.file));
}

async function connectTo(url: string, flag: string): Promise<PgSession> {
  if (urlHasPassword(url)) {
    throw new FailsafeError('USAGE', `the ${flag} URL contains a password, which would be visible to every user of this machine`, {
      hint: 'remove it from the URL and set PGPASSWORD (or use ~/.pgpass)',
    });
  }
  return connect(parsePostgresUrl(url));
}

/** Runs `work` on the staging database: `--staging`, or an embedded cluster kept under `.failsafe/migrate/`. */
async function withStaging(options: MigrateOptions, work: (staging: PgSession) => Promise<void>): Promise<void> {
  if (options.staging) {
    const session = await connectTo(options.staging, '--staging');
    try {
      return await work(session);
    } finally {
      await session.end();
    }
  }
  const { EmbeddedCluster } = await import('../../postgres/embedded-cluster.js');
  const cluster = await EmbeddedCluster.start({ baseDir: join('.failsafe', 'migrate') });
  try {
    const session = await connect({ ...cluster.connection('postgres'), sslMode: 'disable' });
    try {
      return await work(session);
    } finally {
      await session.end();
    }
  } finally {
    await cluster.stop();
  }
}
