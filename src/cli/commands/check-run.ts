/**
 * What `failsafe check` does (its options are declared in check.ts).
 */
import { formatBytes, formatTime } from '../../core/units.js';
import { type PackSubset, checkRepository } from '../../repository/check.js';
import { shortId } from '../../repository/snapshot.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';

interface CheckOptions {
  readonly readData?: boolean;
  readonly readDataSubset?: PackSubset;
}

export async function runCheck(ctx: CommandContext, options: CheckOptions): Promise<ExitCode> {
  const repo = await ctx.openRepository();
  const result = await checkRepository(repo, {
    readData: options.readData ?? false,
    ...(options.readDataSubset ? { readDataSubset: options.readDataSubset } : {}),
    onProgress: ctx.progress.listener,
  });
  ctx.progress.done();
  ctx.output.result(result);
  const out = ctx.output;
  out.line(`${result.snapshots} snapshots, ${result.packs} packs, ${result.blobs} blobs`);
  if (result.packsRead > 0) out.line(`read and verified ${result.packsRead} packs (${formatBytes(result.bytesRead)})`);
  if (result.unindexedPacks > 0) {
    out.line(`info: ${result.unindexedPacks} packs are not indexed (an interrupted or running backup); \`failsafe prune\` removes them`);
  }
  if (result.packsPendingDeletion > 0) out.line(`info: ${result.packsPendingDeletion} packs wait for deletion by prune`);
  for (const problem of result.problems) out.line(`error: ${problem.message}`);
  for (const affected of result.affected) {
    out.line(`damaged snapshot ${shortId(affected.snapshot)} (${formatTime(affected.time)}):`);
    for (const path of affected.paths.slice(0, 50)) out.line(`  ${path}`);
    if (affected.paths.length > 50) out.line(`  … and ${affected.paths.length - 50} more`);
  }
  if (result.ok) {
    out.line('no errors found');
    return ExitCode.Ok;
  }
  ctx.output.notice(
    `failsafe: check found ${result.problems.length} problem(s)` +
      (result.affected.length > 0 ? ` affecting ${result.affected.length} snapshot(s)` : ''),
  );
  return ExitCode.VerifyFailed;
}
