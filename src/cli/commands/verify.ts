import type { Command } from 'commander';
import { runAction, withExamples } from '../command.js';
import { addSnapshotFilterOptions } from './snapshot-filter-options.js';

export function registerVerify(program: Command): void {
  const command = program
    .command('verify')
    .description("check a database against a snapshot: each table's row count and checksum, and every foreign key")
    .argument('<snapshot>', 'snapshot id (or prefix), or "latest"')
    .requiredOption('--postgres <url>', 'the database to check (password from PGPASSWORD or ~/.pgpass)');
  addSnapshotFilterOptions(command);
  withExamples(command, 'PGPASSWORD=... failsafe verify latest --tenant 42 --postgres postgres://dalata@restore-db/app');
  command.action(runAction(async () => (await import('./verify-run.js')).runVerify));
}
