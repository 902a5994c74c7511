/**
 * What `failsafe verify` does (its options are declared in verify.ts).
 */
import { connect } from '../../postgres/connection.js';
import { readDatabaseManifest } from '../../sources/postgres/restore-database.js';
import { verifyDatabase } from '../../sources/postgres/verify-database.js';
import type { CommandContext } from '../context.js';
import type { ExitCode } from '../exit-codes.js';
import { resolvePostgresSource } from '../postgres-source.js';
import { printVerification } from './restore-database.js';
import { snapshotFilter, type SnapshotFilterOptions } from './snapshot-filter-options.js';

interface VerifyOptions extends SnapshotFilterOptions {
  readonly postgres: string;
}

export async function runVerify(ctx: CommandContext, ref: string, options: VerifyOptions): Promise<ExitCode> {
  const repo = await ctx.openRepository();
  const snapshot = await repo.findSnapshot(ref, snapshotFilter(options));
  const manifest = await readDatabaseManifest(repo, snapshot);
  const { settings } = await resolvePostgresSource(ctx, { postgres: options.postgres });
  const session = await connect(settings);
  try {
    ctx.progress.note(`verifying ${settings.database} against snapshot ${snapshot.id.slice(0, 8)}...`);
    const report = await verifyDatabase(session, manifest);
    ctx.progress.done();
    ctx.output.result(report);
    return printVerification(ctx, report);
  } finally {
    await session.end();
  }
}
