/**
 * Staging one tenant (docs/migration.md): for each dataset in dependency order, the source rows are
 * read through a cursor in key order, turned into records, and committed to the staging database a
 * batch at a time together with the checkpoint, so a rerun after a crash goes on after the last
 * committed row. A row whose transform throws or whose references name nothing staged becomes a dead
 * letter; the dataset goes on.
 */
import { hash } from 'node:crypto';
import { FailsafeError, messageOf, withContext } from '../core/errors.js';
import { quoteIdent } from '../postgres/catalog.js';
import type { PgSession } from '../postgres/connection.js';
import type { DatasetDefinition, Reference, SourceKey, SourceRow, TargetRecord } from './definition.js';
import { DryRunStage, type DryRunDataset, type StageStore } from './dry-run-stage.js';
import { enrichRows } from './enrich.js';
import type { LoadedMigration } from './load-migration.js';
import type { MigrationProgressListener } from './progress.js';
import { recordKey, StagingStore, type StagedRecord, type StageFailure, type StageScope } from './staging-store.js';

export interface StageTenantOptions {
  readonly migration: LoadedMigration;
  /** The migration's name in the staging tables. */
  readonly name: string;
  readonly tenant: string;
  readonly source: PgSession;
  readonly staging: PgSession;
  /** Datasets to stage afresh; the others are staged when never staged, resumed when unfinished, else left. */
  readonly restage?: readonly string[];
  /** Stage in memory, compared with the staging database, writing nothing there (`run --dry-run`). */
  readonly dryRun?: boolean;
  /** Rows per committed batch; default 5000. */
  readonly batchSize?: number;
  readonly onProgress?: MigrationProgressListener;
  readonly signal?: AbortSignal;
}

export interface DatasetStageResult {
  readonly dataset: string;
  /** `staged` (from the start), `resumed` (after a checkpoint) or `kept` (staged before, left as is). */
  readonly outcome: 'staged' | 'resumed' | 'kept';
  readonly rowsRead: number;
  readonly records: number;
  readonly rejected: number;
}

export interface StageTenantResult {
  readonly runId: string;
  readonly datasets: readonly DatasetStageResult[];
  /** With `dryRun`: what restaging each dataset would do. */
  readonly dryRun?: readonly DryRunDataset[];
}

/**
 * @example
 * const result = await stageTenant({ migration, name: 'concierge', tenant: '42', source, staging });
 */
export async function stageTenant(options: StageTenantOptions): Promise<StageTenantResult> {
  const { migration, name, tenant } = options;
  const staging = await StagingStore.open(options.staging);
  const dryRun = options.dryRun ? new DryRunStage(staging, options.restage) : undefined;
  const store: StageStore = dryRun ?? staging;
  const finishedKeys = new FinishedDatasetKeys(store, name, tenant);
  const order = migration.graph.order;
  const runId = await store.beginRun(name, tenant, order, migration.hash);
  const results: DatasetStageResult[] = [];
  for (const dataset of order) {
    options.signal?.throwIfAborted();
    const scope = { migration: name, tenant, dataset };
    const earlier = await store.progress(scope);
    const fresh = options.restage?.includes(dataset) || !earlier;
    if (!fresh && earlier.done) {
      results.push({ dataset, outcome: 'kept', rowsRead: earlier.rowsRead, records: earlier.records, rejected: earlier.rejected });
      continue;
    }
    const datasetRun = fresh ? runId : earlier.runId;
    if (fresh) await store.restart(scope, runId);
    const definition = migration.definition.datasets[dataset] as DatasetDefinition<string>;
    let rowsDone = 0;
    options.onProgress?.({ tenant, dataset, step: 'stage', done: 0 });
    await stageDataset(options, store, finishedKeys, scope, datasetRun, definition, fresh ? null : earlier.lastKey, (rows) => {
      rowsDone += rows;
      options.onProgress?.({ tenant, dataset, step: 'stage', done: rowsDone });
    }).catch((err: unknown) => {
      throw withContext(`stage dataset ${dataset} of tenant ${tenant}`, err);
    });
    await store.finish(scope, datasetRun);
    const done = (await store.progress(scope))!;
    results.push({ dataset, outcome: fresh ? 'staged' : 'resumed', rowsRead: done.rowsRead, records: done.records, rejected: done.rejected });
  }
  await store.endRun(runId);
  return { runId, datasets: results, ...(dryRun ? { dryRun: dryRun.datasets } : {}) };
}

/** Reads the dataset's rows after `lastKey` and stages them batch by batch. */
async function stageDataset(
  options: StageTenantOptions,
  store: StageStore,
  finishedKeys: FinishedDatasetKeys,
  scope: StageScope,
  runId: string,
  definition: DatasetDefinition<string>,
  lastKey: readonly (string | null)[] | null,
  onRows: (rows: number) => void,
): Promise<void> {
  const { source, tenant, migration } = options;
  const batchSize = options.batchSize ?? 5000;
  const keyColumns = definition.key.map((column) => `s.${quoteIdent(column)}`).join(', ');
  const after = lastKey ? ` WHERE (${keyColumns}) > (${lastKey.map((_, i) => `$${i + 2}`).join(', ')})` : '';
  await source.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  const fetch = (): Promise<{ rows: SourceRow[] }> => source.query<SourceRow>(`FETCH ${batchSize} FROM failsafe_extract`);
  let next: Promise<{ rows: SourceRow[] }> | undefined;
  let written: Promise<void> = Promise.resolve();
  // Appended with COPY while nothing another run staged can clash with the records' keys.
  let mode: 'insert' | 'upsert' = (await store.onlyStagedBy(scope, runId)) ? 'insert' : 'upsert';
  let previousKey: (string | null)[] | undefined;
  try {
    await source.query(`DECLARE failsafe_extract NO SCROLL CURSOR FOR SELECT * FROM (${definition.extract}) s${after} ORDER BY ${keyColumns}`, [tenant, ...(lastKey ?? [])]).catch((err: unknown) => {
      throw new FailsafeError('CONFIG', `${migration.file}: the extract of dataset ${scope.dataset} does not run: ${messageOf(err)}`, { cause: err });
    });
    // Three batches in flight: the next is read from the source and this one enriched and transformed while the
    // one before is written to the staging database. Batches commit in order, each with its checkpoint.
    next = fetch();
    for (;;) {
      options.signal?.throwIfAborted();
      const { rows } = await next;
      if (rows.length === 0) break;
      previousKey = assertKeysDistinct(options, scope.dataset, definition, rows, previousKey);
      next = fetch();
      next.catch(() => undefined); // awaited on the next turn or below; a failure meanwhile is not unhandled
      const enriched = definition.enrich ? await enrichRows(definition.enrich, rows, tenant, options.signal) : { rows, failures: [] };
      const { records, failures } = transformRows(options, scope.dataset, definition, enriched.rows);
      for (const { row, error } of enriched.failures) failures.push({ key: recordKey(sourceKey(definition, row)), record: row, error });
      await written;
      // References are checked against what is committed, the batch before included.
      await rejectUnknownReferences(store, finishedKeys, scope, records, failures);
      written = store.stageBatch(scope, runId, { records, failures, rows: rows.length, lastKey: previousKey }, mode).then((how) => {
        mode = how;
        onRows(rows.length);
      });
      written.catch(() => undefined); // awaited on the next turn or below
    }
    await written;
  } finally {
    // Both sessions are idle before the source transaction ends and the caller goes on.
    await Promise.all([next?.catch(() => undefined), written.catch(() => undefined)]);
    await source.query('ROLLBACK').catch(() => undefined);
  }
}

/**
 * Rows come in key order, so two rows with the same key are neighbours (across batches: `previousKey`,
 * the key of the batch before's last row). A key that names two rows is a mistake in the definition:
 * their records would overwrite each other. Returns the last row's key.
 */
function assertKeysDistinct(
  options: StageTenantOptions,
  dataset: string,
  definition: DatasetDefinition<string>,
  rows: readonly SourceRow[],
  previousKey: readonly (string | null)[] | undefined,
): (string | null)[] {
  let previous = previousKey;
  let key: (string | null)[] = [];
  for (const row of rows) {
    key = sourceKey(definition, row);
    if (previous !== undefined && key.every((value, i) => value === previous![i])) {
      throw new FailsafeError(
        'CONFIG',
        `${options.migration.file}: the extract of dataset ${dataset} returns two rows with key ${recordKey(key)}: its key (${definition.key.join(', ')}) must name one row`,
      );
    }
    previous = key;
  }
  return key;
}

/** Marks a record `ctx.keyed` named (a symbol: no field of a record can collide with it). */
const RECORD_NAME = Symbol('record name');

interface Keyed {
  readonly [RECORD_NAME]: string;
  readonly record: TargetRecord;
}

interface BuiltRecord extends StagedRecord {
  readonly record: TargetRecord;
  /** The records it refers to, by dataset and staging key. */
  readonly references: readonly { readonly dataset: string; readonly key: string }[];
}

/** Runs `transform` on each row; a row that throws becomes a failure. */
function transformRows(
  options: StageTenantOptions,
  dataset: string,
  definition: DatasetDefinition<string>,
  rows: readonly SourceRow[],
): { records: BuiltRecord[]; failures: StageFailure[] } {
  const { migration, tenant } = options;
  const records: BuiltRecord[] = [];
  const failures: StageFailure[] = [];
  for (const row of rows) {
    const key = recordKey(sourceKey(definition, row));
    const references: { dataset: string; key: string }[] = [];
    const ctx = {
      tenant,
      keyed: (name: string, record: TargetRecord): TargetRecord => ({ [RECORD_NAME]: name, record }) satisfies Keyed as unknown as TargetRecord,
      ref: (target: string, value: SourceKey): Reference => {
        if (target !== dataset && !migration.graph.reaches(dataset, target)) {
          throw new FailsafeError('CONFIG', `${migration.file}: dataset ${dataset} refers to ${target}, which it does not depend on (add it to dependsOn)`);
        }
        const values = keyValues(value);
        references.push({ dataset: target, key: recordKey(values) });
        return { $ref: [target, values] };
      },
    };
    let output: TargetRecord | readonly TargetRecord[] | null | undefined;
    try {
      output = definition.transform(row, ctx);
    } catch (err) {
      if (err instanceof FailsafeError && err.code === 'CONFIG') throw err;
      failures.push({ key, record: row, error: `transform failed: ${messageOf(err)}` });
      continue;
    }
    const list = output === null || output === undefined ? [] : Array.isArray(output) ? (output as readonly TargetRecord[]) : [output as TargetRecord];
    const names = new Set<string>();
    list.forEach((given, index) => {
      const keyed = given as unknown as Partial<Keyed>;
      const name = keyed[RECORD_NAME];
      const record = name === undefined ? given : keyed.record!;
      const suffix = name ?? (index === 0 ? '' : String(index));
      if (names.has(suffix)) throw new FailsafeError('CONFIG', `${migration.file}: dataset ${dataset} gives two records of row ${key} the name "${suffix}" (ctx.keyed names must differ)`);
      names.add(suffix);
      const json = JSON.stringify(record);
      records.push({ key: suffix === '' ? key : `${key}#${suffix}`, record, json, contentHash: hash('sha256', json), references });
    });
  }
  return { records, failures };
}

/**
 * Moves records whose references name nothing staged to the failures, until none is left: a record
 * referring to one rejected in the same batch goes too (a guest introduced by a rejected guest).
 */
async function rejectUnknownReferences(store: StageStore, finishedKeys: FinishedDatasetKeys, scope: StageScope, records: BuiltRecord[], failures: StageFailure[]): Promise<void> {
  const wanted = new Map<string, Set<string>>();
  for (const record of records) {
    for (const { dataset, key } of record.references) {
      if (!wanted.has(dataset)) wanted.set(dataset, new Set());
      wanted.get(dataset)!.add(key);
    }
  }
  const staged = new Map<string, ReadonlySet<string>>();
  for (const [dataset, keys] of wanted) {
    // The dataset being staged is asked batch by batch; a finished one is read once.
    staged.set(dataset, dataset === scope.dataset ? await store.stagedKeys({ ...scope, dataset }, [...keys]) : await finishedKeys.of(dataset));
  }
  // A dataset's own records of this batch count too, while they are kept.
  const inBatch = new Set(records.map((record) => record.key));
  const exists = ({ dataset, key }: { dataset: string; key: string }): boolean => staged.get(dataset)!.has(key) || (dataset === scope.dataset && inBatch.has(key));
  for (let removed = true; removed; ) {
    removed = false;
    for (let i = records.length - 1; i >= 0; i--) {
      const missing = records[i]!.references.find((reference) => !exists(reference));
      if (!missing) continue;
      const [record] = records.splice(i, 1);
      inBatch.delete(record!.key);
      failures.push({ key: record!.key, record: record!.record, error: `reference to ${missing.dataset} ${missing.key}: no such record staged` });
      removed = true;
    }
  }
}

/**
 * The staged keys of datasets staged before the one being staged (dependencies always are), read
 * once each: one query per referenced dataset instead of one per batch.
 */
class FinishedDatasetKeys {
  readonly #store: StageStore;
  readonly #migration: string;
  readonly #tenant: string;
  readonly #keys = new Map<string, Promise<ReadonlySet<string>>>();

  constructor(store: StageStore, migration: string, tenant: string) {
    this.#store = store;
    this.#migration = migration;
    this.#tenant = tenant;
  }

  of(dataset: string): Promise<ReadonlySet<string>> {
    let keys = this.#keys.get(dataset);
    if (!keys) this.#keys.set(dataset, (keys = this.#store.stagedKeys({ migration: this.#migration, tenant: this.#tenant, dataset })));
    return keys;
  }
}

/** The row's key values as text (null for NULL), in the definition's key order. */
function sourceKey(definition: DatasetDefinition<string>, row: SourceRow): (string | null)[] {
  return definition.key.map((column) => textOf(row[column]));
}

/** A source key as the references name it: one value, or one per key column. */
function keyValues(value: SourceKey): string[] {
  return (Array.isArray(value) ? value : [value]).map((part) => textOf(part) ?? 'null');
}

function textOf(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  return String(value);
}
