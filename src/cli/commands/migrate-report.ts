/**
 * The read-only `failsafe migrate` commands (declared in migrate.ts): `status`, `errors`, `diff` and
 * `inspect` read the staging database and change nothing.
 */
import { FailsafeError, messageOf } from '../../core/errors.js';
import { formatCount, formatNumber, formatSeconds, formatTime } from '../../core/units.js';
import { loadMigration, type LoadedMigration } from '../../migrate/load-migration.js';
import type { DatasetStatus, StagedChange, StagingReports } from '../../migrate/staging-reports.js';
import type { CommandContext } from '../context.js';
import { assertDataset, EMBEDDED_STAGING_DIR, migrationName, tenantsOrAll, withStagingReports, type MigrateOptions } from './migrate-staging.js';

interface TenantsOption {
  /** Default: every tenant staged. */
  readonly tenant?: string[];
}

export async function runMigrateStatus(ctx: CommandContext, options: MigrateOptions & TenantsOption): Promise<void> {
  const migration = await loadMigration(options.migration);
  const name = migrationName(migration);
  await withStagingReports(options, async (reports) => {
    const tenants = await tenantsOrAll(reports, migration, options.tenant);
    const report = [];
    for (const tenant of tenants) {
      const statuses = await reports.status(name, tenant);
      const [lastRun] = await reports.runs(name, { tenant }, 1);
      const datasets = migration.graph.order.map((dataset) => ({ dataset, ...(statuses.get(dataset) ?? notStaged()) }));
      report.push({ tenant, lastRun: lastRun ?? null, datasets });
      ctx.output.line(`tenant ${tenant}${lastRun ? `: last run ${lastRun.id}, ${lastRun.endedAt ? `ended ${formatTime(lastRun.endedAt)}` : `started ${formatTime(lastRun.startedAt)}, not ended`}` : ''}`);
      ctx.output.table(statusRows(datasets), [1, 2, 3, 5, 6, 7, 8]);
    }
    ctx.output.result({ migration: name, tenants: report });
  });
}

function notStaged(): DatasetStatus {
  return { rowsRead: 0, staged: 0, rejected: 0, done: false, rowsPerSecond: undefined, targets: {} };
}

/** One row per dataset: staging, then each target's loading (records loaded, refused, rate, ETA of what is left). */
function statusRows(datasets: readonly (DatasetStatus & { readonly dataset: string })[]): string[][] {
  const targets = [...new Set(datasets.flatMap((d) => Object.keys(d.targets)))].sort();
  const header = ['dataset', 'rows read', 'staged', 'rejected', 'staging'];
  for (const target of targets) header.push(`loaded → ${target}`, 'refused', 'records/s', 'ETA');
  const rows = [header];
  for (const d of datasets) {
    const staging = d.done ? 'done' : d.rowsRead > 0 ? `running${d.rowsPerSecond ? `, ${formatNumber(Math.round(d.rowsPerSecond))} rows/s` : ''}` : d.staged > 0 ? 'unfinished' : 'not staged';
    const row = [d.dataset, formatNumber(d.rowsRead), formatNumber(d.staged), formatNumber(d.rejected), staging];
    for (const target of targets) {
      const load = d.targets[target];
      if (!load) {
        row.push('-', '', '', '');
        continue;
      }
      const left = Math.max(0, d.staged - load.loaded - load.refused);
      const eta = left === 0 ? 'done' : load.recordsPerSecond > 0 ? formatSeconds(left / load.recordsPerSecond) : 'stopped';
      row.push(formatNumber(load.loaded), formatNumber(load.refused), load.recordsPerSecond > 0 ? formatNumber(Math.round(load.recordsPerSecond)) : '-', eta);
    }
    rows.push(row);
  }
  return rows;
}

export async function runMigrateErrors(ctx: CommandContext, options: MigrateOptions & TenantsOption & { dataset?: string }): Promise<void> {
  const migration = await loadMigration(options.migration);
  if (options.dataset !== undefined) assertDataset(migration, options.dataset, `--dataset ${options.dataset}`);
  await withStagingReports(options, async (reports) => {
    const report = [];
    for (const tenant of await tenantsOrAll(reports, migration, options.tenant)) {
      const letters = await reports.deadLetters(migrationName(migration), tenant, options.dataset);
      report.push({ tenant, deadLetters: letters });
      ctx.output.line(`tenant ${tenant}: ${formatCount(letters.length, 'record')} not staged or loaded`);
      for (const letter of letters) ctx.output.line(`  ${letter.dataset} ${letter.key}${letter.target ? ` → ${letter.target}` : ''}: ${letter.error}`);
    }
    ctx.output.result({ migration: migrationName(migration), tenants: report });
  });
}

interface DiffOptions extends MigrateOptions {
  readonly dataset?: string;
  /** Records shown per dataset and kind of change; default 10. */
  readonly limit?: number;
}

/**
 * `migrate diff RUN_A [RUN_B]`: what the runs after A up to B (default: A alone, against the run
 * before it) added, changed and removed in staging, per dataset, with the fields that changed.
 */
export async function runMigrateDiff(ctx: CommandContext, first: string, second: string | undefined, options: DiffOptions): Promise<void> {
  const migration = await loadMigration(options.migration);
  if (options.dataset !== undefined) assertDataset(migration, options.dataset, `--dataset ${options.dataset}`);
  const name = migrationName(migration);
  await withStagingReports(options, async (reports) => {
    const { tenant, from, to } = await diffSpan(reports, migration, first, second);
    const changes = (await reports.changes(name, tenant, from, to)).filter((change) => options.dataset === undefined || change.dataset === options.dataset);
    ctx.output.result({ migration: name, tenant, from, to, changes });
    ctx.output.line(`tenant ${tenant}: what ${second === undefined ? `run ${to}` : `runs after ${from} up to ${to}`} changed in staging`);
    if (changes.length === 0) {
      ctx.output.line('  nothing');
      return;
    }
    const limit = options.limit ?? 10;
    for (const dataset of migration.graph.order) {
      const ofDataset = changes.filter((change) => change.dataset === dataset);
      if (ofDataset.length === 0) continue;
      const kinds = CHANGE_KINDS.map((kind) => ofDataset.filter((change) => change.change === kind));
      ctx.output.line(`${dataset}: ${kinds.map((list, i) => `${list.length} ${CHANGE_KINDS[i]}`).join(', ')}`);
      for (const list of kinds) {
        for (const change of list.slice(0, limit)) ctx.output.line(`  ${describeChange(change)}`);
        if (list.length > limit) ctx.output.line(`  ... and ${list.length - limit} more ${list[0]!.change} (--limit N, or --json)`);
      }
    }
  });
}

/** The kinds of change `diff` lists, in the order it lists them. */
const CHANGE_KINDS = ['added', 'changed', 'removed'] as const;

/** The tenant and run span of `diff A [B]`: both runs of one tenant, A before B. */
async function diffSpan(reports: StagingReports, migration: LoadedMigration, first: string, second: string | undefined): Promise<{ tenant: string; from: string; to: string }> {
  const name = migrationName(migration);
  const find = async (id: string) => {
    if (!/^\d+$/.test(id)) throw new FailsafeError('USAGE', `run id ${id} is not a number (the run ids are in \`migrate run\`'s and \`migrate status\`'s output)`);
    const run = await reports.run(name, id);
    if (!run) throw new FailsafeError('USAGE', `no run ${id} of ${migration.file} in the staging database`);
    return run;
  };
  const a = await find(first);
  if (second === undefined) {
    const [earlier] = await reports.runs(name, { tenant: a.tenant, before: a.id }, 1);
    return { tenant: a.tenant, from: earlier?.id ?? '0', to: a.id };
  }
  const b = await find(second);
  if (a.tenant !== b.tenant) throw new FailsafeError('USAGE', `runs ${a.id} and ${b.id} are of different tenants (${a.tenant}, ${b.tenant}): diff compares runs of one tenant`);
  if (Number(a.id) >= Number(b.id)) throw new FailsafeError('USAGE', `run ${a.id} is not before run ${b.id}: give the earlier run first`);
  return { tenant: a.tenant, from: a.id, to: b.id };
}

/** `key: field "old" → "new", ...` for a change; added and removed records in full (shortened). */
function describeChange(change: StagedChange): string {
  if (change.change !== 'changed') return `${change.change === 'added' ? '+' : '-'} ${change.key} ${shorten(JSON.stringify(change.change === 'added' ? change.after : change.before))}`;
  const before = (change.before ?? {}) as Record<string, unknown>;
  const after = (change.after ?? {}) as Record<string, unknown>;
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]));
  return `~ ${change.key} ${fields.map((field) => `${field}: ${shorten(JSON.stringify(before[field]) ?? 'absent')} → ${shorten(JSON.stringify(after[field]) ?? 'absent')}`).join(', ')}`;
}

function shorten(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * `migrate inspect`: where the staging database is, its tables and recent runs; with `--sql`, the
 * result of one read-only query.
 */
export async function runMigrateInspect(ctx: CommandContext, options: MigrateOptions & { sql?: string }): Promise<void> {
  const migration = await loadMigration(options.migration);
  await withStagingReports(options, async (reports) => {
    if (options.sql !== undefined) {
      const { columns, rows } = await reports.readOnly(options.sql).catch((err: unknown) => {
        throw new FailsafeError('USAGE', `--sql: ${messageOf(err)}`, { cause: err });
      });
      ctx.output.result({ columns, rows });
      if (columns.length > 0) ctx.output.table([columns, ...rows.map((row) => row.map(cellText))]);
      ctx.output.line(`(${formatCount(rows.length, 'row')})`);
      return;
    }
    const tables = await reports.tableSizes();
    const runs = await reports.runs(migrationName(migration));
    ctx.output.result({ staging: options.staging ?? EMBEDDED_STAGING_DIR, tables, runs });
    ctx.output.line(
      options.staging
        ? `staging database: ${options.staging} (schema failsafe_migrate)`
        : `staging database: embedded PostgreSQL, data in ${EMBEDDED_STAGING_DIR}/ (schema failsafe_migrate); query it with --sql 'SELECT ...'`,
    );
    ctx.output.table([['table', 'rows'], ...tables.map((t) => [t.table, formatNumber(t.rows)])], [1]);
    ctx.output.line();
    ctx.output.line(`runs of ${migrationName(migration)} (newest first):`);
    ctx.output.table([['run', 'tenant', 'started', 'ended', 'datasets'], ...runs.map((run) => [run.id, run.tenant, formatTime(run.startedAt), run.endedAt ? formatTime(run.endedAt) : '-', run.datasets.join(', ')])]);
  });
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
