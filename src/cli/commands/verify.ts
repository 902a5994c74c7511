import type { Command } from 'commander';
import { connect } from '../../postgres/connection.js';
import { readDatabaseManifest } from '../../sources/postgres/restore-database.js';
import { verifyDatabase } from '../../sources/postgres/verify-database.js';
import { runAction, withExamples } from '../command.js';
import { resolvePostgresSource } from '../postgres-source.js';
import { addSnapshotFilterOptions, snapshotFilter, type SnapshotFilterOptions } from './snapshot-filter-options.js';
import { printVerification } from './restore-database.js';

interface VerifyOptions extends SnapshotFilterOptions {
  readonly postgres: string;
}

export function registerVerify(program: Command): void {
  const command = program
    .command('verify')
    .description("check a database against a snapshot: each table's row count and checksum, and every foreign key")
    .argument('<snapshot>', 'snapshot id (or prefix), or "latest"')
    .requiredOption('--postgres <url>', 'the database to check (password from PGPASSWORD or ~/.pgpass)');
  addSnapshotFilterOptions(command);
  withExamples(command, 'PGPASSWORD=... failsafe verify latest --tenant 42 --postgres postgres://dalata@restore-db/app');
  command.action(
    runAction(async (ctx, ref: string, options: VerifyOptions) => {
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
    }),
  );
}
