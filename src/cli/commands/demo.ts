import type { Command } from 'commander';
import { runAction, withExamples } from '../command.js';
import { parsePositiveNumber } from './option-parsers.js';

export function registerDemo(program: Command): void {
  withExamples(
    program
      .command('demo')
      .description(
        "one hotel's own encrypted copy of a multi-tenant SaaS database and its files, on embedded PostgreSQL: plan, backup, next day, restore, verify " +
          '(--files: the file backup round trip instead)',
      )
      .option('--scale <n>', 'hotel SaaS size: 10 hotels per unit', parsePositiveNumber, 1)
      .option('--files', 'the file backup round trip instead: init, backup, change, backup, diff, forget, prune, check, restore')
      .option('--size <bytes>', 'with --files: size of the generated data', '64MiB')
      .option('--keep', 'keep the temporary directory for a look around')
      .action(runAction(async () => (await import('./demo-run.js')).runDemo)),
    'npx failsafe demo',
    'npx failsafe demo --scale 10 --keep',
    'npx failsafe demo --files --size 1GiB',
  );
}
