/**
 * The `failsafe` command tree: global options and one module per command. A command module only
 * declares its command; the implementation is imported when the command runs (see `runAction`).
 */
import { Command, Option } from 'commander';
import { PROGRAM_VERSION } from '../core/identity.js';
import { registerBackup } from './commands/backup.js';
import { registerCheck } from './commands/check.js';
import { registerDemo } from './commands/demo.js';
import { registerDiff } from './commands/diff.js';
import { registerForget } from './commands/forget.js';
import { registerInit } from './commands/init.js';
import { registerKey } from './commands/key.js';
import { registerLs } from './commands/ls.js';
import { registerMigrate } from './commands/migrate.js';
import { registerPlan } from './commands/plan.js';
import { registerPrune } from './commands/prune.js';
import { registerRestore } from './commands/restore.js';
import { registerSnapshots } from './commands/snapshots.js';
import { registerStats } from './commands/stats.js';
import { registerUnlock } from './commands/unlock.js';
import { registerVerify } from './commands/verify.js';

export function buildProgram(): Command {
  const program = new Command('failsafe')
    .description('Encrypted, deduplicated backups and business continuity for PostgreSQL and S3-based SaaS.')
    .version(PROGRAM_VERSION, '-V, --version')
    .option('-r, --repo <location>', 'repository: a directory, s3://bucket/prefix, or a name from the config (env: FAILSAFE_REPOSITORY)')
    .option('--password-file <path>', 'read the repository password from this file (env: FAILSAFE_PASSWORD_FILE, FAILSAFE_PASSWORD)')
    .option('-c, --config <path>', 'config file (env: FAILSAFE_CONFIG; default: ./failsafe.yaml if present)')
    .option('--json', 'print results as JSON on stdout')
    .option('-q, --quiet', 'no progress output')
    .addOption(new Option('-v, --verbose', 'more log output on stderr (repeat for debug)').argParser((_value, previous: number) => previous + 1).default(0))
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`failsafe: ${text.replace(/^error: /, '').trimEnd()}\n`) });
  program.addHelpText(
    'after',
    `
Quick start:
  $ export FAILSAFE_PASSWORD_FILE=~/.failsafe-password FAILSAFE_REPOSITORY=/srv/backup
  $ failsafe init
  $ failsafe backup --path /srv/app
  $ failsafe snapshots
  $ failsafe restore latest --target /tmp/restore

Exit codes: 0 ok, 1 error, 2 usage or config error, 3 verification failed, 4 backup incomplete
(unreadable files), 10 no repository, 11 locked, 12 wrong password, 130 interrupted.
`,
  );
  for (const register of [
    registerInit,
    registerBackup,
    registerSnapshots,
    registerLs,
    registerDiff,
    registerRestore,
    registerForget,
    registerPrune,
    registerCheck,
    registerStats,
    registerPlan,
    registerVerify,
    registerUnlock,
    registerKey,
    registerMigrate,
    registerDemo,
  ]) {
    register(program);
  }
  return program;
}
