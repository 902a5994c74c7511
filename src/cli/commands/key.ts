import type { Command } from 'commander';
import { changePassword, listKeys, removeKey } from '../../repository/keys.js';
import { runAction, withExamples } from '../command.js';

interface NewPasswordOptions {
  readonly newPasswordFile?: string;
}

export function registerKey(program: Command): void {
  const key = withExamples(
    program.command('key').description('manage the passwords (key files) that open the repository'),
    'failsafe key list',
    'FAILSAFE_NEW_PASSWORD_FILE=tenant.pass failsafe key add',
    'failsafe key remove 3f9c2a1b',
  );

  withExamples(
    key
      .command('list')
      .description('list the keys')
      .action(
        runAction(async (ctx) => {
          const repo = await ctx.openRepository();
          const keys = await listKeys(repo);
          ctx.output.result(keys);
          ctx.output.table([
            [' ', 'ID', 'Created (UTC)', 'User', 'Host'],
            ...keys.map((k) => [k.current ? '*' : ' ', k.id.slice(0, 8), k.created.slice(0, 19).replace('T', ' '), k.username, k.host]),
          ]);
        }),
      ),
    'failsafe key list',
  );

  withExamples(
    key
      .command('add')
      .description('add a password (from FAILSAFE_NEW_PASSWORD[_FILE] or --new-password-file)')
      .option('--new-password-file <path>', 'file holding the new password')
      .action(
        runAction(async (ctx, options: NewPasswordOptions) => {
          const repo = await ctx.openRepository();
          const id = await repo.addKey(await ctx.newPassword(options.newPasswordFile));
          ctx.output.result({ id });
          ctx.output.line(`added key ${id.slice(0, 8)}`);
        }),
      ),
    'FAILSAFE_NEW_PASSWORD_FILE=tenant.pass failsafe key add',
  );

  withExamples(
    key
      .command('remove')
      .description('remove a key (not the one in use)')
      .argument('<id>', 'key id or prefix (see key list)')
      .action(
        runAction(async (ctx, id: string) => {
          const repo = await ctx.openRepository();
          const removed = await removeKey(repo, id);
          ctx.output.result({ removed });
          ctx.output.line(`removed key ${removed.slice(0, 8)}`);
        }),
      ),
    'failsafe key remove 3f9c2a1b',
  );

  withExamples(
    key
      .command('passwd')
      .description('change the password of the key in use (new one from FAILSAFE_NEW_PASSWORD[_FILE] or --new-password-file)')
      .option('--new-password-file <path>', 'file holding the new password')
      .action(
        runAction(async (ctx, options: NewPasswordOptions) => {
          const repo = await ctx.openRepository();
          const id = await changePassword(repo, await ctx.newPassword(options.newPasswordFile));
          ctx.output.result({ id, removed: repo.keyId });
          ctx.output.line(`password changed: new key ${id.slice(0, 8)} replaces ${repo.keyId.slice(0, 8)}`);
        }),
      ),
    'FAILSAFE_NEW_PASSWORD_FILE=new.pass failsafe key passwd',
  );
}
