/**
 * What `failsafe plan` does (its options are declared in plan.ts): one tenant's subset of a database,
 * table by table, and the references that cross to other tenants.
 */
import { FailsafeError } from '../../core/errors.js';
import { formatCount } from '../../core/units.js';
import { connect } from '../../postgres/connection.js';
import { planReport, type PlanReport } from '../../sources/postgres/plan-report.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { resolvePostgresSource, resolveTenantId, type PostgresSourceOptions } from '../postgres-source.js';

interface PlanOptions extends PostgresSourceOptions {
  readonly tenant?: string;
  readonly count?: boolean;
}

export async function runPlan(ctx: CommandContext, options: PlanOptions): Promise<ExitCode> {
  const source = await resolvePostgresSource(ctx, options);
  if (!source.tenancy) {
    throw new FailsafeError('USAGE', 'no tenancy to plan', { hint: 'give --tenant-root schema.table, or tenancy: in the source config' });
  }
  const tenant = await resolveTenantId(ctx, options.tenant!);
  const session = await connect(source.settings);
  let report: PlanReport;
  try {
    ctx.progress.note(`planning tenant ${tenant}...`);
    report = await planReport(session, source.tenancy, tenant, { count: options.count ?? false });
  } finally {
    await session.end();
  }
  ctx.output.result(report);
  printReport(ctx, report, options.count ?? false);
  return report.crossTenant.length > 0 ? ExitCode.VerifyFailed : ExitCode.Ok;
}

function printReport(ctx: CommandContext, report: PlanReport, counted: boolean): void {
  ctx.output.line(`tenant ${report.tenant}: ${report.root} where ${report.key} = ${report.tenant}${report.ownership === 'root-key' ? '; root keys decide ownership' : ''}`);
  ctx.output.line();
  const copied = report.tables.filter((t) => t.sql !== undefined);
  // One line per table (name, role, rows, why) and its selection indented under it: selections can be
  // long, and a column of them would push everything else off the screen.
  const rowsOf = (t: PlanReport['tables'][number]): string => (counted ? String(t.rows) : t.tableRows < 0 ? '?' : `~${Math.round(t.tableRows)}`);
  const width = (values: readonly string[]): number => Math.max(...values.map((v) => v.length));
  const nameWidth = width(['table', ...copied.map((t) => t.table)]);
  const roleWidth = width(['role', ...copied.map((t) => t.role)]);
  const rowsWidth = width([counted ? 'rows' : 'table rows', ...copied.map(rowsOf)]);
  ctx.output.line(`${'table'.padEnd(nameWidth)}  ${'role'.padEnd(roleWidth)}  ${(counted ? 'rows' : 'table rows').padStart(rowsWidth)}  why`);
  for (const t of copied) {
    ctx.output.line(`${t.table.padEnd(nameWidth)}  ${t.role.padEnd(roleWidth)}  ${rowsOf(t).padStart(rowsWidth)}  ${t.reason}`);
    ctx.output.line(`${' '.repeat(nameWidth + 2)}where ${t.predicate}`);
  }
  const skipped = report.tables.filter((t) => t.sql === undefined);
  if (skipped.length > 0) {
    ctx.output.line();
    ctx.output.line(`not copied (${formatCount(skipped.length, 'table')}):`);
    for (const t of skipped) ctx.output.line(`  ${t.table} (${t.role}): ${t.reason}`);
  }
  if (counted) {
    const rows = copied.reduce((sum, t) => sum + (t.rows ?? 0), 0);
    ctx.output.line();
    ctx.output.line(`${formatCount(rows, 'row')} in ${formatCount(copied.length, 'table')}`);
  }
  if (report.crossTenant.length > 0) {
    ctx.output.notice(
      `cross-tenant references: rows of tenant ${report.tenant} reference rows that belong to other tenants${report.crossTenantTruncated ? ' (first ones shown)' : ''}:`,
    );
    for (const row of report.crossTenant) {
      const key = Object.entries(row.row).map(([column, value]) => `${column}=${value}`).join(', ');
      ctx.output.notice(`  ${row.table} (${key}) of tenant ${row.owners.join(', ')}, referenced through ${row.referencedBy}`);
    }
    ctx.output.notice('fix the data, or declare a choice when backing up: --on-cross-tenant nullify | skip-row');
  }
}
