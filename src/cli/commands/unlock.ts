import type { Command } from 'commander';
import { runAction, withExamples } from '../command.js';

export function registerUnlock(program: Command): void {
  withExamples(
    program
      .command('unlock')
      .description('remove locks left by processes that are gone (stale locks)')
      .option('--remove-all', 'remove every lock, also those of running processes (only if you are sure)')
      .action(runAction(async () => (await import('./unlock-run.js')).runUnlock)),
    'failsafe unlock',
    'failsafe unlock --remove-all',
  );
}
