/**
 * What `failsafe forget` does (its options are declared in forget.ts): the snapshots named, or those the
 * retention policy of the flags or of the config file does not keep; then prune, with --prune.
 */
import type { RetentionConfig } from '../../config/schema.js';
import { type CalendarDuration, formatCount, formatTime } from '../../core/units.js';
import { forget } from '../../repository/forget.js';
import { prune } from '../../repository/prune.js';
import { type GroupField, type RetentionPolicy, formatDuration, isEmptyPolicy } from '../../repository/retention.js';
import { shortId } from '../../repository/snapshot.js';
import type { CommandContext } from '../context.js';
import { reportPrune } from './prune-run.js';
import { snapshotFilter, type SnapshotFilterOptions } from './snapshot-filter-options.js';

/** The policy's counts and duration come as they are; tags and grouping as the flags give them. */
interface ForgetOptions
  extends SnapshotFilterOptions,
    Pick<RetentionPolicy, 'keepLast' | 'keepHourly' | 'keepDaily' | 'keepWeekly' | 'keepMonthly' | 'keepYearly' | 'keepWithin'> {
  readonly keepTag: string[];
  readonly groupBy?: string[];
  readonly dryRun?: boolean;
  readonly prune?: boolean;
}

export async function runForget(ctx: CommandContext, ids: string[], options: ForgetOptions): Promise<void> {
  const repo = await ctx.openRepository();
  const policy = await resolvePolicy(ctx, options);
  const result = await forget(repo, {
    snapshotIds: ids,
    ...(policy ? { policy } : {}),
    filter: snapshotFilter(options),
    dryRun: options.dryRun ?? false,
  });
  for (const group of result.groups) {
    const key = Object.entries(group.key)
      .map(([field, value]) => `${field} ${Array.isArray(value) ? value.join(',') : String(value)}`)
      .join(', ');
    ctx.output.line(`${key || 'all snapshots'}: keep ${group.keep.length}, remove ${group.remove.length}`);
    for (const kept of group.keep) {
      ctx.output.line(`  keep    ${shortId(kept.snapshot.id)}  ${formatTime(kept.snapshot.snapshot.time)}  ${kept.reasons.join(', ')}`);
    }
    for (const removed of group.remove) {
      ctx.output.line(`  remove  ${shortId(removed.id)}  ${formatTime(removed.snapshot.time)}`);
    }
  }
  const verb = options.dryRun ? 'would remove' : 'removed';
  ctx.output.line(`${verb} ${formatCount(result.removed.length, 'snapshot')}`);
  let pruneResult;
  if (options.prune) {
    pruneResult = await prune(repo, { dryRun: options.dryRun ?? false, onProgress: ctx.progress.listener });
    ctx.progress.done();
    reportPrune(ctx, pruneResult);
  }
  ctx.output.result({
    dryRun: result.dryRun,
    removed: result.removed,
    groups: result.groups.map((group) => ({
      key: group.key,
      keep: group.keep.map((kept) => ({ id: kept.snapshot.id, time: kept.snapshot.snapshot.time, reasons: kept.reasons })),
      remove: group.remove.map((removed) => ({ id: removed.id, time: removed.snapshot.time })),
    })),
    ...(pruneResult ? { prune: pruneResult } : {}),
  });
}

/** The --keep-* flags; without any, the config's `retention` section. */
async function resolvePolicy(ctx: CommandContext, options: ForgetOptions): Promise<RetentionPolicy | undefined> {
  const groupBy = options.groupBy as GroupField[] | undefined;
  const fromFlags: RetentionPolicy = {
    ...(options.keepLast !== undefined ? { keepLast: options.keepLast } : {}),
    ...(options.keepHourly !== undefined ? { keepHourly: options.keepHourly } : {}),
    ...(options.keepDaily !== undefined ? { keepDaily: options.keepDaily } : {}),
    ...(options.keepWeekly !== undefined ? { keepWeekly: options.keepWeekly } : {}),
    ...(options.keepMonthly !== undefined ? { keepMonthly: options.keepMonthly } : {}),
    ...(options.keepYearly !== undefined ? { keepYearly: options.keepYearly } : {}),
    ...(options.keepWithin !== undefined ? { keepWithin: options.keepWithin } : {}),
    ...(options.keepTag.length > 0 ? { keepTags: options.keepTag } : {}),
    ...(groupBy ? { groupBy } : {}),
  };
  if (!isEmptyPolicy(fromFlags)) return fromFlags;
  const configured = (await ctx.config()).retention;
  if (!configured) return undefined;
  const policy = policyFromConfig(configured, groupBy);
  if (!isEmptyPolicy(policy)) {
    // Named as in the file (keep-daily, keep-tag), not as the code calls them.
    const rules = Object.entries(policy)
      .filter(([name]) => name !== 'groupBy')
      .map(([name, value]) => {
        const key = name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`).replace(/^keep-tags$/, 'keep-tag');
        return `${key}=${name === 'keepWithin' ? formatDuration(value as CalendarDuration) : String(value)}`;
      });
    ctx.output.notice(`using the retention policy of the config file: ${rules.join(' ')}`);
  }
  return policy;
}

function policyFromConfig(retention: RetentionConfig, groupBy: GroupField[] | undefined): RetentionPolicy {
  const definedEntries = Object.entries({
    keepLast: retention.keepLast,
    keepHourly: retention.keepHourly,
    keepDaily: retention.keepDaily,
    keepWeekly: retention.keepWeekly,
    keepMonthly: retention.keepMonthly,
    keepYearly: retention.keepYearly,
    keepWithin: retention.keepWithin,
    keepTags: retention.keepTag.length > 0 ? retention.keepTag : undefined,
    groupBy: groupBy ?? retention.groupBy,
  }).filter(([, value]) => value !== undefined);
  return Object.fromEntries(definedEntries) as RetentionPolicy;
}
