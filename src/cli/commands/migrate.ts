import type { Command } from 'commander';
import { runAction, withExamples } from '../command.js';
import { parsePositiveInteger } from './option-parsers.js';

/** `failsafe migrate plan|run|redrive|reset|status|errors|diff|inspect`: the migration engine (docs/migration.md). */
export function registerMigrate(program: Command): void {
  const migrate = program.command('migrate').description('move tenants from another system through a typed dataset graph (docs/migration.md)');
  const common = (command: Command): Command =>
    command
      .option('-m, --migration <file>', 'the migration definition (TypeScript or JavaScript)', 'migration.ts')
      .option('--staging <url>', 'staging database (password from PGPASSWORD or ~/.pgpass); default: embedded PostgreSQL under .failsafe/migrate/');

  const plan = common(migrate.command('plan').description("the datasets in load order, with one tenant's source row counts"))
    .option('--source <url>', "source database (password from PGPASSWORD or ~/.pgpass); default: the migration's source")
    .requiredOption('--tenant <id>', 'tenant id, as the extracts take it ($1)');
  withExamples(plan, 'PGPASSWORD=... failsafe migrate plan -m examples/concierge-migration/migration.ts --source postgres://ro@legacy/gc --tenant 42');
  plan.action(runAction(async () => (await import('./migrate-run.js')).runMigratePlan));

  const run = common(migrate.command('run').description("extract, transform, stage and load tenants' datasets; resumes where an earlier run stopped"))
    .option('--source <url>', "source database (password from PGPASSWORD or ~/.pgpass); default: the migration's source")
    .option('--tenant <id...>', 'tenant ids to migrate')
    .option('--tenants <file>', 'tenant ids to migrate, one per line (# comments)')
    .option('--all', "every tenant the migration's tenants query lists in the source")
    .option('--concurrency <n>', 'tenants migrated at once (default 1); they share the target\'s rate limit', parsePositiveInteger)
    .option('--only <dataset...>', 'stage these datasets afresh (DATASET+ also the datasets depending on it)')
    .option('--stage-only', 'stage, do not load')
    .option('--load-only', 'load what is staged, do not extract')
    .option('--target <name>', "the migration's target to load into (default: its only one)")
    .option('--dry-run', 'extract and transform, then report what staging would add, change and remove and what loading would send; writes and sends nothing');
  withExamples(
    run,
    'failsafe migrate run -m migration.ts --source postgres://ro@legacy/gc --tenant 42',
    'failsafe migrate run -m migration.ts --source postgres://ro@legacy/gc --tenants hotels.txt --concurrency 4 --stage-only',
    'failsafe migrate run -m migration.ts --source postgres://ro@legacy/gc --all --concurrency 8',
    'failsafe migrate run -m migration.ts --load-only --target prod --tenant 42',
    'failsafe migrate run -m migration.ts --source postgres://ro@legacy/gc --tenant 42 --only guest+',
    'failsafe migrate run -m migration.ts --source postgres://ro@legacy/gc --tenant 42 --only guest --dry-run',
  );
  run.action(runAction(async () => (await import('./migrate-run.js')).runMigrateRun));

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

  const status = common(migrate.command('status').description('per tenant and dataset: rows read, records staged and rejected, and per target loaded, refused, rate and ETA'))
    .option('--tenant <id...>', 'tenant ids (default: every tenant staged)');
  withExamples(status, 'failsafe migrate status -m migration.ts', 'failsafe migrate status -m migration.ts --tenant 42 --json');
  status.action(runAction(async () => (await import('./migrate-report.js')).runMigrateStatus));

  const errors = common(migrate.command('errors').description('the records that could not be staged or loaded, and why'))
    .option('--tenant <id...>', 'tenant ids (default: every tenant staged)')
    .option('--dataset <name>', 'only this dataset');
  withExamples(errors, 'failsafe migrate errors -m migration.ts --tenant 42 --dataset guest');
  errors.action(runAction(async () => (await import('./migrate-report.js')).runMigrateErrors));

  const diff = common(migrate.command('diff').description('what runs changed in staging: records added, changed (field by field) and removed'))
    .argument('<run-a>', 'a run id (from `migrate run` or `migrate inspect`); alone: what that run changed')
    .argument('[run-b]', 'a later run of the same tenant: what the runs after run-a up to run-b changed')
    .option('--dataset <name>', 'only this dataset')
    .option('--limit <n>', 'records shown per dataset and kind of change (default 10; --json shows all)', parsePositiveInteger);
  withExamples(diff, 'failsafe migrate diff -m migration.ts 17', 'failsafe migrate diff -m migration.ts 12 17 --dataset guest');
  diff.action(runAction(async () => (await import('./migrate-report.js')).runMigrateDiff));

  const inspect = common(migrate.command('inspect').description('the staging database: where it is, its tables and runs; --sql runs one read-only query'))
    .option('--sql <query>', 'a read-only SQL query on the staging database (tables in schema failsafe_migrate)');
  withExamples(inspect, 'failsafe migrate inspect -m migration.ts', "failsafe migrate inspect -m migration.ts --sql \"SELECT dataset, count(*) FROM failsafe_migrate.staged GROUP BY 1\"");
  inspect.action(runAction(async () => (await import('./migrate-report.js')).runMigrateInspect));
}
