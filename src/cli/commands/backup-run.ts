/**
 * What `failsafe backup` does (its options are declared in backup.ts): files and directories, standard
 * input, or the configured sources, each into its repository. The database half (backup-database.ts)
 * is imported only for database sources.
 */
import { FailsafeError, withContext } from '../../core/errors.js';
import type { Warning } from '../../core/progress.js';
import { formatBytes, formatCount, formatSeconds } from '../../core/units.js';
import type { Snapshot } from '../../repository/snapshot.js';
import { shortId } from '../../repository/snapshot.js';
import { backupPaths } from '../../sources/paths/backup-paths.js';
import { backupStdin } from '../../sources/stdin/backup-stdin.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import type { DatabaseBackupOptions } from './backup-database.js';

interface BackupOptions extends DatabaseBackupOptions {
  readonly path: string[];
  readonly source: string[];
  readonly stdin?: boolean;
  readonly stdinName?: string;
  readonly tag: string[];
  readonly exclude: string[];
  readonly host?: string;
  readonly parent?: string;
  readonly force?: boolean;
  readonly time?: Date;
}

export async function runBackup(ctx: CommandContext, options: BackupOptions): Promise<ExitCode> {
  const runs: { snapshot: Snapshot; warnings: readonly Warning[]; line: string }[] = [];
  const failures: { source: string; error: FailsafeError }[] = [];
  const onWarning = (warning: Warning): void => ctx.progress.print(`warning: ${warning.path}: ${warning.message}`);
  const started = Date.now();
  if (options.stdin) {
    if (options.path.length > 0) throw new FailsafeError('USAGE', '--stdin and --path cannot be combined');
    const repo = await ctx.openRepository();
    const snapshot = await backupStdin(repo, {
      name: options.stdinName ?? 'stdin',
      input: process.stdin,
      tags: options.tag,
      ...(options.host ? { host: options.host } : {}),
      ...(options.time ? { time: options.time } : {}),
      onProgress: ctx.progress.listener,
    });
    runs.push({ snapshot, warnings: [], line: describe(snapshot, started) });
  } else {
    const jobs = await planJobs(ctx, options);
    for (const job of jobs) {
      const jobStarted = Date.now();
      if (job.kind === 'postgres') {
        const onFailure = (what: string, error: FailsafeError): void => {
          ctx.progress.print(`failsafe: ${error.message}${error.hint ? ` (${error.hint})` : ''}`);
          failures.push({ source: what, error });
        };
        try {
          const { backupDatabaseSource } = await import('./backup-database.js');
          for (const run of await backupDatabaseSource(ctx, job.source, options, onFailure)) runs.push({ snapshot: run.snapshot, warnings: [], line: run.line });
        } catch (err) {
          if (jobs.length === 1 || ctx.signal.aborted) throw err;
          onFailure(job.source ?? 'database', withContext(`source ${job.source}`, err));
        }
        continue;
      }
      try {
        const repo = await ctx.openRepository(job.repository);
        const result = await backupPaths(repo, {
          paths: job.paths,
          exclude: job.exclude,
          tags: job.tags,
          ...(job.source ? { sourceName: job.source } : {}),
          ...(options.host ? { host: options.host } : {}),
          ...(options.time ? { time: options.time } : {}),
          parent: options.force ? 'none' : (options.parent ?? 'auto'),
          signal: ctx.signal,
          onProgress: ctx.progress.listener,
          onWarning,
        });
        const files = `${result.filesNew} new, ${result.filesChanged} changed, ${result.filesUnchanged} unchanged files`;
        runs.push({ snapshot: result.snapshot, warnings: result.warnings, line: `${describe(result.snapshot, jobStarted)}\n  ${files}` });
      } catch (err) {
        // One source failing (its repository unreachable, locked, its password missing) must not cost
        // the other sources their backup: report it, go on, and fail the command at the end.
        if (jobs.length === 1 || ctx.signal.aborted) throw err;
        const failure = withContext(`source ${job.source}`, err);
        ctx.progress.print(`failsafe: ${failure.message}${failure.hint ? ` (${failure.hint})` : ''}`);
        failures.push({ source: job.source ?? '', error: failure });
      }
    }
  }
  ctx.progress.done();
  for (const run of runs) ctx.output.line(run.line);
  ctx.output.result(runs.map((run) => ({ snapshot: run.snapshot, warnings: run.warnings })));
  if (failures.length > 0) {
    const total = failures.length + runs.length;
    throw new FailsafeError(failures[0]!.error.code, `${failures.length} of ${total} backups failed: ${failures.map((f) => f.source).join(', ')}`);
  }
  const warnings = runs.reduce((sum, run) => sum + run.warnings.length, 0);
  if (warnings > 0) {
    ctx.output.notice(`failsafe: ${formatCount(warnings, 'file')} could not be read; the snapshot does not contain ${warnings === 1 ? 'it' : 'them'}`);
    return ExitCode.Partial;
  }
  return ExitCode.Ok;
}

type BackupJob = PathsJob | { readonly kind: 'postgres'; readonly source: string | undefined };

interface PathsJob {
  readonly kind: 'paths';
  readonly paths: readonly string[];
  readonly exclude: readonly string[];
  readonly tags: readonly string[];
  readonly source: string | undefined;
  readonly repository: string | undefined;
}

/** Ad-hoc paths from flags, else the configured `paths` sources (all, or those named with --source). */
async function planJobs(ctx: CommandContext, options: BackupOptions): Promise<BackupJob[]> {
  const tenantFlags = options.tenant !== undefined || options.allTenants === true;
  // Without a tenant these would be ignored, and a forgotten --tenant would put every tenant's rows
  // wherever the tenant's copy was meant to go.
  const tenantOnly = Object.entries({
    '--tenant-root': options.tenantRoot,
    '--tenant-key': options.tenantKey,
    '--tenant-ownership': options.tenantOwnership,
    '--tenant-prefix': options.tenantPrefix,
    '--on-cross-tenant': options.onCrossTenant,
  }).filter(([, value]) => value !== undefined);
  if (!tenantFlags && tenantOnly.length > 0) {
    const flags = tenantOnly.map(([flag]) => flag);
    throw new FailsafeError('USAGE', `${flags.join(', ')} ${flags.length === 1 ? 'selects' : 'select'} a tenant's rows, but no tenant is given`, {
      hint: 'add --tenant ID, or --all-tenants with tenants: in the config; without either the whole database is backed up',
    });
  }
  if (options.postgres) {
    if (options.path.length > 0 || options.source.length > 0) throw new FailsafeError('USAGE', '--postgres cannot be combined with --path or --source');
    return [{ kind: 'postgres', source: undefined }];
  }
  if (options.tenant !== undefined && options.allTenants) throw new FailsafeError('USAGE', '--tenant and --all-tenants cannot be combined');
  if (options.path.length > 0) {
    if (options.source.length > 0) throw new FailsafeError('USAGE', '--path and --source cannot be combined');
    if (tenantFlags) throw new FailsafeError('USAGE', '--tenant and --all-tenants apply to database sources, not --path');
    return [{ kind: 'paths', paths: options.path, exclude: options.exclude, tags: options.tag, source: undefined, repository: undefined }];
  }
  const config = await ctx.config();
  // With --tenant or --all-tenants, only database sources take part.
  const names =
    options.source.length > 0
      ? options.source
      : Object.entries(config.sources)
          // Objects sources go into the snapshot of the database source they belong with.
          .filter(([, s]) => s.kind !== 'objects' && (!tenantFlags || s.kind === 'postgres'))
          .map(([name]) => name);
  if (names.length === 0) {
    throw new FailsafeError('USAGE', 'nothing to back up', {
      hint: 'give --path DIR, --stdin, or define sources in failsafe.yaml',
    });
  }
  return names.map((name) => {
    const source = config.sources[name];
    if (!source) {
      throw new FailsafeError('USAGE', `no source named "${name}" in the config (defined: ${Object.keys(config.sources).join(', ') || 'none'})`);
    }
    if (source.kind === 'postgres') return { kind: 'postgres', source: name };
    if (source.kind === 'objects') {
      throw new FailsafeError('USAGE', `"${name}" is an objects source: it is backed up with the database source, in the same snapshot`, {
        hint: 'name the postgres source with --source',
      });
    }
    if (tenantFlags) throw new FailsafeError('USAGE', `--tenant and --all-tenants apply to database sources; "${name}" is a ${source.kind} source`);
    return {
      kind: 'paths',
      paths: source.paths,
      exclude: [...source.exclude, ...options.exclude],
      tags: [...source.tags, ...options.tag],
      source: name,
      repository: source.repository,
    };
  });
}

function describe(snapshot: Snapshot, started: number): string {
  const { summary } = snapshot;
  const seconds = (Date.now() - started) / 1000;
  const rate = seconds > 0 ? `, ${formatBytes(summary.bytes / seconds)}/s` : '';
  return (
    `snapshot ${shortId(snapshot.id)} saved: ${formatCount(summary.files, 'file')}, ${formatBytes(summary.bytes)}` +
    ` in ${formatSeconds(seconds)}${rate}; added ${formatBytes(summary.newStoredBytes)} to the repository` +
    ` (${summary.newBlobs} new blobs, ${formatBytes(summary.newRawBytes)} before compression)`
  );
}
