import { type Command, Option } from 'commander';
import type { CompressionName } from '../../repository/compression.js';
import { runAction, withExamples } from '../command.js';

/** The names of `COMPRESSION_LEVELS`, in its order: its module loads the zstd binding, too much for declaring an option. */
const COMPRESSION_NAMES = Object.keys({ fast: true, better: true, max: true } satisfies Record<CompressionName, true>);

export function registerInit(program: Command): void {
  withExamples(
    program
      .command('init')
      .description('create a new, empty repository (the password comes from FAILSAFE_PASSWORD[_FILE] or --password-file)')
      .addOption(
        new Option('--compression <level>', 'zstd level for new data: fast (1), better (3) or max (19)')
          .choices(COMPRESSION_NAMES)
          .default('fast'),
      )
      .action(runAction(async () => (await import('./init-run.js')).runInit)),
    'FAILSAFE_PASSWORD_FILE=/etc/failsafe/pass failsafe init --repo /srv/backup',
    'FAILSAFE_PASSWORD_FILE=/etc/failsafe/pass failsafe init --repo s3://acme-backups/failsafe',
  );
}
