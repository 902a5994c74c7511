/**
 * What `failsafe snapshots` does (its options are declared in snapshots.ts).
 */
import { formatBytes, formatCount, formatTime } from '../../core/units.js';
import { shortId } from '../../repository/snapshot.js';
import type { CommandContext } from '../context.js';
import { snapshotFilter, type SnapshotFilterOptions } from './snapshot-filter-options.js';

interface SnapshotsOptions extends SnapshotFilterOptions {
  readonly latest?: number;
}

export async function runSnapshots(ctx: CommandContext, options: SnapshotsOptions): Promise<void> {
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
        formatTime(s.time),
        s.host,
        s.tags.join(','),
        formatBytes(s.summary.bytes),
        s.paths.join(' '),
      ]),
    ],
    [4],
  );
  ctx.output.line(formatCount(snapshots.length, 'snapshot'));
}
