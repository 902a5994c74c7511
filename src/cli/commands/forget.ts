import type { Command } from 'commander';
import { runAction, withExamples } from '../command.js';
import { collect, collectCommaSeparated, parseDuration, parseKeepCount } from './option-parsers.js';
import { addSnapshotFilterOptions } from './snapshot-filter-options.js';

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
  command.action(runAction(async () => (await import('./forget-run.js')).runForget));
}
