import type { Command } from 'commander';
import { Repository } from '../../repository/repository.js';
import { shortId } from '../../repository/snapshot.js';
import { runAction, withExamples } from '../command.js';

export function registerInit(program: Command): void {
  withExamples(
    program
      .command('init')
      .description('create a new, empty repository (the password comes from FAILSAFE_PASSWORD[_FILE] or --password-file)')
      .action(
        runAction(async (ctx) => {
          const target = await ctx.repositoryTarget();
          const password = await ctx.password(target);
          const repo = await Repository.init(await ctx.openStorage(target), password);
          ctx.output.result({ id: repo.config.id, location: repo.storage.location, keyId: repo.keyId });
          ctx.output.line(`created repository ${shortId(repo.config.id)} at ${repo.storage.location}`);
          ctx.output.line('keep the password safe: without it the data cannot be recovered');
        }),
      ),
    'FAILSAFE_PASSWORD_FILE=/etc/failsafe/pass failsafe init --repo /srv/backup',
    'FAILSAFE_PASSWORD_FILE=/etc/failsafe/pass failsafe init --repo s3://acme-backups/failsafe',
  );
}
