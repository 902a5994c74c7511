/**
 * What `failsafe prune` does (its options are declared in prune.ts), and its report, shared with
 * `forget --prune`.
 */
import { formatBytes } from '../../core/units.js';
import { type PruneResult, prune } from '../../repository/prune.js';
import type { CommandContext } from '../context.js';

interface PruneOptions {
  readonly dryRun?: boolean;
  readonly repackBelow: number;
}

export async function runPrune(ctx: CommandContext, options: PruneOptions): Promise<void> {
  const repo = await ctx.openRepository();
  const result = await prune(repo, {
    dryRun: options.dryRun ?? false,
    repackBelow: options.repackBelow,
    onProgress: ctx.progress.listener,
  });
  ctx.progress.done();
  reportPrune(ctx, result);
  ctx.output.result(result);
}

/** Prints a prune plan and outcome (shared with `forget --prune`). */
export function reportPrune(ctx: CommandContext, result: PruneResult): void {
  const { plan } = result;
  const out = ctx.output;
  out.line(`repository: ${plan.packs} packs, ${formatBytes(plan.bytes)}; in use: ${plan.usedBlobs} blobs, ${formatBytes(plan.usedBytes)}`);
  out.line(`${result.dryRun ? 'would delete' : 'to delete'}: ${plan.deletePacks} unused packs (${formatBytes(plan.deleteBytes)})`);
  out.line(
    `${result.dryRun ? 'would repack' : 'to repack'}: ${plan.repackPacks} packs (${formatBytes(plan.repackBytes)}, ` +
      `${formatBytes(plan.repackUsedBytes)} still used is copied)`,
  );
  if (plan.unindexedPacks > 0) {
    out.line(`unindexed packs from interrupted backups: ${plan.unindexedPacks} (${formatBytes(plan.unindexedBytes)})`);
  }
  out.line(`unused data left in kept packs: ${formatBytes(plan.keptUnusedBytes)}`);
  if (result.dryRun) return;
  out.line(`deleted ${result.packsDeleted} packs (${formatBytes(result.bytesDeleted)}), wrote ${result.packsWritten} new packs`);
  if (result.packsRestored > 0) out.line(`kept ${result.packsRestored} packs that a backup running meanwhile still needed`);
  if (result.marksPending > 0) {
    out.line(
      `space of ${result.marksPending} earlier prune step(s) is freed once these finish: ${result.waitingFor.join('; ') || 'running sessions'}` +
        ' (run prune again afterwards)',
    );
  }
}
