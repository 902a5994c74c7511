import type { Command } from 'commander';
import { runAction, withExamples } from '../command.js';

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
      .action(runAction(async () => (await import('./key-run.js')).runKeyList)),
    'failsafe key list',
  );

  withExamples(
    key
      .command('add')
      .description('add a password (from FAILSAFE_NEW_PASSWORD[_FILE] or --new-password-file)')
      .option('--new-password-file <path>', 'file holding the new password')
      .action(runAction(async () => (await import('./key-run.js')).runKeyAdd)),
    'FAILSAFE_NEW_PASSWORD_FILE=tenant.pass failsafe key add',
  );

  withExamples(
    key
      .command('remove')
      .description('remove a key (not the one in use)')
      .argument('<id>', 'key id or prefix (see key list)')
      .action(runAction(async () => (await import('./key-run.js')).runKeyRemove)),
    'failsafe key remove 3f9c2a1b',
  );

  withExamples(
    key
      .command('passwd')
      .description('change the password of the key in use (new one from FAILSAFE_NEW_PASSWORD[_FILE] or --new-password-file)')
      .option('--new-password-file <path>', 'file holding the new password')
      .action(runAction(async () => (await import('./key-run.js')).runKeyPasswd)),
    'FAILSAFE_NEW_PASSWORD_FILE=new.pass failsafe key passwd',
  );
}
