import type { Command } from 'commander';
import { formatBytes, formatCount } from '../../core/units.js';
import { shortId } from '../../repository/snapshot.js';
import { runAction, withExamples } from '../command.js';
import { parsePositiveInteger } from './option-parsers.js';
import { addSnapshotFilterOptions, snapshotFilter, type SnapshotFilterOptions } from './snapshot-filter-options.js';

interface SnapshotsOptions extends SnapshotFilterOptions {
  readonly latest?: number;
}

export function registerSnapshots(program: Command): void {
  const command = program.command('snapshots').description('list snapshots, newest last');
  addSnapshotFilterOptions(command).option('--latest <n>', 'only the n newest snapshots', parsePositiveInteger);
  withExamples(command, 'failsafe snapshots', 'failsafe snapshots --host web-1 --tag nightly --latest 5', 'failsafe snapshots --json');
  command.action(
    runAction(async (ctx, options: SnapshotsOptions) => {
      const repo = await ctx.openRepository();
      let snapshots = await repo.listSnapshots(snapshotFilter(options));
      if (options.latest !== undefined) snapshots = snapshots.slice(0, options.latest);
      const oldestFirst = [...snapshots].reverse();
      ctx.output.result(oldestFirst);
      ctx.output.table(
        [
          ['ID', 'Time (UTC)', 'Host', 'Tags', 'Size', 'Paths'],
          ...oldestFirst.map((s) => [
            shortId(s.id),
            s.time.slice(0, 19).replace('T', ' '),
            s.host,
            s.tags.join(','),
            formatBytes(s.summary.bytes),
            s.paths.join(' '),
          ]),
        ],
        [4],
      );
      ctx.output.line(formatCount(snapshots.length, 'snapshot'));
    }),
  );
}
