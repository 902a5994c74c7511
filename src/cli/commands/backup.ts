import { Option, type Command } from 'commander';
import { runAction, withExamples } from '../command.js';
import { collect, collectCommaSeparated, parsePositiveInteger, parseTime } from './option-parsers.js';
import { tenantOwnershipOption } from './postgres-source-options.js';

export function registerBackup(program: Command): void {
  withExamples(
    program
      .command('backup')
      .description('back up files and directories, standard input, or the sources in the config file')
      .option('-p, --path <path>', 'file or directory to back up (repeatable)', collect, [])
      .option('-s, --source <name>', 'back up only this configured source (repeatable; default: all)', collect, [])
      .option('--stdin', 'back up standard input as one file')
      .option('--stdin-name <name>', 'file name for --stdin', 'stdin')
      .option('-t, --tag <tags>', 'add tags to the snapshot (repeatable or comma-separated: nightly,db)', collectCommaSeparated, [])
      .option('-e, --exclude <pattern>', 'skip matching files: a name glob (*.tmp) or an absolute path glob (repeatable)', collect, [])
      .option('--host <name>', 'host name to record (default: this machine)')
      .option('--parent <snapshot>', 'compare against this snapshot to skip unchanged files (default: latest of same host and paths)')
      .option('--force', 'read every file, even when unchanged since the parent snapshot')
      .option('--time <iso-time>', 'time to record instead of now (e.g. when importing old backups)', parseTime)
      .option('--postgres <url>', 'back up this database (password from PGPASSWORD or ~/.pgpass, never the URL)')
      .option('--tenant-root <table>', 'tenant table, schema.table, for --tenant with --postgres')
      .option('--tenant-key <column>', "tenant table's id column (default: its primary key)")
      .addOption(tenantOwnershipOption())
      .option('--objects <url>', "with --postgres: also the objects of s3://bucket/prefix or a directory, in the same snapshot")
      .option('--tenant-prefix <prefix>', 'with --objects: key prefix of a tenant\'s objects, e.g. "hotels/{tenant}/"')
      .option('--tenant <id>', "back up only this tenant's rows (an id, or a name from tenants:)")
      .addOption(
        new Option('--on-cross-tenant <policy>', "when the tenant's rows reference other tenants' rows: fail (default), nullify the reference, or skip-row")
          .choices(['fail', 'nullify', 'skip-row']),
      )
      .option('--all-tenants', "back up every tenant of tenants: into the tenant's own repository")
      .option('-j, --jobs <n>', 'parallel COPY sessions for databases (default 2)', parsePositiveInteger)
      .option('--owners', 'databases: also record owners and privileges (restoring them needs the same roles)')
      .action(runAction(async () => (await import('./backup-run.js')).runBackup)),
    'failsafe backup --path /srv/app --path /etc/app --tag nightly',
    'failsafe backup --path /srv/app --exclude "*.tmp" --exclude /srv/app/cache',
    'pg_dump app | failsafe backup --stdin --stdin-name app.sql',
    'failsafe backup                      # every source in failsafe.yaml',
    'PGPASSWORD=... failsafe backup --postgres postgres://app@db/app --jobs 4',
    'failsafe backup --source app-db --tenant dalata',
    'failsafe backup --postgres postgres://app@db/app --tenant-root public.hotel --tenant 42 --tenant-ownership root-key',
    'failsafe backup --source app-db --all-tenants',
  );
}
