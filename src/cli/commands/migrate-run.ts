/**
 * What `failsafe migrate plan|run|redrive|reset` do (declared in migrate.ts): load the migration file,
 * connect to the source, the staging database (embedded PostgreSQL under `.failsafe/migrate/` unless
 * `--staging` names one) and the target, and call the engine in src/migrate.
 */
import { readFile } from 'node:fs/promises';
import { forEachConcurrently } from '../../core/concurrently.js';
import { FailsafeError, messageOf } from '../../core/errors.js';
import { formatCount, formatNumber } from '../../core/units.js';
import { loadMigration, type LoadedMigration } from '../../migrate/load-migration.js';
import type { LoadTarget } from '../../migrate/load-target.js';
import { openTarget } from '../../migrate/open-target.js';
import { loadTenant, type DatasetLoadResult } from '../../migrate/load-tenant.js';
import type { DryRunDataset } from '../../migrate/dry-run-stage.js';
import { stageTenant, type StageTenantResult } from '../../migrate/stage-tenant.js';
import { StagingStore } from '../../migrate/staging-store.js';
import type { PgSession } from '../../postgres/connection.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { MigrationBoard } from '../migration-board.js';
import { assertDataset, migrationName, sourceConnector, withStaging, withStagingSession, withStagingStore, type MigrateOptions } from './migrate-staging.js';

export async function runMigratePlan(ctx: CommandContext, options: MigrateOptions & { source?: string; tenant: string }): Promise<void> {
  const migration = await loadMigration(options.migration);
  const source = await requireSource(migration, options.source, ctx)();
  try {
    const rows: string[][] = [['dataset', 'depends on', 'source rows']];
    const counts: Record<string, number> = {};
    for (const dataset of migration.graph.order) {
      const { extract } = migration.definition.datasets[dataset]!;
      const { rows: result } = await source.query<{ n: string }>(`SELECT count(*)::text AS n FROM (${extract}) s`, [options.tenant]);
      counts[dataset] = Number(result[0]!.n);
      rows.push([dataset, migration.graph.dependsOn(dataset).join(', ') || '-', formatNumber(counts[dataset]!)]);
    }
    ctx.output.result({ migration: migrationName(migration), tenant: options.tenant, order: migration.graph.order, sourceRows: counts });
    ctx.output.line(`migration ${migrationName(migration)}, tenant ${options.tenant}: ${formatCount(migration.graph.order.length, 'dataset')} in this order`);
    ctx.output.table(rows, [2]);
  } finally {
    await source.end();
  }
}

interface RunOptions extends MigrateOptions {
  readonly source?: string;
  readonly tenant?: string[];
  readonly tenants?: string;
  readonly all?: boolean;
  readonly only?: string[];
  readonly stageOnly?: boolean;
  readonly loadOnly?: boolean;
  readonly target?: string;
  readonly concurrency?: number;
  readonly dryRun?: boolean;
}

export async function runMigrateRun(ctx: CommandContext, options: RunOptions): Promise<void> {
  if (options.stageOnly && options.loadOnly) throw new FailsafeError('USAGE', '--stage-only and --load-only cannot be combined');
  const migration = await loadMigration(options.migration);
  const connectSource = options.loadOnly && !options.all ? undefined : requireSource(migration, options.source, ctx);
  const tenants = [
    ...new Set([...(options.tenant ?? []), ...(options.tenants ? await tenantsFromFile(options.tenants) : []), ...(options.all ? await tenantsInSource(migration, connectSource!) : [])]),
  ];
  if (tenants.length === 0) throw new FailsafeError('USAGE', options.all ? `the tenants query of ${migration.file} lists no tenant` : 'no tenant given: --tenant ID..., --tenants FILE or --all');
  const restage = options.only?.flatMap((given) => {
    const name = given.endsWith('+') ? given.slice(0, -1) : given;
    assertDataset(migration, name, `--only ${given}`);
    return given.endsWith('+') ? migration.graph.withDependants(name) : [name];
  });
  const targetName = options.stageOnly ? undefined : chooseTarget(migration, options.target);
  const board = migrationBoard(ctx);
  // One JSON document for the whole run (--json), tenants in the order they finished.
  const results: unknown[] = [];
  const migrate = (target: LoadTarget | undefined): Promise<void> => withStaging(options, async (openStaging) => {
    // Each of the --concurrency workers migrates one tenant at a time on its own sessions, opened for its
    // first tenant; they share the target's rate limit.
    const sessions: { source: PgSession | undefined; staging: PgSession }[] = [];
    const open = async (): Promise<{ source: PgSession | undefined; staging: PgSession }> => {
      const [source, staging] = await Promise.allSettled([options.loadOnly ? undefined : connectSource!(), openStaging()]);
      if (source.status === 'fulfilled' && staging.status === 'fulfilled') return { source: source.value, staging: staging.value };
      // One connected, the other did not: end the one, report the other.
      await Promise.all([source, staging].map((session) => (session.status === 'fulfilled' ? session.value?.end() : undefined)));
      throw (source.status === 'rejected' ? source : (staging as PromiseRejectedResult)).reason;
    };
    try {
      await forEachConcurrently(tenants, options.concurrency ?? 1, async (tenant, worker) => {
        const { source, staging } = (sessions[worker] ??= await open());
        const name = migrationName(migration);
        const common = { migration, name, tenant, staging, ...board.progress, signal: ctx.signal };
        if (options.dryRun) {
          const staged = source ? await stageTenant({ ...common, source, dryRun: true, ...(restage ? { restage } : {}) }) : undefined;
          const loads = targetName ? await previewLoad(staging, migration, tenant, targetName) : undefined;
          board.finish(tenant);
          results.push({ tenant, dryRun: true, ...(staged ? { staging: staged.dryRun } : {}), ...(loads ? { target: targetName, loads } : {}) });
          reportDryRun(ctx, tenant, staged?.dryRun, targetName, loads);
          return;
        }
        const staged = source ? await stageTenant({ ...common, source, ...(restage ? { restage } : {}) }) : undefined;
        const loaded = target ? await loadTenant({ ...common, target }) : undefined;
        board.finish(tenant);
        results.push({ tenant, ...(staged ? { staged } : {}), ...(loaded ? { target: target!.name, loaded } : {}) });
        reportTenant(ctx, tenant, staged, target?.name, loaded);
      });
    } finally {
      board.clear();
      await Promise.all(sessions.flatMap(({ source, staging }) => [source?.end(), staging.end()]));
    }
  });
  if (targetName === undefined || options.dryRun) await migrate(undefined);
  else await withTarget(ctx, migration, targetName, migrate);
  ctx.output.result({ migration: migrationName(migration), tenants: results });
}

/** A line per tenant at work on the terminal (stderr), unless --json or --quiet. */
function migrationBoard(ctx: CommandContext): MigrationBoard {
  return new MigrationBoard(process.stderr, !ctx.options.json && !ctx.options.quiet);
}

/** The target `--target` names, or the migration's only one. */
function chooseTarget(migration: LoadedMigration, given: string | undefined): string {
  const targets = migration.definition.targets ?? {};
  const names = Object.keys(targets);
  const name = given ?? (names.length === 1 ? names[0] : undefined);
  if (name === undefined) {
    throw new FailsafeError('USAGE', names.length === 0 ? `${migration.file} defines no targets to load into` : `several targets in ${migration.file}: name one with --target (${names.join(', ')})`, {
      hint: names.length === 0 ? 'add targets: { name: { baseUrl } } to the migration, or give --stage-only' : undefined,
    });
  }
  if (!targets[name]) throw new FailsafeError('USAGE', `--target ${name}: no such target in ${migration.file} (targets: ${names.join(', ') || 'none'})`);
  return name;
}

/** Connects to the target (checking the datasets' load specs fit it), runs `work`, and closes it. */
async function withTarget(ctx: CommandContext, migration: LoadedMigration, name: string, work: (target: LoadTarget) => Promise<void>): Promise<void> {
  const target = await openTarget(migration.file, migration.definition, name, { env: ctx.env, signal: ctx.signal });
  try {
    await work(target);
  } finally {
    ctx.logger.info({ target: target.name, ...target.counters }, 'target requests');
    await target.close();
  }
}

function reportTenant(ctx: CommandContext, tenant: string, staged: StageTenantResult | undefined, target: string | undefined, loaded: readonly DatasetLoadResult[] | undefined): void {
  if (staged) {
    ctx.output.line(`tenant ${tenant}: staged (run ${staged.runId})`);
    ctx.output.table(
      [['dataset', '', 'rows read', 'records', 'rejected'], ...staged.datasets.map((d) => [d.dataset, d.outcome, String(d.rowsRead), String(d.records), String(d.rejected)])],
      [2, 3, 4],
    );
  }
  if (loaded) {
    ctx.output.line(`tenant ${tenant}: loaded into ${target}`);
    ctx.output.table(
      [['dataset', 'created', 'updated', 'rejected', 'changed, not sent'], ...loaded.map((d) => [d.dataset, String(d.created), String(d.updated), String(d.rejected), String(d.changedNotSent)])],
      [1, 2, 3, 4],
    );
  }
}

/** Per dataset, what loading into `target` would send now (from what is staged, not from a dry run's staging). */
async function previewLoad(staging: PgSession, migration: LoadedMigration, tenant: string, target: string): Promise<{ dataset: string; creates: number; updates: number }[]> {
  const store = await StagingStore.open(staging);
  const previews = [];
  for (const dataset of migration.graph.order) previews.push({ dataset, ...(await store.loadPreview({ migration: migrationName(migration), tenant, dataset }, target)) });
  return previews;
}

function reportDryRun(
  ctx: CommandContext,
  tenant: string,
  staging: readonly DryRunDataset[] | undefined,
  target: string | undefined,
  loads: readonly { dataset: string; creates: number; updates: number }[] | undefined,
): void {
  ctx.output.line(`tenant ${tenant}: dry run, nothing written or sent`);
  if (staging) {
    ctx.output.line('staging would:');
    ctx.output.table(
      [['dataset', 'rows read', 'add', 'change', 'keep', 'remove', 'reject'], ...staging.map((d) => [d.dataset, ...[d.rowsRead, d.added, d.changed, d.unchanged, d.removed, d.rejected].map(String)])],
      [1, 2, 3, 4, 5, 6],
    );
    for (const d of staging) for (const failure of d.failures) ctx.output.line(`  ${d.dataset} ${failure.key}: ${failure.error}`);
  }
  if (loads && target) {
    ctx.output.line(`loading into ${target} would send, from what is staged now:`);
    ctx.output.table([['dataset', 'create', 'update'], ...loads.map((d) => [d.dataset, String(d.creates), String(d.updates)])], [1, 2]);
  }
}

export async function runMigrateRedrive(ctx: CommandContext, options: MigrateOptions & { tenant: string[]; dataset?: string; target?: string }): Promise<void> {
  const migration = await loadMigration(options.migration);
  if (options.dataset !== undefined) assertDataset(migration, options.dataset, `--dataset ${options.dataset}`);
  await withTarget(ctx, migration, chooseTarget(migration, options.target), (target) =>
    withStagingSession(options, async (staging) => {
      const store = await StagingStore.open(staging);
      const board = migrationBoard(ctx);
      const results = [];
      for (const tenant of options.tenant) {
        const forgotten = await store.forgetRefusals(migrationName(migration), tenant, target.name, options.dataset);
        const loaded = await loadTenant({ migration, name: migrationName(migration), tenant, staging, target, ...board.progress, signal: ctx.signal }).finally(() => board.finish(tenant));
        results.push({ tenant, redriven: forgotten, target: target.name, loaded });
        ctx.output.line(`tenant ${tenant}: ${formatCount(forgotten, 'refused record')} sent again`);
        reportTenant(ctx, tenant, undefined, target.name, loaded);
      }
      ctx.output.result({ migration: migrationName(migration), tenants: results });
    }),
  );
}

export async function runMigrateReset(ctx: CommandContext, options: MigrateOptions & { tenant: string[]; target?: string; yes?: boolean }): Promise<ExitCode> {
  const migration = await loadMigration(options.migration);
  const target = options.target === undefined ? undefined : chooseTarget(migration, options.target);
  const what = target === undefined ? 'staged records, checkpoints and staging dead letters' : `the key map, batches and dead letters of target ${target}`;
  if (!options.yes) {
    ctx.output.line(`would forget, for tenant(s) ${options.tenant.join(', ')}: ${what}`);
    if (target !== undefined) ctx.output.line(`the next load into ${target} would then create every record there again`);
    ctx.output.line('give --yes to do it');
    return ExitCode.Usage;
  }
  await withStagingStore(options, async (store) => {
    const results = [];
    for (const tenant of options.tenant) {
      const removed = await store.reset(migrationName(migration), tenant, target);
      results.push({ tenant, removed });
      ctx.output.line(`tenant ${tenant}: forgot ${Object.entries(removed).map(([table, n]) => `${n} ${table}`).join(', ')}`);
    }
    ctx.output.result({ migration: migrationName(migration), ...(target === undefined ? {} : { target }), tenants: results });
  });
  return ExitCode.Ok;
}

/** The source's connector (`--source`, else the migration's `source`), or a USAGE error when there is none. */
function requireSource(migration: LoadedMigration, flag: string | undefined, ctx: CommandContext): () => Promise<PgSession> {
  const connector = sourceConnector(migration, flag, ctx.env);
  if (!connector) {
    throw new FailsafeError('USAGE', `missing --source URL (the database to extract from; ${migration.file} names no source)`, {
      hint: "give --source, or source: { url } in the migration; --load-only loads what is staged",
    });
  }
  return connector;
}

/** Every tenant id the migration's `tenants` query lists in the source. */
async function tenantsInSource(migration: LoadedMigration, connectSource: () => Promise<PgSession>): Promise<string[]> {
  const query = migration.definition.tenants;
  if (query === undefined) {
    throw new FailsafeError('USAGE', `--all: ${migration.file} has no tenants query`, { hint: "add tenants: 'SELECT id FROM ... ORDER BY id' to the migration" });
  }
  const source = await connectSource();
  try {
    const { rows } = await source.query<Record<string, unknown>>(query).catch((err: unknown) => {
      throw new FailsafeError('CONFIG', `${migration.file}: the tenants query does not run: ${messageOf(err)}`, { cause: err });
    });
    return rows.map((row) => String(Object.values(row)[0]));
  } finally {
    await source.end();
  }
}

/** Tenant ids, one per line; blank lines and lines starting with # are skipped. */
async function tenantsFromFile(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new FailsafeError('USAGE', `--tenants ${file} cannot be read`, { cause: err });
  }
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}
