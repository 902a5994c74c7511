import type { Command } from 'commander';
import { formatBytes } from '../../core/units.js';
import { repositoryStats } from '../../repository/stats.js';
import { runAction, withExamples } from '../command.js';
import { addSnapshotFilterOptions, snapshotFilter, type SnapshotFilterOptions } from './snapshot-filter-options.js';

export function registerStats(program: Command): void {
  const command = program.command('stats').description('sizes: what the snapshots hold, what the repository stores, what deduplication and compression save');
  addSnapshotFilterOptions(command);
  withExamples(command, 'failsafe stats', 'failsafe stats --host web-1 --json');
  command.action(
    runAction(async (ctx, options: SnapshotFilterOptions) => {
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
    }),
  );
}
