import type { Command } from 'commander';
import { runAction, withExamples } from '../command.js';
import { addSnapshotFilterOptions } from './snapshot-filter-options.js';

export function registerStats(program: Command): void {
  const command = program.command('stats').description('sizes: what the snapshots hold, what the repository stores, what deduplication and compression save');
  addSnapshotFilterOptions(command);
  withExamples(command, 'failsafe stats', 'failsafe stats --host web-1 --json');
  command.action(runAction(async () => (await import('./stats-run.js')).runStats));
}
