/**
 * What `failsafe restore` does (its options are declared in restore.ts): a snapshot into a directory, one
 * file to standard output, or a database snapshot into a database and its objects into a store. The
 * database half (restore-database.ts, ~15 ms to load) is imported only with --postgres.
 */
import { FailsafeError } from '../../core/errors.js';
import { formatBytes, formatCount, formatSeconds } from '../../core/units.js';
import { restoreObjects } from '../../sources/objects/objects-part.js';
import type { Repository } from '../../repository/repository.js';
import { shortId } from '../../repository/snapshot.js';
import { dumpFile } from '../../sources/dump-file.js';
import { restorePaths } from '../../sources/paths/restore-paths.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import type { DatabaseRestore, DatabaseRestoreOptions } from './restore-database.js';
import { snapshotFilter, type SnapshotFilterOptions } from './snapshot-filter-options.js';

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

export async function runRestore(ctx: CommandContext, ref: string, options: RestoreOptions): Promise<ExitCode> {
  if ((options.postgres || options.objects) && (options.target || options.stdout)) {
    throw new FailsafeError('USAGE', '--postgres/--objects cannot be combined with --target or --stdout');
  }
  if (options.schemaOnly && options.dataOnly) throw new FailsafeError('USAGE', '--schema-only and --data-only cannot be combined');
  const opening = await ctx.startOpeningRepository();
  // A database restore loads its code and connects to the target while the repository's key is derived.
  const { postgres } = options;
  const database = postgres ? import('./restore-database.js').then((m) => m.prepareDatabaseRestore(ctx, { ...options, postgres })) : undefined;
  database?.catch(() => {}); // awaited below, once the repository is open; until then a failure must not count as unhandled
  try {
    return await restore(ctx, await opening.repository, ref, options, database);
  } finally {
    await database?.then((prepared) => prepared.end()).catch(() => undefined);
  }
}

async function restore(
  ctx: CommandContext,
  repo: Repository,
  ref: string,
  options: RestoreOptions,
  database: Promise<DatabaseRestore> | undefined,
): Promise<ExitCode> {
  const snapshot = await repo.findSnapshot(ref, snapshotFilter(options));
  if (options.postgres || options.objects) {
    const code = database ? await (await database).run(repo, snapshot) : ExitCode.Ok;
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
      `would restore snapshot ${shortId(snapshot.id)} to ${result.target}: ${formatCount(plan.files, 'file')}, ${formatCount(plan.dirs, 'directory', 'directories')}, ` +
        `${formatCount(plan.symlinks, 'symlink')}, ${formatBytes(plan.bytes)}`,
    );
    for (const conflict of plan.conflicts.slice(0, 20)) ctx.output.line(`  exists: ${conflict}`);
    if (plan.conflicts.length > 0) {
      ctx.output.line(`${plan.conflicts.length} existing path(s) would ${options.overwrite ? 'be replaced' : 'block the restore (use --overwrite)'}`);
    }
    return ExitCode.Ok;
  }
  const seconds = (Date.now() - started) / 1000;
  ctx.output.line(
    `restored snapshot ${shortId(snapshot.id)} to ${result.target}: ${formatCount(result.filesRestored, 'file')}, ` +
      `${formatBytes(result.bytesRestored)} in ${formatSeconds(seconds)} (${formatBytes(result.bytesRestored / Math.max(seconds, 0.001))}/s)`,
  );
  if (result.failed.length > 0) {
    ctx.output.notice(`failsafe: ${result.failed.length} file(s) could not be restored intact; run \`failsafe check --read-data\``);
    return ExitCode.VerifyFailed;
  }
  return ExitCode.Ok;
}
