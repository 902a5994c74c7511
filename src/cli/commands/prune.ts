import type { Command } from 'commander';
import { runAction, withExamples } from '../command.js';
import { parseFraction } from './option-parsers.js';

export function registerPrune(program: Command): void {
  withExamples(
    program
      .command('prune')
      .description('delete data no snapshot uses and rewrite mostly-unused packs (safe while backups run)')
      .option('-n, --dry-run', 'show what would be deleted and repacked, change nothing')
      .option('--repack-below <percent>', 'rewrite packs whose used share is below this', parseFraction, 0.8)
      .action(runAction(async () => (await import('./prune-run.js')).runPrune)),
    'failsafe prune --dry-run',
    'failsafe prune --repack-below 50%',
  );
}
