/**
 * What `failsafe stats` does (its options are declared in stats.ts).
 */
import { formatBytes } from '../../core/units.js';
import { repositoryStats } from '../../repository/stats.js';
import type { CommandContext } from '../context.js';
import { snapshotFilter, type SnapshotFilterOptions } from './snapshot-filter-options.js';

export async function runStats(ctx: CommandContext, options: SnapshotFilterOptions): Promise<void> {
  const repo = await ctx.openRepository();
  const stats = await repositoryStats(repo, snapshotFilter(options));
  ctx.output.result(stats);
  ctx.output.table(
    [
      ['snapshots', String(stats.snapshots)],
      ['total size of the snapshots', formatBytes(stats.restoreBytes)],
      ['unique data (before compression)', `${formatBytes(stats.uniqueRawBytes)} in ${stats.uniqueBlobs} blobs`],
      ['unique data stored', formatBytes(stats.uniqueStoredBytes)],
      ['repository packs', `${formatBytes(stats.packBytes)} in ${stats.packs} packs`],
      ['deduplication ratio', `${stats.deduplicationRatio.toFixed(2)}x`],
      ['compression ratio', `${stats.compressionRatio.toFixed(2)}x`],
    ],
    [1],
  );
}
