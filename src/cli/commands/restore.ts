import type { Command } from 'commander';
import { FailsafeError } from '../../core/errors.js';
import { formatBytes, formatCount, formatSeconds } from '../../core/units.js';
import { restoreObjects } from '../../sources/objects/objects-part.js';
import { shortId } from '../../repository/snapshot.js';
import { dumpFile } from '../../sources/dump-file.js';
import { restorePaths } from '../../sources/paths/restore-paths.js';
import { runAction, withExamples } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { collect, parsePositiveInteger } from './option-parsers.js';
import { restoreDatabaseSnapshot, type DatabaseRestoreOptions } from './restore-database.js';
import { addSnapshotFilterOptions, snapshotFilter, type SnapshotFilterOptions } from './snapshot-filter-options.js';

interface RestoreOptions extends SnapshotFilterOptions, Omit<DatabaseRestoreOptions, 'postgres'> {
  readonly postgres?: string;
  readonly objects?: string;
  readonly target?: string;
  readonly include: string[];
  readonly overwrite?: boolean;
  readonly dryRun?: boolean;
  readonly verify?: boolean;
  readonly stdout?: boolean;
  readonly file?: string;
}

export function registerRestore(program: Command): void {
  const command = program
    .command('restore')
    .description('restore a snapshot into a directory, or one file to standard output')
    .argument('<snapshot>', 'snapshot id (or prefix), or "latest"')
    .option('--target <dir>', 'directory to restore into (created if missing)')
    .option('-i, --include <path>', 'restore only this path of the snapshot (repeatable)', collect, [])
    .option('--overwrite', 'replace files that already exist in the target')
    .option('--dry-run', 'show what would be restored and any conflicts, write nothing')
    .option('--verify', 'also recompute the keyed hash of every blob read (every blob is authenticated anyway)')
    .option('--stdout', 'write one file to standard output (the file of a --stdin snapshot, or --file)')
    .option('--file <path>', 'with --stdout: the path of the file in the snapshot')
    .option('--postgres <url>', 'database snapshots: restore into this database (password from PGPASSWORD or ~/.pgpass)')
    .option('-j, --jobs <n>', 'databases: parallel COPY sessions (default 2)', parsePositiveInteger)
    .option('--clean', 'databases: drop the schemas the snapshot restores first, instead of requiring an empty database')
    .option('--schema-only', 'databases: restore the schema, no rows')
    .option('--data-only', 'databases: restore rows into existing tables')
    .option('--table <schema.table>', 'databases: restore only this table\'s rows (repeatable)', collect, [])
    .option('--objects <url>', "snapshots with objects: write them to s3://bucket/prefix or a directory, under their original keys")
    .option('--no-owners', 'databases: skip the owners and privileges a backup --owners recorded')
    .option('--no-verify', 'databases: skip checking row counts, checksums and foreign keys afterwards');
  addSnapshotFilterOptions(command);
  withExamples(
    command,
    'failsafe restore latest --target /tmp/restore',
    'failsafe restore 1a2b3c4d --target /srv/app-restored --include /srv/app/config',
    'failsafe restore latest --stdout > app.sql      # a snapshot made with backup --stdin',
    'PGPASSWORD=... failsafe restore latest --tenant 42 --postgres postgres://dalata@localhost/hotel --jobs 4',
    'failsafe restore latest --tenant 42 --objects s3://dalata-files/',
  );
  command.action(
    runAction(async (ctx, ref: string, options: RestoreOptions) => {
      const repo = await ctx.openRepository();
      const snapshot = await repo.findSnapshot(ref, snapshotFilter(options));
      if (options.postgres || options.objects) {
        if (options.target || options.stdout) throw new FailsafeError('USAGE', '--postgres/--objects cannot be combined with --target or --stdout');
        const code = options.postgres ? await restoreDatabaseSnapshot(ctx, repo, snapshot, { ...options, postgres: options.postgres }) : ExitCode.Ok;
        if (options.objects) {
          const store = await ctx.openObjectStore(options.objects, undefined);
          const result = await restoreObjects(repo, snapshot, store, { signal: ctx.signal });
          ctx.progress.done();
          ctx.output.line(`restored ${formatCount(result.objects, 'object')}, ${formatBytes(result.bytes)} to ${store.location}`);
        }
        return code;
      }
      if (snapshot.source.kind === 'postgres' && !options.target && !options.stdout) {
        throw new FailsafeError('USAGE', `snapshot ${shortId(snapshot.id)} is a database snapshot: give --postgres URL to restore it into a database`, {
          hint: 'or --target DIR to get its files (COPY text, schema SQL)',
        });
      }
      if (options.stdout) {
        if (options.target) throw new FailsafeError('USAGE', '--stdout and --target cannot be combined');
        await dumpFile(repo, snapshot, options.file, process.stdout);
        return ExitCode.Ok;
      }
      if (!options.target) throw new FailsafeError('USAGE', 'missing --target DIR (or --stdout)');
      const started = Date.now();
      const result = await restorePaths(repo, snapshot, {
        target: options.target,
        include: options.include,
        overwrite: options.overwrite ?? false,
        dryRun: options.dryRun ?? false,
        verify: options.verify ?? false,
        signal: ctx.signal,
        onProgress: ctx.progress.listener,
        onWarning: (warning) => ctx.progress.print(`warning: ${warning.path}: ${warning.message}`),
      });
      ctx.progress.done();
      ctx.output.result({ snapshot: snapshot.id, dryRun: options.dryRun ?? false, ...result });
      const { plan } = result;
      if (options.dryRun) {
        ctx.output.line(
          `would restore snapshot ${shortId(snapshot.id)} to ${result.target}: ${plan.files} files, ${plan.dirs} directories, ` +
            `${plan.symlinks} symlinks, ${formatBytes(plan.bytes)}`,
        );
        for (const conflict of plan.conflicts.slice(0, 20)) ctx.output.line(`  exists: ${conflict}`);
        if (plan.conflicts.length > 0) {
          ctx.output.line(`${plan.conflicts.length} existing path(s) would ${options.overwrite ? 'be replaced' : 'block the restore (use --overwrite)'}`);
        }
        return ExitCode.Ok;
      }
      const seconds = (Date.now() - started) / 1000;
      ctx.output.line(
        `restored snapshot ${shortId(snapshot.id)} to ${result.target}: ${result.filesRestored} files, ` +
          `${formatBytes(result.bytesRestored)} in ${formatSeconds(seconds)} (${formatBytes(result.bytesRestored / Math.max(seconds, 0.001))}/s)`,
      );
      if (result.failed.length > 0) {
        ctx.output.notice(`failsafe: ${result.failed.length} file(s) could not be restored intact; run \`failsafe check --read-data\``);
        return ExitCode.VerifyFailed;
      }
      return ExitCode.Ok;
    }),
  );
}
