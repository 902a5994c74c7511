import type { Command } from 'commander';
import { runAction, withExamples } from '../command.js';

export function registerDiff(program: Command): void {
  withExamples(
    program
      .command('diff')
      .description('show what changed between two snapshots (+ added, - removed, M modified, U metadata only)')
      .argument('<snapshot-a>', 'the older snapshot (id, prefix or "latest")')
      .argument('<snapshot-b>', 'the newer snapshot')
      .action(runAction(async () => (await import('./diff-run.js')).runDiff)),
    'failsafe diff 1a2b3c4d latest',
  );
}
