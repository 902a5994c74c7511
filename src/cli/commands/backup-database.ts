/**
 * The database half of `failsafe backup`: whole databases, one tenant (`--tenant`), or every configured
 * tenant into its own repository (`--all-tenants`).
 */
import { FailsafeError, withContext } from '../../core/errors.js';
import { formatBytes, formatCount, formatSeconds } from '../../core/units.js';
import { shortId, type Snapshot } from '../../repository/snapshot.js';
import type { DatabaseBackupResult } from '../../sources/postgres/backup-database.js';
import type { CrossTenantPolicy } from '../../sources/postgres/subset-sql.js';
import type { Ownership } from '../../sources/postgres/tenant-plan.js';
import type { S3Options } from '../../config/schema.js';
import { objectsPart } from '../../sources/objects/objects-part.js';
import type { SnapshotPart } from '../../sources/snapshot-part.js';
import type { CommandContext, RepositoryOpening } from '../context.js';
import { resolvePostgresSource, type ResolvedPostgresSource } from '../postgres-source.js';

export interface DatabaseBackupOptions {
  readonly postgres?: string;
  readonly objects?: string;
  readonly tenantPrefix?: string;
  readonly tenantRoot?: string;
  readonly tenantKey?: string;
  readonly tenantOwnership?: Ownership;
  readonly tenant?: string;
  readonly allTenants?: boolean;
  readonly onCrossTenant?: CrossTenantPolicy;
  readonly owners?: boolean;
  readonly jobs?: number;
  readonly tag: string[];
  readonly host?: string;
}

export interface DatabaseBackupRun {
  readonly snapshot: Snapshot;
  readonly line: string;
}

/** Backs up one database source (`sourceName` from the config, or the `--postgres` URL). */
export async function backupDatabaseSource(
  ctx: CommandContext,
  sourceName: string | undefined,
  options: DatabaseBackupOptions,
  onFailure: (what: string, err: FailsafeError) => void,
): Promise<DatabaseBackupRun[]> {
  const source = await resolvePostgresSource(ctx, {
    ...(sourceName ? { source: sourceName } : {}),
    ...(options.postgres ? { postgres: options.postgres } : {}),
    ...(options.tenantRoot ? { tenantRoot: options.tenantRoot } : {}),
    ...(options.tenantKey ? { tenantKey: options.tenantKey } : {}),
    ...(options.tenantOwnership ? { tenantOwnership: options.tenantOwnership } : {}),
  });
  const name = source.name ?? source.settings.database;
  const config = await ctx.config();
  const configuredRepository = source.name ? config.sources[source.name]?.repository : undefined;

  if (options.allTenants) {
    const tenants = Object.entries(config.tenants);
    if (tenants.length === 0) throw new FailsafeError('USAGE', '--all-tenants: no tenants: in the config');
    const runs: DatabaseBackupRun[] = [];
    // Each tenant's repository opens (its key derived, a fifth of a second) while the one before is backed up.
    const startOpening = (index: number): Promise<RepositoryOpening> | undefined => {
      if (index >= tenants.length) return undefined;
      const [tenantName, tenant] = tenants[index]!;
      const started = ctx.startOpeningTenantRepository(tenantName, tenant);
      started.catch(() => {}); // awaited in its turn; a failure then is that tenant's
      return started;
    };
    let next = startOpening(0);
    for (const [index, [tenantName, tenant]] of tenants.entries()) {
      const opening = next!;
      next = startOpening(index + 1);
      try {
        runs.push(await runOne(ctx, await opening, source, name, tenant.id, options));
      } catch (err) {
        // Each tenant's copy stands alone: one unreachable repository must not cost the others theirs.
        if (ctx.signal.aborted) throw err;
        onFailure(`tenant ${tenantName}`, withContext(`tenant ${tenantName}`, err));
      }
    }
    return runs;
  }
  if (options.tenant !== undefined) {
    const entry = Object.entries(config.tenants).find(([tenantName, t]) => tenantName === options.tenant || t.id === options.tenant);
    const opening = entry ? await ctx.startOpeningTenantRepository(entry[0], entry[1]) : await ctx.startOpeningRepository(configuredRepository);
    return [await runOne(ctx, opening, source, name, entry?.[1].id ?? options.tenant, options)];
  }
  return [await runOne(ctx, await ctx.startOpeningRepository(configuredRepository), source, name, undefined, options)];
}

/**
 * One snapshot; the repository opens while the database work starts. The database half of the source
 * layer (~25 ms to load, then pg) is imported only now, once the key derivation has begun on a thread
 * of its own: the loading overlaps it instead of delaying it.
 */
async function runOne(
  ctx: CommandContext,
  opening: RepositoryOpening,
  source: ResolvedPostgresSource,
  name: string,
  tenant: string | undefined,
  options: DatabaseBackupOptions,
): Promise<DatabaseBackupRun> {
  if (tenant !== undefined && !source.tenancy) {
    throw new FailsafeError('USAGE', `source ${name} has no tenancy`, { hint: 'add tenancy: to the source, or --tenant-root schema.table' });
  }
  const started = Date.now();
  const { backupDatabase } = await import('../../sources/postgres/backup-database.js');
  const parts = await objectsParts(ctx, source, tenant, options);
  const result = await backupDatabase(opening.repository, {
    parts,
    settings: source.settings,
    sourceName: name,
    ...(tenant !== undefined ? { tenant, tenancy: source.tenancy! } : {}),
    ...(options.onCrossTenant ? { onCrossTenant: options.onCrossTenant } : {}),
    ...(options.owners ? { owners: true } : {}),
    ...(options.jobs ? { jobs: options.jobs } : {}),
    tags: options.tag,
    ...(options.host ? { host: options.host } : {}),
    onProgress: ctx.progress.listener,
    signal: ctx.signal,
  });
  return { snapshot: result.snapshot, line: describeRun(result, started) };
}

/**
 * The objects that go into the same snapshot: `--objects URL` with `--postgres`, else every configured
 * objects source; for a tenant, only the keys under the source's tenant prefix.
 */
async function objectsParts(
  ctx: CommandContext,
  source: ResolvedPostgresSource,
  tenant: string | undefined,
  options: DatabaseBackupOptions,
): Promise<SnapshotPart[]> {
  const wanted: { name: string; url: string; tenantPrefix: string | undefined; s3: S3Options | undefined }[] = [];
  if (options.objects) {
    if (!options.postgres) throw new FailsafeError('USAGE', '--objects goes with --postgres (configured objects sources are included by themselves)');
    wanted.push({ name: 'objects', url: options.objects, tenantPrefix: options.tenantPrefix, s3: undefined });
  } else if (source.name !== undefined) {
    for (const [name, configured] of Object.entries((await ctx.config()).sources)) {
      if (configured.kind === 'objects') wanted.push({ name, url: configured.url, tenantPrefix: configured.tenantPrefix, s3: configured.s3 });
    }
  }
  const parts: SnapshotPart[] = [];
  for (const objects of wanted) {
    if (tenant !== undefined && !objects.tenantPrefix) {
      throw new FailsafeError('USAGE', `objects source ${objects.name} has no tenant prefix, so it cannot be split by tenant`, {
        hint: 'set tenant-prefix: "prefix/{tenant}/" on the source, or --tenant-prefix',
      });
    }
    const store = await ctx.openObjectStore(objects.url, objects.s3);
    parts.push(objectsPart(store, objects.name, tenant === undefined ? '' : objects.tenantPrefix!.replaceAll('{tenant}', tenant)));
  }
  return parts;
}

function describeRun({ snapshot, manifest }: DatabaseBackupResult, started: number): string {
  const seconds = (Date.now() - started) / 1000;
  const rows = manifest.tables.reduce((n, t) => n + t.rows, 0);
  const tenant = manifest.tenant;
  const who = tenant ? `tenant ${tenant.id} of ${manifest.database}` : `database ${manifest.database}`;
  const crossTenant =
    tenant?.onCrossTenant === 'nullify'
      ? `; references to ${formatCount(tenant.otherTenantsRows ?? 0, "other tenants' row")} written as NULL`
      : tenant?.onCrossTenant === 'skip-row'
        ? `; ${formatCount(tenant.skippedRows ?? 0, 'row')} referencing other tenants left out`
        : '';
  const { summary } = snapshot;
  return (
    `snapshot ${shortId(snapshot.id)} saved: ${who}, ${formatCount(manifest.tables.length, 'table')}, ${formatCount(rows, 'row')}, ` +
    `${formatBytes(summary.bytes)} in ${formatSeconds(seconds)} (at ${manifest.lsn}); added ${formatBytes(summary.newStoredBytes)} to the repository${crossTenant}`
  );
}
