import { type Command, Option } from 'commander';
import { COMPRESSION_LEVELS, type CompressionName } from '../../repository/compression.js';
import { Repository } from '../../repository/repository.js';
import { shortId } from '../../repository/snapshot.js';
import { runAction, withExamples } from '../command.js';

export function registerInit(program: Command): void {
  withExamples(
    program
      .command('init')
      .description('create a new, empty repository (the password comes from FAILSAFE_PASSWORD[_FILE] or --password-file)')
      .addOption(
        new Option('--compression <level>', 'zstd level for new data: fast (1), better (3) or max (19)')
          .choices(Object.keys(COMPRESSION_LEVELS))
          .default('fast'),
      )
      .action(
        runAction(async (ctx, options: { compression: CompressionName }) => {
          const target = await ctx.repositoryTarget();
          const password = await ctx.password(target);
          const repo = await Repository.init(await ctx.openStorage(target), password, { compression: options.compression });
          ctx.output.result({ id: repo.config.id, location: repo.storage.location, keyId: repo.keyId });
          ctx.output.line(`created repository ${shortId(repo.config.id)} at ${repo.storage.location}`);
          ctx.output.line('keep the password safe: without it the data cannot be recovered');
        }),
      ),
    'FAILSAFE_PASSWORD_FILE=/etc/failsafe/pass failsafe init --repo /srv/backup',
    'FAILSAFE_PASSWORD_FILE=/etc/failsafe/pass failsafe init --repo s3://acme-backups/failsafe',
  );
}
