import type { Command } from 'commander';
import { runAction, withExamples } from '../command.js';
import { collect, parsePositiveInteger } from './option-parsers.js';
import { addSnapshotFilterOptions } from './snapshot-filter-options.js';

export function registerRestore(program: Command): void {
  const command = program
    .command('restore')
    .description('restore a snapshot into a directory, or one file to standard output')
    .argument('<snapshot>', 'snapshot id (or prefix), or "latest"')
    .option('--target <dir>', 'directory to restore into (created if missing)')
    .option('-i, --include <path>', 'restore only this path of the snapshot (repeatable)', collect, [])
    .option('--overwrite', 'replace files that already exist in the target')
    .option('--dry-run', 'show what would be restored and any conflicts, write nothing')
    .option('--verify', 'also recompute the keyed hash of every blob read (every blob is authenticated anyway)')
    .option('--stdout', 'write one file to standard output (the file of a --stdin snapshot, or --file)')
    .option('--file <path>', 'with --stdout: the path of the file in the snapshot')
    .option('--postgres <url>', 'database snapshots: restore into this database (password from PGPASSWORD or ~/.pgpass)')
    .option('-j, --jobs <n>', 'databases: parallel COPY sessions (default 2)', parsePositiveInteger)
    .option('--clean', 'databases: drop the schemas the snapshot restores first, instead of requiring an empty database')
    .option('--schema-only', 'databases: restore the schema, no rows')
    .option('--data-only', 'databases: restore rows into existing tables')
    .option('--table <schema.table>', 'databases: restore only this table\'s rows (repeatable)', collect, [])
    .option('--objects <url>', "snapshots with objects: write them to s3://bucket/prefix or a directory, under their original keys")
    .option('--no-owners', 'databases: skip the owners and privileges a backup --owners recorded')
    .option('--no-verify', 'databases: skip checking row counts, checksums and foreign keys afterwards');
  addSnapshotFilterOptions(command);
  withExamples(
    command,
    'failsafe restore latest --target /tmp/restore',
    'failsafe restore 1a2b3c4d --target /srv/app-restored --include /srv/app/config',
    'failsafe restore latest --stdout > app.sql      # a snapshot made with backup --stdin',
    'PGPASSWORD=... failsafe restore latest --tenant 42 --postgres postgres://dalata@localhost/hotel --jobs 4',
    'failsafe restore latest --tenant 42 --objects s3://dalata-files/',
  );
  command.action(runAction(async () => (await import('./restore-run.js')).runRestore));
}
