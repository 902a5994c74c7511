/**
 * The database half of `failsafe restore`: a database snapshot into a PostgreSQL database, then its
 * verification (exit 3 when a table or a foreign key does not match).
 */
import { formatBytes, formatCount, formatSeconds } from '../../core/units.js';
import { connect, type ConnectionSettings, type PgSession } from '../../postgres/connection.js';
import type { Repository } from '../../repository/repository.js';
import { shortId, type Snapshot } from '../../repository/snapshot.js';
import { restoreDatabase, type RestoreSection } from '../../sources/postgres/restore-database.js';
import type { VerifyReport } from '../../sources/postgres/verify-database.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { resolvePostgresSource } from '../postgres-source.js';

export interface DatabaseRestoreOptions {
  readonly postgres: string;
  readonly jobs?: number;
  readonly clean?: boolean;
  readonly schemaOnly?: boolean;
  readonly dataOnly?: boolean;
  readonly table: string[];
  readonly dryRun?: boolean;
  readonly verify?: boolean;
  readonly owners?: boolean;
}

/** A database restore whose target is connected (except for a dry run); `end` closes the connection. */
export interface DatabaseRestore {
  run(repo: Repository, snapshot: Snapshot): Promise<ExitCode>;
  end(): Promise<void>;
}

/**
 * Resolves and connects the database a restore writes to. `restore` does this while the repository's
 * key is derived, so loading the driver and connecting cost no time of their own.
 */
export async function prepareDatabaseRestore(ctx: CommandContext, options: DatabaseRestoreOptions): Promise<DatabaseRestore> {
  const { settings } = await resolvePostgresSource(ctx, { postgres: options.postgres });
  const session = options.dryRun ? undefined : await connect(settings);
  return {
    run: (repo, snapshot) => restoreDatabaseSnapshot(ctx, repo, snapshot, settings, session, options),
    end: async () => session?.end(),
  };
}

async function restoreDatabaseSnapshot(
  ctx: CommandContext,
  repo: Repository,
  snapshot: Snapshot,
  settings: ConnectionSettings,
  session: PgSession | undefined,
  options: DatabaseRestoreOptions,
): Promise<ExitCode> {
  const sections: RestoreSection[] = options.schemaOnly ? ['pre-data', 'post-data'] : options.dataOnly ? ['data'] : ['pre-data', 'data', 'post-data'];
  const started = Date.now();
  const result = await restoreDatabase(repo, snapshot, {
    settings,
    ...(session ? { session } : {}),
    sections,
    tables: options.table,
    ...(options.jobs ? { jobs: options.jobs } : {}),
    clean: options.clean ?? false,
    dryRun: options.dryRun ?? false,
    verify: options.verify !== false,
    owners: options.owners !== false,
    onProgress: ctx.progress.listener,
    signal: ctx.signal,
  });
  ctx.progress.done();
  ctx.output.result({ snapshot: snapshot.id, dryRun: options.dryRun ?? false, steps: result.steps, tables: result.tables, verification: result.verification });
  if (options.dryRun) {
    ctx.output.line(`would restore snapshot ${shortId(snapshot.id)} into ${settings.database} on ${settings.host}:${settings.port}:`);
    for (const step of result.steps) ctx.output.line(`  ${step}`);
    return ExitCode.Ok;
  }
  const rows = result.tables.reduce((n, t) => n + t.rows, 0);
  const bytes = result.tables.reduce((n, t) => n + t.bytes, 0);
  ctx.output.line(
    `restored snapshot ${shortId(snapshot.id)} into ${settings.database}: ${formatCount(result.tables.length, 'table')}, ` +
      `${formatCount(rows, 'row')}, ${formatBytes(bytes)} in ${formatSeconds((Date.now() - started) / 1000)}`,
  );
  return result.verification ? printVerification(ctx, result.verification) : ExitCode.Ok;
}

/** One line when all is well; a line per problem otherwise (exit 3). */
export function printVerification(ctx: CommandContext, report: VerifyReport): ExitCode {
  if (report.ok) {
    ctx.output.line(
      `verified: ${formatCount(report.tables.length, 'table')} match the snapshot (rows and checksums), ` +
        `${formatCount(report.foreignKeys.length, 'foreign key')} hold`,
    );
    return ExitCode.Ok;
  }
  for (const table of report.tables.filter((t) => t.problem !== '')) ctx.output.notice(`verify: table ${table.table}: ${table.problem}`);
  for (const fk of report.foreignKeys.filter((f) => f.violations > 0)) {
    ctx.output.notice(`verify: foreign key ${fk.name} (${fk.from} → ${fk.to}): ${formatCount(fk.violations, 'row')} without a parent`);
  }
  ctx.output.notice('failsafe: verification failed');
  return ExitCode.VerifyFailed;
}
