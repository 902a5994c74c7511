import type { Command } from 'commander';
import { runAction, withExamples } from '../command.js';
import { addPostgresSourceOptions } from './postgres-source-options.js';

export function registerPlan(program: Command): void {
  const command = program
    .command('plan')
    .description("show which rows of which tables make up one tenant's copy, and why; checks for cross-tenant references")
    .requiredOption('--tenant <id>', 'tenant id (the root key value) or a tenant name from failsafe.yaml')
    .option('--count', 'count the rows exactly (reads the subset once)');
  addPostgresSourceOptions(command);
  withExamples(
    command,
    'failsafe plan --tenant dalata --count',
    'PGPASSWORD=... failsafe plan --postgres postgres://app@db/app --tenant-root public.hotel --tenant 42 --json',
  );
  command.action(runAction(async () => (await import('./plan-run.js')).runPlan));
}
