import type { Command } from 'commander';
import { runAction, withExamples } from '../command.js';

export function registerLs(program: Command): void {
  withExamples(
    program
      .command('ls')
      .description('list the files in a snapshot')
      .argument('<snapshot>', 'snapshot id (or prefix), or "latest"')
      .argument('[path]', 'only entries at or below this path in the snapshot')
      .option('-l, --long', 'show mode, size and modification time')
      .action(runAction(async () => (await import('./ls-run.js')).runLs)),
    'failsafe ls latest',
    'failsafe ls 1a2b3c4d /srv/app/config --long',
  );
}
