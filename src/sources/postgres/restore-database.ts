/**
 * Restores a database snapshot into a PostgreSQL database, in pg_restore's sections: pre-data (types,
 * tables, functions, views) in one transaction, data with `jobs` parallel `COPY FROM`, post-data
 * (constraints, indexes, triggers), sequence values; then verification against the manifest.
 */
import { pipeline } from 'node:stream/promises';
import { FailsafeError, withContext } from '../../core/errors.js';
import { progressOf, type ProgressListener } from '../../core/progress.js';
import { quoteIdent, quoteQualified } from '../../postgres/catalog.js';
import { connect, inTransaction, type ConnectionSettings, type PgSession } from '../../postgres/connection.js';
import { applySchemaSection, sequenceValuesSql, type CapturedSchema, type SchemaStatement } from '../../postgres/schema/capture-schema.js';
import { qualifiedName } from '../../postgres/schema/sql-text.js';
import { parseStoredJson, readContent, readWholeContent } from '../../repository/content.js';
import type { Repository } from '../../repository/repository.js';
import { shortId, type Snapshot } from '../../repository/snapshot.js';
import type { TreeNode } from '../../repository/tree.js';
import { walkTree } from '../../repository/tree-walk.js';
import { parseDatabaseManifest, settingsSql, type DatabaseManifest, type ManifestTable } from './database-manifest.js';
import { hashLoadedTable, hashTable, verifyDatabase, type TableHash, type VerifyReport } from './verify-database.js';

export type RestoreSection = 'pre-data' | 'data' | 'post-data';

export interface RestoreDatabaseOptions {
  readonly settings: ConnectionSettings;
  /** A session to the target connected in advance; the caller ends it. Default: the restore connects with `settings`. */
  readonly session?: PgSession;
  /** The database directory inside the snapshot; default: the snapshot's source name. */
  readonly sourceName?: string;
  readonly jobs?: number;
  /** Drop the snapshot's schemas (CASCADE) first instead of refusing a database that is not empty. */
  readonly clean?: boolean;
  /** Default: all three. */
  readonly sections?: readonly RestoreSection[];
  /** Only these tables' rows (`schema.table`). */
  readonly tables?: readonly string[];
  /** Apply the owners and privileges the snapshot captured (`backup --owners`); default true. */
  readonly owners?: boolean;
  /** Plan only: nothing is connected to or written. */
  readonly dryRun?: boolean;
  /** Default true. */
  readonly verify?: boolean;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

export interface RestoredTable {
  readonly table: string;
  readonly rows: number;
  readonly bytes: number;
}

export interface DatabaseRestoreResult {
  readonly manifest: DatabaseManifest;
  /** What the restore does (or did), step by step, for --dry-run and the log. */
  readonly steps: readonly string[];
  readonly tables: readonly RestoredTable[];
  readonly verification: VerifyReport | undefined;
}

const ALL_SECTIONS: readonly RestoreSection[] = ['pre-data', 'data', 'post-data'];

/**
 * @example
 * const result = await restoreDatabase(repo, snapshot, { settings, jobs: 2 });
 * if (result.verification && !result.verification.ok) ...
 */
export async function restoreDatabase(repo: Repository, snapshot: Snapshot, options: RestoreDatabaseOptions): Promise<DatabaseRestoreResult> {
  return repo.withLock('shared', 'restore', async () => {
    await repo.loadIndex();
    return restoreLocked(repo, snapshot, options);
  });
}

async function restoreLocked(repo: Repository, snapshot: Snapshot, options: RestoreDatabaseOptions): Promise<DatabaseRestoreResult> {
  const { files, manifest } = await readDatabaseSnapshot(repo, snapshot, databaseDirectory(snapshot, options.sourceName));
  const captured = parseStoredJson(await readFile(repo, files, 'schema.json'), `snapshot ${shortId(snapshot.id)}: schema.json`) as CapturedSchema;
  const schema = options.owners === false ? withoutOwnership(captured) : captured;
  const sections = options.sections ?? ALL_SECTIONS;
  const tables = selectTables(manifest, options.tables);
  const jobs = Math.max(1, options.jobs ?? 2);

  const steps = [
    ...(options.clean ? [`drop schemas ${schemasOf(manifest).join(', ')} (cascade)`] : ['check that the database is empty']),
    ...(sections.includes('pre-data') ? [`pre-data: ${schema.preData.length} statements in one transaction`] : []),
    ...(sections.includes('data') ? [`data: ${tables.length} tables, ${manifest.tables.reduce((n, t) => n + t.rows, 0)} rows, ${jobs} parallel COPY sessions`] : []),
    ...(sections.includes('post-data') ? [`post-data: ${schema.postData.length} statements`, `sequences: ${schema.sequences.length} values`] : []),
    ...(options.verify !== false && sections.includes('data') ? ['verify: row counts, checksums, foreign keys'] : []),
  ];
  if (options.dryRun) return { manifest, steps, tables: [], verification: undefined };

  const session = options.session ?? (await connect(options.settings));
  // Extra sessions for parallel work, opened as a section first needs them; all end with `session`.
  const workers: PgSession[] = [];
  try {
    await session.query(settingsSql(manifest.settings));
    if (options.clean) await dropSchemas(session, manifest);
    else if (sections.includes('pre-data')) await assertEmpty(session);

    if (sections.includes('pre-data')) {
      await inTransaction(session, () => applySchemaSection(session, schema.preData)).catch((err: unknown) => {
        throw withContext('restore pre-data', err);
      });
    }
    const restored: RestoredTable[] = [];
    // Each table is hashed for verification as soon as it is loaded, while other tables still load: the
    // rows do not change afterwards (post-data adds no rows), and the work overlaps.
    const verify = options.verify !== false && sections.includes('data');
    const hashed = new Map<string, TableHash>();
    if (sections.includes('data')) {
      // Tables this restore just created are loaded frozen: their rows need no hint bits set (and their
      // pages no second write) by the hashing, index builds and key checks that read them next, and they
      // lie in the order they were sent, so the hashing needs no sort.
      const frozen = sections.includes('pre-data') ? await plainTables(session) : new Set<string>();
      await addWorkers(workers, Math.min(jobs, tables.length), options.settings, `${settingsSql(manifest.settings)}; SET synchronous_commit = off`);
      const queue = [...tables].sort((a, b) => b.bytes - a.bytes);
      let bytesDone = 0;
      const total = tables.reduce((n, t) => n + t.bytes, 0);
      await Promise.all(
        workers.map(async (worker) => {
          for (let table = queue.shift(); table; table = queue.shift()) {
            options.signal?.throwIfAborted();
            const node = files.get(table.file);
            if (!node?.content) throw new FailsafeError('CORRUPT', `snapshot ${shortId(snapshot.id)} has no file ${table.file} for table ${table.name}`);
            await copyIntoTable(repo, worker, table, node.content, frozen.has(table.name), (bytes) => {
              bytesDone += bytes;
              options.onProgress?.({ ...progressOf('restore', 'tables', restored.length, tables.length, bytesDone, total), current: table!.name });
            }).catch((err: unknown) => {
              throw withContext(`restore table ${table!.name}`, err);
            });
            if (verify) hashed.set(table.name, await (frozen.has(table.name) ? hashLoadedTable(worker, table) : hashTable(worker, table)));
            restored.push({ table: table.name, rows: table.rows, bytes: table.bytes });
          }
        }),
      );
    }
    if (sections.includes('post-data')) {
      await addWorkers(workers, jobs, options.settings);
      // With several sessions, they are the parallelism (--jobs): the server's parallel index builds
      // would multiply it (at scale 100 on 2 cores, 2 sessions each building with 2 more processes:
      // post-data 2.25 s; with one process per session, 1.98 s). One session may still use them.
      if (jobs > 1) await Promise.all([session, ...workers].map((s) => s.query('SET max_parallel_maintenance_workers = 0')));
      await applyPostData(session, workers, schema.postData, await tableBytes(session)).catch((err: unknown) => {
        throw withContext('restore post-data', err);
      });
      if (schema.sequences.length > 0) await session.query(sequenceValuesSql(schema.sequences));
    }
    let verification: VerifyReport | undefined;
    if (verify) {
      options.onProgress?.(progressOf('verify', 'tables', 0, tables.length, 0));
      await addWorkers(workers, jobs, options.settings);
      verification = await verifyDatabase(session, manifest, {
        tables: tables.map((t) => t.name),
        workers: workers.slice(0, jobs - 1),
        trustValidatedKeys: sections.includes('post-data'),
        hashed,
      });
    }
    return { manifest, steps, tables: restored, verification };
  } finally {
    await Promise.allSettled([...(options.session ? [] : [session]), ...workers].map((s) => s.end()));
  }
}

/** The schema without `ALTER ... OWNER TO` and grants: for a target without the source's roles. */
function withoutOwnership(schema: CapturedSchema): CapturedSchema {
  const keep = (statement: SchemaStatement): boolean => statement.kind !== 'OWNER' && statement.kind !== 'ACL';
  return { ...schema, preData: schema.preData.filter(keep), postData: schema.postData.filter(keep) };
}

/** Reads the manifest of a database snapshot (for `verify`). */
export async function readDatabaseManifest(repo: Repository, snapshot: Snapshot, sourceName?: string): Promise<DatabaseManifest> {
  const directory = databaseDirectory(snapshot, sourceName);
  return repo.withLock('shared', 'verify', async () => {
    await repo.loadIndex();
    return (await readDatabaseSnapshot(repo, snapshot, directory)).manifest;
  });
}

/** The snapshot's database directory: `sourceName`, else the snapshot's source name. USAGE if it holds no database. */
function databaseDirectory(snapshot: Snapshot, sourceName: string | undefined): string {
  const directory = sourceName ?? snapshot.source.name;
  if (snapshot.source.kind !== 'postgres' || !directory) {
    throw new FailsafeError('USAGE', `snapshot ${shortId(snapshot.id)} holds ${snapshot.source.kind} data, not a database`);
  }
  return directory;
}

/**
 * The files under a database snapshot's directory (by path inside it) and its parsed manifest; the
 * index must be loaded.
 */
async function readDatabaseSnapshot(
  repo: Repository,
  snapshot: Snapshot,
  directory: string,
): Promise<{ readonly files: ReadonlyMap<string, TreeNode>; readonly manifest: DatabaseManifest }> {
  const files = new Map<string, TreeNode>();
  const prefix = `/${directory}/`;
  for await (const { path, node } of walkTree(repo, snapshot.tree)) {
    if (node.type === 'file' && path.startsWith(prefix)) files.set(path.slice(prefix.length), node);
  }
  if (!files.has('manifest.json')) {
    throw new FailsafeError('CORRUPT', `snapshot ${shortId(snapshot.id)} has no ${directory}/manifest.json`);
  }
  const manifest = parseDatabaseManifest(await readFile(repo, files, 'manifest.json'), `snapshot ${shortId(snapshot.id)}`);
  return { files, manifest };
}

async function readFile(repo: Repository, files: ReadonlyMap<string, TreeNode>, path: string): Promise<Buffer> {
  const node = files.get(path);
  if (!node?.content) throw new FailsafeError('CORRUPT', `database snapshot has no ${path}`);
  return readWholeContent(repo, node.content);
}

function selectTables(manifest: DatabaseManifest, names: readonly string[] | undefined): ManifestTable[] {
  if (!names || names.length === 0) return manifest.tables;
  const unknown = names.filter((name) => !manifest.tables.some((t) => t.name === name));
  if (unknown.length > 0) {
    throw new FailsafeError('USAGE', `the snapshot has no table ${unknown.join(', ')} (write schema.table)`);
  }
  return manifest.tables.filter((t) => names.includes(t.name));
}

/**
 * Connects sessions until `workers` holds `count`, each running `setup` first. Each is pushed as soon
 * as it connects, so the caller's cleanup ends it even when a later connect or setup fails.
 */
async function addWorkers(workers: PgSession[], count: number, settings: ConnectionSettings, setup?: string): Promise<void> {
  while (workers.length < count) {
    const worker = await connect(settings);
    workers.push(worker);
    if (setup !== undefined) await worker.query(setup);
  }
}

/**
 * `schema.table` of every ordinary table in the database: the ones COPY can load `FREEZE` (not
 * partitioned tables, whose rows the server routes, nor foreign tables).
 */
async function plainTables(session: PgSession): Promise<Set<string>> {
  const { rows } = await session.query<{ name: string }>(
    `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'`,
  );
  return new Set(rows.map((row) => row.name));
}

/**
 * Streams a table's COPY text from the repository into it. `freeze` (a table this restore created, so
 * nobody else can see it yet) empties it again in the same transaction, which lets `COPY ... FREEZE`
 * write its rows frozen.
 */
async function copyIntoTable(
  repo: Repository,
  session: PgSession,
  table: ManifestTable,
  content: readonly string[],
  freeze: boolean,
  onBytes: (bytes: number) => void,
): Promise<void> {
  if (!freeze) return streamIntoTable(repo, session, table, content, '', onBytes);
  await inTransaction(session, async () => {
    await session.query(`TRUNCATE ONLY ${quoteQualified(table.name)}`);
    await streamIntoTable(repo, session, table, content, ' (FREEZE)', onBytes);
  });
}

async function streamIntoTable(
  repo: Repository,
  session: PgSession,
  table: ManifestTable,
  content: readonly string[],
  copyOptions: string,
  onBytes: (bytes: number) => void,
): Promise<void> {
  const columns = table.columns.map(quoteIdent).join(', ');
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of readContent(repo, content, { verifyIds: false })) {
      yield chunk;
      onBytes(chunk.length);
    }
  }
  await pipeline(counted(), session.copyIn(`COPY ${quoteQualified(table.name)} (${columns}) FROM STDIN${copyOptions}`));
}

/**
 * Post-data like pg_restore -j, keeping the captured order's meaning: each run of table statements
 * (keys and indexes; later foreign keys, never mixed with them) goes `workers.length` tables at a time;
 * statements without a table (index attachments, views that need a key, triggers, comments, ...) run in
 * order between the runs. A deadlock between two foreign keys that lock the same tables in opposite
 * order is retried.
 */
async function applyPostData(session: PgSession, workers: readonly PgSession[], statements: readonly SchemaStatement[], bytes: ReadonlyMap<string, number>): Promise<void> {
  let run: SchemaStatement[] = [];
  let ordered: SchemaStatement[] = [];
  for (const statement of statements) {
    if (statement.table === undefined) {
      await inParallel(workers, run, bytes);
      run = [];
      ordered.push(statement);
    } else {
      await applySchemaSection(session, ordered);
      ordered = [];
      if (run.length > 0 && isForeignKey(run[0]!) !== isForeignKey(statement)) {
        await inParallel(workers, run, bytes);
        run = [];
      }
      run.push(statement);
    }
  }
  await inParallel(workers, run, bytes);
  await applySchemaSection(session, ordered);
}

function isForeignKey(statement: SchemaStatement): boolean {
  return statement.kind === 'FK CONSTRAINT';
}

/**
 * Statements grouped by table; each group in order on one session, `workers.length` groups at once,
 * the largest tables' first (their keys, indexes and foreign keys take longest: started last, one
 * would run on alone while the other sessions sit idle).
 */
async function inParallel(workers: readonly PgSession[], statements: readonly SchemaStatement[], bytes: ReadonlyMap<string, number>): Promise<void> {
  const byTable = new Map<string, SchemaStatement[]>();
  for (const statement of statements) byTable.set(statement.table ?? '', [...(byTable.get(statement.table ?? '') ?? []), statement]);
  const size = (group: readonly SchemaStatement[]): number => bytes.get(group[0]!.table ?? '') ?? 0;
  const queue = [...byTable.values()].sort((a, b) => size(b) - size(a) || b.length - a.length);
  await Promise.all(
    workers.map(async (worker) => {
      for (let group = queue.shift(); group; group = queue.shift()) {
        for (const statement of group) await applyWithDeadlockRetry(worker, statement);
      }
    }),
  );
}

async function applyWithDeadlockRetry(session: PgSession, statement: SchemaStatement): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await applySchemaSection(session, [statement]);
      return;
    } catch (err) {
      const code = ((err as Error).cause as { code?: string } | undefined)?.code;
      if (code !== '40P01' || attempt === 3) throw err;
    }
  }
}

/** Bytes of every table, by quoted qualified name (a statement's `table`); a partitioned table's are its partitions'. */
async function tableBytes(session: PgSession): Promise<Map<string, number>> {
  const { rows } = await session.query<{ schema: string; table: string; bytes: string }>(`
    SELECT n.nspname AS schema, c.relname AS table,
           (CASE WHEN c.relkind = 'p' THEN (SELECT coalesce(sum(pg_relation_size(t.relid)), 0) FROM pg_partition_tree(c.oid) t) ELSE pg_relation_size(c.oid) END)::text AS bytes
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`);
  return new Map(rows.map((row) => [qualifiedName(row.schema, row.table), Number(row.bytes)]));
}

/** Refuses a database holding tables, views, sequences, types or functions outside the system schemas. */
async function assertEmpty(session: PgSession): Promise<void> {
  const { rows } = await session.query<{ kind: string; name: string }>(`
    SELECT 'relation' AS kind, n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
    UNION ALL
    SELECT 'function', n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    LIMIT 3`);
  if (rows.length > 0) {
    throw new FailsafeError('USAGE', `the target database is not empty (it has ${rows.map((r) => `${r.kind} ${r.name}`).join(', ')}${rows.length === 3 ? ', ...' : ''})`, {
      hint: 'restore into an empty database, or add --clean to drop the schemas the snapshot restores',
    });
  }
}

function schemasOf(manifest: DatabaseManifest): string[] {
  return [...new Set(manifest.tables.map((t) => t.schema))].sort();
}

async function dropSchemas(session: PgSession, manifest: DatabaseManifest): Promise<void> {
  for (const schema of schemasOf(manifest)) {
    await session.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    if (schema === 'public') await session.query('CREATE SCHEMA public');
  }
}
