/**
 * Copying tables out of a snapshot on the worker sessions: each table's COPY text streamed, counted
 * and hashed into the repository. A job starts when its `after` tables are done, and its query is built
 * then, so it can use the down sets taken from their rows. Among the ready jobs the one heading the
 * heaviest chain of jobs waiting on it goes first (without dependencies: the largest table). Checks
 * that the copied rows are all the rows (row counts, see {@link CheckJob}) run in the same queue.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { withContext } from '../../core/errors.js';
import type { Table } from '../../postgres/catalog.js';
import type { PgSession } from '../../postgres/connection.js';
import type { VirtualFile } from '../snapshot-tree.js';
import { countNewlines, tableFileName, type ManifestTable } from './database-manifest.js';
import { DOWN_SET_LIMIT, DOWN_SET_VALUE_BUDGET } from './down-sets.js';
import { DownSetCollector, type ValueBudget } from './down-set-collector.js';
import type { DownSet } from './down-set.js';
import { copyColumns } from './subset-columns.js';
import type { RowCountCheck } from './subset-sql.js';

export interface TableJob {
  readonly table: Table;
  readonly role: string;
  /** The SELECT to copy, built when the job starts. */
  readonly select: () => string;
  /** Tables whose copies end before this one starts (their down sets feed its query). */
  readonly after: readonly string[];
  /** Take the table's down set from its rows: the positions of the down-set columns in a COPY row. */
  readonly downSetColumns?: readonly number[];
}

/** A check run on a worker once its `after` tables are copied. */
export interface CheckJob {
  /** The table whose copied rows it checks. */
  readonly table: Table;
  readonly after: readonly string[];
  /** Built when the job starts; undefined when there is nothing to ask. */
  readonly check: () => RowCountCheck | undefined;
}

export interface CopiedTables {
  readonly entries: ManifestTable[];
  readonly files: Map<string, VirtualFile>;
  /** A check found rows the copies missed (the remaining jobs were not run). */
  readonly incomplete: boolean;
}

export interface CopyHooks {
  /** Stores one table's COPY text; resolves to the stored file. */
  readonly store: (job: TableJob, stream: AsyncIterable<Buffer>) => Promise<VirtualFile>;
  readonly onStart?: (job: TableJob) => void;
  readonly onDone?: (job: TableJob) => void;
  /** Every table is copied (and every down set taken); checks may still be running. */
  readonly onCopied?: () => void;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Copies every job on `workers`. Down sets taken from the rows go into `downSets` as each table ends.
 * Every worker stops before a failure is reported, so no session is left mid-COPY.
 *
 * @example
 * const { entries, files } = await copyTables(workers, jobs, new Map(), { store: (job, stream) => save(stream) });
 */
export async function copyTables(
  workers: readonly PgSession[],
  jobs: readonly TableJob[],
  downSets: Map<string, DownSet>,
  hooks: CopyHooks,
  checks: readonly CheckJob[] = [],
): Promise<CopiedTables> {
  const entries: ManifestTable[] = [];
  const files = new Map<string, VirtualFile>();
  const names = new Set(jobs.map((job) => job.table.name));
  const weight = chainWeights(jobs);
  const checkWeight = (check: CheckJob): number => Math.max(0, check.table.estimatedRows);
  const weightOf = (job: TableJob | CheckJob): number => ('check' in job ? checkWeight(job) : weight.get(job)!);
  const pending: (TableJob | CheckJob)[] = [...jobs, ...checks].sort((a, b) => weightOf(b) - weightOf(a) || a.table.name.localeCompare(b.table.name));
  const finished = new Set<string>();
  const budget: ValueBudget = { left: DOWN_SET_VALUE_BUDGET };
  const waiting: (() => void)[] = [];
  const wakeAll = (): void => waiting.splice(0).forEach((wake) => wake());
  let failed = false;
  let incomplete = false;

  const next = async (): Promise<TableJob | CheckJob | undefined> => {
    for (;;) {
      if (failed || incomplete || pending.length === 0) return undefined;
      const ready = pending.findIndex((job) => job.after.every((name) => finished.has(name) || !names.has(name)));
      if (ready >= 0) return pending.splice(ready, 1)[0];
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };

  const results = await Promise.allSettled(
    workers.map(async (worker) => {
      try {
        for (let job = await next(); job; job = await next()) {
          hooks.signal?.throwIfAborted();
          if ('check' in job) {
            // Not `incomplete ||= await ...`: that would write back a false read before another worker's true.
            if (await rowsMissed(worker, job)) {
              incomplete = true;
              wakeAll();
            }
            continue;
          }
          hooks.onStart?.(job);
          const current = job;
          const collector = job.downSetColumns ? new DownSetCollector(job.downSetColumns, DOWN_SET_LIMIT, budget) : undefined;
          const entry = await copyTable(worker, job, collector, async (stream, file) => {
            files.set(file, await hooks.store(current, stream));
          }).catch((err: unknown) => {
            throw withContext(`back up table ${current.table.name}`, err);
          });
          const set = collector?.finish();
          if (set) downSets.set(job.table.name, set);
          entries.push(entry);
          finished.add(job.table.name);
          hooks.onDone?.(job);
          if (entries.length === jobs.length) hooks.onCopied?.();
          wakeAll();
        }
      } catch (err) {
        failed = true;
        wakeAll();
        throw err;
      }
    }),
  );
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
  return { entries, files, incomplete };
}

/** Runs a check: true when a count differs from the one the copied rows give. */
async function rowsMissed(session: PgSession, job: CheckJob): Promise<boolean> {
  const check = job.check();
  if (!check) return false;
  const { rows } = await session.query<Record<string, string>>(check.sql).catch((err: unknown) => {
    throw withContext(`check the rows of ${job.table.name}`, err);
  });
  return check.expected.some((count, i) => Number(rows[0]![`c${i}`]) !== count);
}

/**
 * Each job's estimated rows plus the heaviest chain of jobs that wait for it: starting the head of the
 * longest chain first keeps the last table from starting late.
 */
function chainWeights(jobs: readonly TableJob[]): Map<TableJob, number> {
  const weights = new Map<TableJob, number>();
  const dependents = new Map<string, TableJob[]>();
  for (const job of jobs) for (const name of job.after) dependents.set(name, [...(dependents.get(name) ?? []), job]);
  const weigh = (job: TableJob): number => {
    const known = weights.get(job);
    if (known !== undefined) return known;
    const after = Math.max(0, ...(dependents.get(job.table.name) ?? []).map(weigh));
    const weight = Math.max(0, job.table.estimatedRows) + after;
    weights.set(job, weight);
    return weight;
  };
  jobs.forEach(weigh);
  return weights;
}

/** Streams one table's COPY text through `store`, counting rows and hashing the bytes on the way. */
async function copyTable(
  session: PgSession,
  job: TableJob,
  collector: DownSetCollector | undefined,
  store: (stream: AsyncIterable<Buffer>, file: string) => Promise<void>,
): Promise<ManifestTable> {
  const hash = createHash('sha256');
  let rows = 0;
  let bytes = 0;
  const source: Readable = session.copyOut(`COPY (${job.select()}) TO STDOUT`);
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      rows += countNewlines(chunk);
      collector?.push(chunk);
      yield chunk;
    }
  }
  const file = tableFileName(job.table.schema, job.table.table);
  await store(counted(), file);
  return {
    name: job.table.name,
    schema: job.table.schema,
    table: job.table.table,
    file,
    columns: [...copyColumns(job.table)],
    key: [...job.table.key],
    role: job.role,
    rows,
    bytes,
    sha256: hash.digest('hex'),
  };
}
