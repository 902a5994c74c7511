import type { Command } from 'commander';
import type { RetentionConfig } from '../../config/schema.js';
import { type CalendarDuration, formatCount } from '../../core/units.js';
import { forget } from '../../repository/forget.js';
import { prune } from '../../repository/prune.js';
import { type GroupField, type RetentionPolicy, formatDuration, isEmptyPolicy } from '../../repository/retention.js';
import { shortId } from '../../repository/snapshot.js';
import { runAction, withExamples } from '../command.js';
import type { CommandContext } from '../context.js';
import { collect, collectCommaSeparated, parseDuration, parseKeepCount } from './option-parsers.js';
import { reportPrune } from './prune.js';
import { addSnapshotFilterOptions, snapshotFilter, type SnapshotFilterOptions } from './snapshot-filter-options.js';

interface ForgetOptions extends SnapshotFilterOptions {
  readonly keepLast?: number;
  readonly keepHourly?: number;
  readonly keepDaily?: number;
  readonly keepWeekly?: number;
  readonly keepMonthly?: number;
  readonly keepYearly?: number;
  readonly keepWithin?: CalendarDuration;
  readonly keepTag: string[];
  readonly groupBy?: string[];
  readonly dryRun?: boolean;
  readonly prune?: boolean;
}

export function registerForget(program: Command): void {
  const command = program
    .command('forget')
    .description('remove snapshots: the ones named, or those a retention policy does not keep (--prune also frees the data)')
    .argument('[snapshots...]', 'snapshot ids (or prefixes) to remove')
    .option('--keep-last <n>', 'keep the n newest snapshots', parseKeepCount)
    .option('--keep-hourly <n>', 'keep the newest snapshot of each of the last n hours with snapshots', parseKeepCount)
    .option('--keep-daily <n>', 'keep the newest snapshot of each of the last n days with snapshots', parseKeepCount)
    .option('--keep-weekly <n>', 'keep the newest snapshot of each of the last n ISO weeks with snapshots', parseKeepCount)
    .option('--keep-monthly <n>', 'keep the newest snapshot of each of the last n months with snapshots', parseKeepCount)
    .option('--keep-yearly <n>', 'keep the newest snapshot of each of the last n years with snapshots', parseKeepCount)
    .option('--keep-within <duration>', 'keep every snapshot within this duration of the newest (e.g. 30d, 1y6m)', parseDuration)
    .option('--keep-tag <tag>', 'keep every snapshot with this tag (repeatable)', collect, [])
    .option('-g, --group-by <fields>', 'group snapshots by host, paths, tags, source, tenant (default host,paths)', collectCommaSeparated)
    .option('-n, --dry-run', 'show what would be removed, remove nothing')
    .option('--prune', 'run prune afterwards to free the space');
  addSnapshotFilterOptions(command);
  withExamples(
    command,
    'failsafe forget --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --prune',
    'failsafe forget --keep-within 30d --dry-run',
    'failsafe forget 1a2b3c4d',
    'failsafe forget                     # the retention policy of failsafe.yaml',
  );
  command.action(runAction(async (ctx, ids: string[], options: ForgetOptions) => runForget(ctx, ids, options)));
}

async function runForget(ctx: CommandContext, ids: string[], options: ForgetOptions): Promise<void> {
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
      ctx.output.line(`  keep    ${shortId(kept.snapshot.id)}  ${kept.snapshot.snapshot.time.slice(0, 19).replace('T', ' ')}  ${kept.reasons.join(', ')}`);
    }
    for (const removed of group.remove) {
      ctx.output.line(`  remove  ${shortId(removed.id)}  ${removed.snapshot.time.slice(0, 19).replace('T', ' ')}`);
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
