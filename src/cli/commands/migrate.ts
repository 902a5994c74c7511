import type { Command } from 'commander';
import { runAction, withExamples } from '../command.js';
import { parsePositiveInteger } from './option-parsers.js';

/** `failsafe migrate plan|run|redrive|reset|status|errors`: the migration engine (docs/migration.md). Loading into targets comes next. */
export function registerMigrate(program: Command): void {
  const migrate = program.command('migrate').description('move tenants from another system through a typed dataset graph (docs/migration.md)');
  const common = (command: Command): Command =>
    command
      .option('-m, --migration <file>', 'the migration definition (TypeScript or JavaScript)', 'migration.ts')
      .option('--staging <url>', 'staging database (password from PGPASSWORD or ~/.pgpass); default: embedded PostgreSQL under .failsafe/migrate/');

  const plan = common(migrate.command('plan').description("the datasets in load order, with one tenant's source row counts"))
    .requiredOption('--source <url>', 'source database (password from PGPASSWORD or ~/.pgpass)')
    .requiredOption('--tenant <id>', 'tenant id, as the extracts take it ($1)');
  withExamples(plan, 'PGPASSWORD=... failsafe migrate plan -m examples/concierge-migration/migration.ts --source postgres://ro@legacy/gc --tenant 42');
  plan.action(runAction(async () => (await import('./migrate-run.js')).runMigratePlan));

  const run = common(migrate.command('run').description("extract, transform, stage and load tenants' datasets; resumes where an earlier run stopped"))
    .option('--source <url>', 'source database (password from PGPASSWORD or ~/.pgpass)')
    .option('--tenant <id...>', 'tenant ids to migrate')
    .option('--tenants <file>', 'tenant ids to migrate, one per line (# comments)')
    .option('--concurrency <n>', 'tenants migrated at once (default 1); they share the target\'s rate limit', parsePositiveInteger)
    .option('--only <dataset...>', 'stage these datasets afresh (DATASET+ also the datasets depending on it)')
    .option('--stage-only', 'stage, do not load')
    .option('--load-only', 'load what is staged, do not extract')
    .option('--target <name>', "the migration's target to load into (default: its only one)");
  withExamples(
    run,
    'failsafe migrate run -m migration.ts --source postgres://ro@legacy/gc --tenant 42',
    'failsafe migrate run -m migration.ts --source postgres://ro@legacy/gc --tenants hotels.txt --concurrency 4 --stage-only',
    'failsafe migrate run -m migration.ts --load-only --target prod --tenant 42',
    'failsafe migrate run -m migration.ts --source postgres://ro@legacy/gc --tenant 42 --only guest+',
  );
  run.action(runAction(async () => (await import('./migrate-run.js')).runMigrateRun));

  const errors = common(migrate.command('errors').description('the records that could not be staged or loaded, and why'))
    .requiredOption('--tenant <id...>', 'tenant ids')
    .option('--dataset <name>', 'only this dataset');
  withExamples(errors, 'failsafe migrate errors -m migration.ts --tenant 42 --dataset guest');
  errors.action(runAction(async () => (await import('./migrate-run.js')).runMigrateErrors));

  const redrive = common(migrate.command('redrive').description("send the records a target refused again, after a fix (a changed mapping: `run --only D --stage-only` first)"))
    .requiredOption('--tenant <id...>', 'tenant ids')
    .option('--dataset <name>', 'only this dataset')
    .option('--target <name>', "the migration's target (default: its only one)");
  withExamples(redrive, 'failsafe migrate redrive -m migration.ts --tenant 42 --dataset vendor');
  redrive.action(runAction(async () => (await import('./migrate-run.js')).runMigrateRedrive));

  const reset = common(migrate.command('reset').description("forget a tenant's staging, or with --target what was loaded into that target (the next load creates every record there again)"))
    .requiredOption('--tenant <id...>', 'tenant ids')
    .option('--target <name>', 'forget the load state of this target instead of the staging')
    .option('--yes', 'do it; without it, only say what would be forgotten');
  withExamples(reset, 'failsafe migrate reset -m migration.ts --tenant 42 --yes', 'failsafe migrate reset -m migration.ts --tenant 42 --target qa --yes');
  reset.action(runAction(async () => (await import('./migrate-run.js')).runMigrateReset));

  const status = common(migrate.command('status').description('per tenant and dataset: rows read, records staged, rejected')).requiredOption('--tenant <id...>', 'tenant ids');
  withExamples(status, 'failsafe migrate status -m migration.ts --tenant 42 --json');
  status.action(runAction(async () => (await import('./migrate-run.js')).runMigrateStatus));
}
