/**
 * What `failsafe demo` does (its options are declared in demo.ts): the tenant escrow story of
 * demo-escrow.ts, or with --files the file backup round trip.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FailsafeError } from '../../core/errors.js';
import { formatBytes, formatCount, formatNumber, formatSeconds, parseByteSize } from '../../core/units.js';
import { diffFingerprints, fingerprintTree, generateDataset, mutateDataset } from '../../demo/dataset.js';
import { checkRepository } from '../../repository/check.js';
import { forget } from '../../repository/forget.js';
import { prune } from '../../repository/prune.js';
import { Repository } from '../../repository/repository.js';
import { shortId } from '../../repository/snapshot.js';
import { diffTrees } from '../../repository/tree-diff.js';
import { backupPaths } from '../../sources/paths/backup-paths.js';
import { restorePaths } from '../../sources/paths/restore-paths.js';
import { openStorage } from '../../storage/open-storage.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { escrowDemo } from './demo-escrow.js';

interface DemoOptions {
  readonly files?: boolean;
  readonly size: string;
  readonly scale: number;
  readonly keep?: boolean;
}

export async function runDemo(ctx: CommandContext, options: DemoOptions): Promise<ExitCode> {
  return options.files ? filesDemo(ctx, options) : escrowDemo(ctx, { scale: options.scale, keep: options.keep ?? false });
}

async function filesDemo(ctx: CommandContext, options: DemoOptions): Promise<ExitCode> {
  const out = ctx.output;
  const size = parseByteSize(options.size);
  const work = await mkdtemp(join(tmpdir(), 'failsafe-demo-'));
  // Each step ends by checking for Ctrl-C, so an interrupted demo still removes its directory (below).
  const step = (name: string, text: string): void => {
    out.line(`${name.padEnd(9)}${text}`);
    ctx.signal.throwIfAborted();
  };
  const report: Record<string, unknown> = { workDir: work };
  try {
    out.line(`failsafe demo: an encrypted, deduplicated backup round trip in ${work}`);
    out.line('');
    const dataDir = join(work, 'data');
    let started = Date.now();
    const dataset = await generateDataset(dataDir, { bytes: size });
    step('data', `generated ${dataset.files} files, ${formatBytes(dataset.bytes)}: ${formatNumber(dataset.rows)} table rows, photos, PDFs, duplicates (${secondsSince(started)})`);

    // The demo's own repository password: random, held in memory only.
    const password = randomBytes(24).toString('base64');
    const storage = await openStorage(join(work, 'repository'));
    try {
      const repo = await Repository.init(storage, password);
      step('init', `created encrypted repository ${shortId(repo.config.id)} at ${storage.location}`);

      started = Date.now();
      const first = await backupPaths(repo, { paths: [dataDir], tags: ['demo'], signal: ctx.signal, onProgress: ctx.progress.listener });
      ctx.progress.done();
      const s1 = first.snapshot.summary;
      step(
        'backup',
        `snapshot ${shortId(first.snapshot.id)}: read ${formatBytes(s1.bytes)}, stored ${formatBytes(s1.newStoredBytes)} ` +
          `(duplicates stored once, zstd, AES-256-GCM) in ${secondsSince(started)}`,
      );

      const mutation = await mutateDataset(dataDir, { fraction: 0.01 });
      step('change', `a day of activity: ${mutation.appendedRows} rows appended, ${mutation.editedRows} rows edited in place`);

      started = Date.now();
      const second = await backupPaths(repo, { paths: [dataDir], tags: ['demo'], signal: ctx.signal, onProgress: ctx.progress.listener });
      ctx.progress.done();
      const s2 = second.snapshot.summary;
      step(
        'backup',
        `snapshot ${shortId(second.snapshot.id)}: ${second.filesChanged} changed files read again, ${second.filesUnchanged} unchanged skipped; ` +
          `added ${formatBytes(s2.newStoredBytes)} (${((100 * s2.newStoredBytes) / Math.max(1, s1.newStoredBytes)).toFixed(1)}% of the first) in ${secondsSince(started)}`,
      );

      let changed = 0;
      for await (const change of diffTrees(repo, first.snapshot.tree, second.snapshot.tree)) {
        if (change.type === 'file') {
          if (changed < 3) step(changed === 0 ? 'diff' : '', `${change.change} ${change.path}`);
          changed++;
        }
      }
      if (changed > 3) step('', `… ${changed - 3} more changed files`);

      const forgotten = await forget(repo, { policy: { keepLast: 1 } });
      const pruned = await prune(repo, { onProgress: ctx.progress.listener });
      ctx.progress.done();
      step(
        'forget',
        `--keep-last 1 removed snapshot ${forgotten.removed.map(shortId).join(', ')}; prune deleted ${formatCount(pruned.packsDeleted, 'pack')} ` +
          `(${formatBytes(pruned.bytesDeleted)}) and rewrote ${formatCount(pruned.plan.repackPacks, 'partly used pack')}`,
      );

      const check = await checkRepository(repo, { readData: true, onProgress: ctx.progress.listener });
      ctx.progress.done();
      step('check', `read and verified ${check.packsRead} packs (${formatBytes(check.bytesRead)}): ${check.ok ? 'no errors' : `${check.problems.length} problems`}`);

      started = Date.now();
      const target = join(work, 'restore');
      const restored = await restorePaths(repo, second.snapshot, { target, signal: ctx.signal, onProgress: ctx.progress.listener });
      ctx.progress.done();
      const identical = await sameTree(dataDir, join(target, dataDir));
      step(
        'restore',
        `${restored.filesRestored} files, ${formatBytes(restored.bytesRestored)} to ${target} in ${secondsSince(started)}: ` +
          (identical ? 'identical to the source (content, modes, mtimes)' : 'DIFFERS from the source'),
      );
      out.line('');
      out.line(
        options.keep
          ? `kept ${work}; the repository password was random and is gone, so the repository is for looking at sizes only`
          : 'cleaned up. Next: `failsafe init` a repository of your own (see README).',
      );
      Object.assign(report, { dataset, first: first.snapshot, second: second.snapshot, mutation, prune: pruned, check, identical });
      ctx.output.result(report);
      if (!check.ok || !identical) throw new FailsafeError('VERIFY_FAILED', 'the demo round trip did not verify');
      return ExitCode.Ok;
    } finally {
      await storage.close();
    }
  } finally {
    if (!options.keep) await rm(work, { recursive: true, force: true });
  }
}

async function sameTree(a: string, b: string): Promise<boolean> {
  const [left, right] = await Promise.all([fingerprintTree(a), fingerprintTree(b)]);
  return diffFingerprints(left, right).length === 0;
}

function secondsSince(start: number): string {
  return formatSeconds((Date.now() - start) / 1000);
}
