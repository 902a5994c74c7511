/**
 * A consistent snapshot of a PostgreSQL database — whole, or one tenant's subset — streamed into the
 * repository. One coordinator transaction exports its snapshot; `jobs` worker sessions join it
 * (`SET TRANSACTION SNAPSHOT`, the `pg_dump -j` way) and COPY tables out in key order, largest first
 * (a tenant's tables after their parents), straight into the chunker: no temporary files, memory
 * bounded by the pipeline.
 */
import { hostname } from 'node:os';
import { FailsafeError, withContext } from '../../core/errors.js';
import { progressOf, type ProgressListener } from '../../core/progress.js';
import { readTableGraph, type TableGraph } from '../../postgres/catalog.js';
import { connect, describeConnection, type ConnectionSettings, type PgSession } from '../../postgres/connection.js';
import { captureSchema, describeStatement, type CapturedSchema } from '../../postgres/schema/capture-schema.js';
import { APPLY_SETTINGS } from '../../postgres/schema/session-settings.js';
import { saveContent } from '../../repository/content.js';
import type { Repository } from '../../repository/repository.js';
import type { Snapshot } from '../../repository/snapshot.js';
import { commitSnapshot, resolveParent } from '../snapshot-session.js';
import { once, type SnapshotPart } from '../snapshot-part.js';
import { SnapshotTreeBuilder } from '../snapshot-tree.js';
import { DATABASE_MANIFEST_VERSION, STABLE_OUTPUT_SETTINGS, settingsSql, type DatabaseManifest } from './database-manifest.js';
import { parentsOf } from './down-sets.js';
import type { DownSet, DownSets } from './down-set.js';
import { copyColumns, downSetColumns, wholeTableSelect } from './subset-columns.js';
import { SubsetSql, type CrossTenantPolicy, type ExtraRows } from './subset-sql.js';
import { copyTables, type CheckJob, type CopiedTables, type CopyHooks, type TableJob } from './table-copy.js';
import { assertTenantExists, closeSubset, type Closure, type CrossTenantRow } from './tenant-closure.js';
import { planTenancy, type TableRole, type TenancyRules, type TenantPlan } from './tenant-plan.js';

export interface BackupDatabaseOptions {
  readonly settings: ConnectionSettings;
  /** The directory name inside the snapshot and the snapshot's source name, e.g. `app-db`. */
  readonly sourceName: string;
  /** With `tenant`: back up only that tenant's subset. */
  readonly tenancy?: TenancyRules;
  readonly tenant?: string;
  /** References into other tenants' rows: fail (default), write NULL, or leave the referencing rows out. */
  readonly onCrossTenant?: CrossTenantPolicy;
  /** Also capture owners and privileges (the roles must exist where it is restored). */
  readonly owners?: boolean;
  /** Parallel COPY sessions; default 2. */
  readonly jobs?: number;
  readonly tags?: readonly string[];
  readonly host?: string;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
  /** Other sources stored in the same snapshot, e.g. the tenant's files ({@link objectsPart}). */
  readonly parts?: readonly SnapshotPart[];
}

export interface DatabaseBackupResult {
  readonly snapshot: Snapshot;
  readonly manifest: DatabaseManifest;
}

/** Thrown (as its message and `rows`) when the subset references other tenants' rows. */
export class CrossTenantError extends FailsafeError {
  readonly rows: readonly CrossTenantRow[];
  /** `truncated`: there are more than the rows given (the closure stops naming them at its report limit). */
  constructor(tenant: string, rows: readonly CrossTenantRow[], truncated: boolean) {
    const first = rows[0]!;
    const key = Object.entries(first.row).map(([c, v]) => `${c}=${v}`).join(', ');
    super(
      'VERIFY_FAILED',
      `tenant ${tenant} references rows of other tenants (${rows.length}${truncated ? ' or more' : ''}), e.g. ${first.table} (${key}) of tenant ${first.owners.join(', ')} through ${first.referencedBy}`,
      { hint: `see every one with: failsafe plan --tenant ${tenant}` },
    );
    this.rows = rows;
  }
}

/**
 * A tenant's queries are index walks from small literal sets. PostgreSQL's default random_page_cost (4,
 * priced for spinning disks) makes 200 index probes look dearer than a scan of a 200k-row table; 1.1
 * is the usual setting for SSDs and cached data (one query: 45 ms as a scan, 7 ms as probes). The sets
 * of a larger tenant (hundreds of thousands of rows) are hashed and sorted, which the default 4 MB
 * work_mem sends to disk; 64 MB keeps them in memory (the folio-line cycle query at 1% of 24 GB: 0.60
 * s → 0.49 s). Settings the server already has that are better for this are kept.
 */
const SUBSET_PLANNER_SQL =
  `SELECT pg_catalog.set_config('random_page_cost', least(pg_catalog.current_setting('random_page_cost')::float8, 1.1)::text, true), ` +
  `pg_catalog.set_config('work_mem', greatest(pg_catalog.pg_size_bytes(pg_catalog.current_setting('work_mem')) / 1024, 65536)::text || 'kB', true)`;

/**
 * `repository` may still be opening (deriving a key from a password takes a fifth of a second): the
 * database work up to the first COPY goes on meanwhile, and a failure to open is reported when the
 * repository is needed.
 *
 * @example
 * const { snapshot } = await backupDatabase(repo, { settings, sourceName: 'app-db', jobs: 2 });
 */
export async function backupDatabase(repository: Repository | Promise<Repository>, options: BackupDatabaseOptions): Promise<DatabaseBackupResult> {
  const start = new Date();
  const opening = Promise.resolve(repository);
  opening.catch(() => {}); // awaited below; until then a failure must not count as unhandled
  const jobs = Math.max(1, options.jobs ?? 2);
  const coordinator = await connect(options.settings);
  const workers: PgSession[] = [];
  let joined: Promise<unknown> = Promise.resolve();
  try {
    const sessionSql = `${settingsSql()}${options.tenant !== undefined ? `; ${SUBSET_PLANNER_SQL}` : ''}`;
    await coordinator.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; ${sessionSql}`);
    const { rows } = await coordinator.query<{ snapshot: string; lsn: string; time: Date; version: string; version_num: string; database: string }>(
      `SELECT pg_export_snapshot() AS snapshot,
              (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn,
              now() AS time, current_setting('server_version') AS version,
              current_setting('server_version_num') AS version_num, current_database() AS database`,
    );
    const exported = rows[0]!;
    // Workers join the snapshot while the coordinator plans.
    const attempts = Array.from({ length: jobs }, async () => {
      const worker = await connect(options.settings);
      workers.push(worker);
      await worker.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '${exported.snapshot}'; ${sessionSql}`);
    });
    const joining = Promise.all(attempts);
    joining.catch(() => {}); // awaited before the copies start
    joined = Promise.allSettled(attempts);
    const graph = await readTableGraph(coordinator);
    const plan = await planTenantBackup(coordinator, graph, options);
    await joining;
    // A tenant's tables with a key to the root are copied by the tenant's id; the others after their
    // parents, from the parents' down sets, which are taken from the rows as they are copied. Then the
    // other keys of the first kind are checked for rows without the tenant's id (see docs/postgres.md),
    // and the closure runs on the sets. Both usually find nothing; when they do (or a cross-tenant policy
    // keeps rows out) the tables are copied again.
    let downSets = new Map<string, DownSet>();
    let speculative = tableJobs(graph, plan, options, undefined, downSets, true);
    const tableCount = speculative.tables.length;

    const repo = await opening;
    return await repo.withLock('shared', 'backup', async (lock) => {
      await repo.loadIndex();
      const host = options.host ?? hostname();
      const paths = [`/${options.sourceName}`, ...(options.parts ?? []).map((part) => `/${part.name}`)];
      const parent = await resolveParent(repo, 'auto', {
        hosts: [host],
        paths,
        ...(options.tenant !== undefined ? { tenants: [options.tenant] } : {}),
      });
      const writer = repo.newBlobWriter();
      const chunker = repo.newParallelChunker(1, 'tables');
      const time = exported.time.toISOString();
      const tree = new SnapshotTreeBuilder(time);
      const saveBytes = async (path: string, bytes: Buffer): Promise<void> => {
        tree.addFile(`${options.sourceName}/${path}`, await saveContent(repo, writer, once(bytes)));
      };
      let bytesDone = 0;
      let tablesDone = 0;
      const report = (current?: string): void =>
        options.onProgress?.({ ...progressOf('backup', 'tables', tablesDone, tableCount, bytesDone), ...(current ? { current } : {}) });

      const copyHooks: CopyHooks = {
        store: (job, stream) =>
          saveContent(repo, writer, stream, {
            chunker,
            onBytes: (bytes) => {
              bytesDone += bytes;
              report(job.table.name);
            },
          }),
        onStart: (job) => report(job.table.name),
        onDone: () => {
          tablesDone++;
          report();
        },
        signal: options.signal,
      };

      let result: CopiedTables;
      let jobsDone: PlannedJobs;
      let schema: CapturedSchema;
      try {
        // The coordinator captures the schema while the workers copy; then, once every table is copied,
        // it runs the closure on the down sets while the workers' checks run. Everything ends before a
        // failure is reported.
        const capturing = captureSchema(coordinator, { owners: options.owners ?? false });
        let closing: Promise<ClosedPlan> | undefined;
        const onCopied = (): void => {
          if (!plan) return;
          const sets = downSets;
          closing = capturing.then(() => closePlan(coordinator, plan, sets, options));
          closing.catch(() => {}); // awaited below
        };
        const [copied, captured] = await Promise.allSettled([
          copyTables(workers, speculative.tables, downSets, { ...copyHooks, onCopied }, speculative.checks),
          capturing,
        ]);
        if (copied.status === 'rejected' || captured.status === 'rejected' || copied.value.incomplete) {
          // The closure ran on down sets that the failure, or rows the copies missed, make moot.
          await closing?.catch(() => {});
          closing = undefined;
        }
        if (copied.status === 'rejected') throw copied.reason;
        if (captured.status === 'rejected') throw captured.reason;
        schema = captured.value;
        let copiedTables = copied.value;
        if (copiedTables.incomplete) {
          // A key other than the root key reaches rows without the tenant's id: every table the long way.
          downSets = new Map();
          speculative = tableJobs(graph, plan, options, undefined, downSets, false);
          tablesDone = 0;
          copiedTables = await copyTables(workers, speculative.tables, downSets, copyHooks);
        }
        const closure = plan ? await (closing ?? closePlan(coordinator, plan, downSets, options)) : undefined;
        if (closure && !closure.empty) {
          jobsDone = tableJobs(graph, plan, options, closure);
          tablesDone = 0;
          result = await copyTables(workers, jobsDone.tables, new Map(), copyHooks);
        } else {
          jobsDone = closure ? tableJobs(graph, plan, options, closure) : speculative;
          result = copiedTables;
        }
        for (const [file, saved] of result.files) tree.addFile(`${options.sourceName}/${file}`, saved);
        for (const part of options.parts ?? []) {
          report(part.name);
          await part
            .write({ repo, writer, chunker, tree, signal: options.signal, onBytes: (bytes) => ((bytesDone += bytes), report(part.name)) })
            .catch((err: unknown) => {
              throw withContext(`back up ${part.name}`, err);
            });
        }
      } finally {
        await chunker.close();
      }

      const manifestTables = result.entries.sort((a, b) => a.name.localeCompare(b.name));
      const { skipped, tenant } = jobsDone;
      const manifest: DatabaseManifest = {
        format: 'failsafe-postgres',
        version: DATABASE_MANIFEST_VERSION,
        server: { version: exported.version, versionNum: Number(exported.version_num) },
        database: exported.database,
        snapshotTime: time,
        lsn: exported.lsn,
        tenant,
        settings: { ...STABLE_OUTPUT_SETTINGS },
        tables: manifestTables,
        skipped,
      };
      await saveBytes('manifest.json', Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
      await saveBytes('schema.json', Buffer.from(`${JSON.stringify(schema)}\n`));
      await saveBytes('schema/pre-data.sql', Buffer.from(sqlScript(schema.preData)));
      await saveBytes('schema/post-data.sql', Buffer.from(sqlScript(schema.postData)));
      const treeId = await tree.save(writer);
      const snapshot = await commitSnapshot(repo, writer, lock, {
        time,
        host,
        source: { kind: 'postgres', name: options.sourceName },
        paths,
        tags: [...(options.tags ?? [])],
        tenant: tenant?.id ?? null,
        tree: treeId,
        parent: parent?.id ?? null,
        counts: tree.counts,
        start,
      });
      return { snapshot, manifest };
    });
  } catch (err) {
    if (err instanceof FailsafeError) throw err;
    throw withContext(`back up ${describeConnection(options.settings)}`, err);
  } finally {
    await joined; // every worker that connects is ended
    await Promise.allSettled([coordinator, ...workers].map((session) => session.end()));
  }
}

interface PlannedJobs {
  readonly tables: readonly TableJob[];
  /** Whether the tables copied by the tenant's id missed rows ({@link SubsetSql.rowsOutsideCheck}), run with the copies. */
  readonly checks: readonly CheckJob[];
  readonly skipped: DatabaseManifest['skipped'];
  readonly tenant: DatabaseManifest['tenant'];
}

interface ClosedPlan {
  readonly closure: Closure;
  readonly policy: CrossTenantPolicy;
  /** True when the closure adds nothing to the plain plan: no rows through cycles, none pulled up, none kept out. */
  readonly empty: boolean;
}

/** The tenant plan (undefined for a whole-database backup), after checking the tenant exists. */
async function planTenantBackup(session: PgSession, graph: TableGraph, options: BackupDatabaseOptions): Promise<TenantPlan | undefined> {
  if (options.tenant === undefined) return undefined;
  if (!options.tenancy) throw new FailsafeError('USAGE', 'a tenant backup needs tenancy rules (tenancy: in the source, or --tenant-root)');
  const plan = planTenancy(graph, options.tenancy);
  await assertTenantExists(session, plan, options.tenant);
  return plan;
}

/** Runs the closure; a cross-tenant reference under the `fail` policy stops the backup here. */
async function closePlan(session: PgSession, plan: TenantPlan, downSets: DownSets, options: BackupDatabaseOptions): Promise<ClosedPlan> {
  const policy = options.onCrossTenant ?? 'fail';
  const closure = await closeSubset(session, plan, options.tenant!, { policy, downSets });
  if (policy === 'fail' && closure.crossTenant.length > 0) throw new CrossTenantError(options.tenant!, closure.crossTenant, closure.truncated);
  const empty = [closure.down, closure.extras, closure.blocked, closure.skipped].every((rows) => count(rows) === 0);
  return { closure, policy, empty };
}

/**
 * What to copy: every table whole; or the tenant plan's selections with what the closure found; or,
 * before the closure, the plain plan: each tenant table after its parents, from the down sets taken
 * from their rows into `plainDownSets` (with `byRootKey`, a table with a key to the root by the tenant's
 * id instead), and each shared table after the tables referencing it.
 */
function tableJobs(
  graph: TableGraph,
  plan: TenantPlan | undefined,
  options: BackupDatabaseOptions,
  closed?: ClosedPlan,
  plainDownSets?: Map<string, DownSet>,
  byRootKey = false,
): PlannedJobs {
  if (!plan) {
    const tables = [...graph.tables.values()].map((table) => ({ table, role: 'whole', select: () => wholeTableSelect(table), after: [] }));
    return { tables, checks: [], skipped: [], tenant: null };
  }
  const policy = closed?.policy ?? 'fail';
  const closure = closed?.closure;
  const sql = new SubsetSql(
    plan,
    options.tenant!,
    closure ?? { down: new Map(), extras: new Map(), downSets: plainDownSets ?? new Map() },
    closure && policy !== 'fail' ? { policy, blocked: closure.blocked, skipped: closure.skipped } : undefined,
  );
  const tables: TableJob[] = [];
  const skipped: DatabaseManifest['skipped'] = [];
  const checks: CheckJob[] = [];
  for (const planned of plan.tables) {
    const name = planned.table.name;
    if (!COPIED_ROLES.includes(planned.role)) {
      skipped.push({ name, role: planned.role, reason: planned.reason });
      continue;
    }
    const job = { table: planned.table, role: planned.role, select: () => sql.select(name)!, after: [] as string[] };
    if (closure || planned.role === 'whole') tables.push(job);
    else if (planned.role === 'shared') tables.push({ ...job, after: planned.edges.map((fk) => fk.from).filter((from) => from !== name) });
    else {
      const columns = copyColumns(planned.table);
      const positions = downSetColumns(plan, name).map((column) => columns.indexOf(column.name));
      const rootKey = byRootKey ? sql.rootKey(name) : undefined;
      if (rootKey) checks.push({ table: planned.table, after: [name, ...parentsOf(planned)], check: () => sql.rowsOutsideCheck(name) });
      tables.push({
        ...job,
        select: () => (rootKey && sql.selectByRootKey(name)) || (sql.selectDirect(name) ?? sql.select(name)!),
        after: rootKey ? [rootKey.to] : parentsOf(planned),
        ...(positions.includes(-1) ? {} : { downSetColumns: positions }),
      });
    }
  }
  const crossTenant =
    closure && policy !== 'fail' ? { onCrossTenant: policy, otherTenantsRows: count(closure.blocked), skippedRows: count(closure.skipped) } : {};
  return {
    tables,
    checks,
    skipped,
    tenant: {
      id: options.tenant!,
      root: plan.rules.root,
      key: plan.rules.key,
      ...(plan.rules.ownership === 'root-key' ? { ownership: 'root-key' as const } : {}),
      ...crossTenant,
    },
  };
}

const COPIED_ROLES: readonly TableRole[] = ['root', 'tenant', 'shared', 'whole'];


function count(rows: ExtraRows): number {
  return [...rows.values()].reduce((n, list) => n + list.length, 0);
}

/** A section as a psql-runnable script, for people (restore reads schema.json). */
function sqlScript(statements: CapturedSchema['preData']): string {
  return [`${settingsSql(APPLY_SETTINGS)};\n`, ...statements.map((statement) => `-- ${describeStatement(statement)}\n${statement.sql};\n`)].join('\n');
}
