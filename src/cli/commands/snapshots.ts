import type { Command } from 'commander';
import { runAction, withExamples } from '../command.js';
import { parsePositiveInteger } from './option-parsers.js';
import { addSnapshotFilterOptions } from './snapshot-filter-options.js';

export function registerSnapshots(program: Command): void {
  const command = program.command('snapshots').description('list snapshots, newest last');
  addSnapshotFilterOptions(command).option('--latest <n>', 'only the n newest snapshots', parsePositiveInteger);
  withExamples(command, 'failsafe snapshots', 'failsafe snapshots --host web-1 --tag nightly --latest 5', 'failsafe snapshots --json');
  command.action(runAction(async () => (await import('./snapshots-run.js')).runSnapshots));
}
