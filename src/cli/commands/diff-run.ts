/**
 * What `failsafe diff` does (its arguments are declared in diff.ts).
 */
import { formatBytes } from '../../core/units.js';
import { shortId } from '../../repository/snapshot.js';
import { type TreeChange, diffTrees } from '../../repository/tree-diff.js';
import type { CommandContext } from '../context.js';

const SYMBOLS = { added: '+', removed: '-', modified: 'M', metadata: 'U' } as const;

export async function runDiff(ctx: CommandContext, refA: string, refB: string): Promise<void> {
  const repo = await ctx.openRepository();
  await repo.withLock('shared', 'diff', async () => {
    await repo.loadIndex();
    const [a, b] = [await repo.findSnapshot(refA), await repo.findSnapshot(refB)];
    const changes: TreeChange[] = [];
    const totals = { added: 0, removed: 0, modified: 0, metadata: 0, addedBytes: 0, removedBytes: 0 };
    for await (const change of diffTrees(repo, a.tree, b.tree)) {
      totals[change.change]++;
      // Metadata-only changes move no file data.
      if (change.type === 'file' && change.change !== 'metadata') {
        totals.addedBytes += change.change === 'removed' ? 0 : (change.after?.size ?? 0);
        totals.removedBytes += change.change === 'added' ? 0 : (change.before?.size ?? 0);
      }
      if (ctx.output.json) changes.push(change);
      else ctx.output.line(`${SYMBOLS[change.change]}    ${change.path}${change.type === 'dir' ? '/' : ''}`);
    }
    ctx.output.result({
      from: a.id,
      to: b.id,
      changes: changes.map(({ path, change, type }) => ({ path, change, type })),
      totals,
    });
    ctx.output.line(
      `\n${shortId(a.id)} → ${shortId(b.id)}: ${totals.added} added, ${totals.removed} removed, ` +
        `${totals.modified} modified, ${totals.metadata} metadata only; ` +
        `file data ${formatBytes(totals.addedBytes)} in, ${formatBytes(totals.removedBytes)} out`,
    );
  });
}
