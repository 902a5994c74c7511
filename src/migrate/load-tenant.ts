/**
 * Loading one tenant's staged records into a target (docs/migration.md, "Loader"): dataset by dataset
 * in dependency order, references replaced by the target ids of the records they name, in batches.
 * Each batch is recorded as `sending` with its idempotency key before it goes and as done, with the
 * ids it got, in one transaction after; a batch a stopped run left `sending` goes again first under the
 * same key, so the target answers with the ids it gave the first time. A batch the target rejects (4xx)
 * is split until the records it rejects are alone; those become dead letters and the rest loads.
 */
import { createHash } from 'node:crypto';
import { forEachConcurrently } from '../core/concurrently.js';
import { FailsafeError, withContext } from '../core/errors.js';
import type { PgSession } from '../postgres/connection.js';
import type { DatasetDefinition, Reference } from './definition.js';
import type { LoadedMigration } from './load-migration.js';
import type { LoadTarget, TargetRefusal } from './load-target.js';
import type { MigrationProgressListener } from './progress.js';
import { recordKey, StagingStore, type PendingLoad, type Refusal, type StageScope } from './staging-store.js';

export interface LoadTenantOptions {
  readonly migration: LoadedMigration;
  /** The migration's name in the staging tables. */
  readonly name: string;
  readonly tenant: string;
  readonly staging: PgSession;
  readonly target: LoadTarget;
  readonly onProgress?: MigrationProgressListener;
  readonly signal?: AbortSignal;
}

export interface DatasetLoadResult {
  readonly dataset: string;
  readonly created: number;
  readonly updated: number;
  /** Changed since they were loaded, but the dataset has no `load.update`: left as they are. */
  readonly changedNotSent: number;
  readonly rejected: number;
}

/**
 * @example
 * const results = await loadTenant({ migration, name: 'concierge', tenant: '42', staging, target: { name: 'qa', client } });
 */
export async function loadTenant(options: LoadTenantOptions): Promise<DatasetLoadResult[]> {
  const store = await StagingStore.open(options.staging);
  const results: DatasetLoadResult[] = [];
  const { tenant } = options;
  for (const dataset of options.migration.graph.order) {
    options.signal?.throwIfAborted();
    const scope = { migration: options.name, tenant, dataset };
    const total = options.onProgress ? await store.loadBacklog(scope, options.target.name) : 0;
    let recordsDone = 0;
    options.onProgress?.({ tenant, dataset, step: 'load', done: 0, total });
    const loader = new DatasetLoader(options, store, scope, (records) => {
      recordsDone += records;
      options.onProgress?.({ tenant, dataset, step: 'load', done: recordsDone, total });
    });
    results.push(
      await loader.run().catch((err: unknown) => {
        throw withContext(`load dataset ${dataset} of tenant ${options.tenant} into ${options.target.name}`, err);
      }),
    );
  }
  return results;
}

/** Records whose references are resolved at once (one query per referenced dataset). */
const RESOLVE_WINDOW = 10_000;

class DatasetLoader {
  readonly #options: LoadTenantOptions;
  readonly #store: StagingStore;
  readonly #scope: StageScope;
  readonly #definition: DatasetDefinition<string>;
  readonly #onRecords: (records: number) => void;
  #created = 0;
  #updated = 0;
  #changedNotSent = 0;
  #rejected = 0;

  constructor(options: LoadTenantOptions, store: StagingStore, scope: StageScope, onRecords: (records: number) => void) {
    this.#options = options;
    this.#store = store;
    this.#scope = scope;
    this.#definition = options.migration.definition.datasets[scope.dataset] as DatasetDefinition<string>;
    this.#onRecords = onRecords;
  }

  async run(): Promise<DatasetLoadResult> {
    await this.#resendUnfinished();
    // The first pass reads the pending records a window at a time; the next window is read and its
    // references resolved while this one is sent, so requests never wait on the staging database.
    // Records that refer to records of their own dataset not loaded yet go in later passes.
    let carried = await this.#pass(this.#pages());
    while (carried.unresolved.length > 0) {
      if (carried.sent === 0) {
        await this.#reject(carried.unresolved.map((load) => ({ load, error: 'a record it refers to was not loaded (rejected, or never staged)' })));
        break;
      }
      const windows = carried.unresolved;
      carried = await this.#pass(
        (async function* () {
          for (let i = 0; i < windows.length; i += RESOLVE_WINDOW) yield windows.slice(i, i + RESOLVE_WINDOW);
        })(),
      );
    }
    return { dataset: this.#scope.dataset, created: this.#created, updated: this.#updated, changedNotSent: this.#changedNotSent, rejected: this.#rejected };
  }

  /** The pending records in key order, a window at a time. */
  async *#pages(): AsyncGenerator<PendingLoad[]> {
    for (let after: string | undefined; ; ) {
      const { loads, lastKey } = await this.#store.pendingLoads(this.#scope, this.#options.target.name, { limit: RESOLVE_WINDOW, ...(after === undefined ? {} : { after }) });
      if (loads.length > 0) yield loads;
      if (lastKey === undefined) return;
      after = lastKey;
    }
  }

  /** Sends the windows' records whose references resolve; returns how many went and those that did not resolve. */
  async #pass(windows: AsyncIterator<PendingLoad[]>): Promise<{ sent: number; unresolved: PendingLoad[] }> {
    const unresolved: PendingLoad[] = [];
    let sent = 0;
    const prepare = async (): Promise<{ window: PendingLoad[]; resolved: Map<string, unknown> } | undefined> => {
      const next = await windows.next();
      return next.done ? undefined : { window: next.value, resolved: await this.#resolve(next.value) };
    };
    let preparing = prepare();
    for (let current = await preparing; current; current = await preparing) {
      preparing = prepare();
      preparing.catch(() => undefined); // awaited on the next turn
      const { window, resolved } = current;
      const ready = window.filter((load) => resolved.has(load.key));
      unresolved.push(...window.filter((load) => !resolved.has(load.key)));
      await this.#inBatches(
        ready.filter((load) => load.targetId === undefined),
        (batch) => this.#create(batch, resolved),
      );
      for (const load of ready.filter((load) => load.targetId !== undefined)) await this.#update(load, resolved.get(load.key)!);
      sent += ready.length;
    }
    return { sent, unresolved };
  }

  /** Sends again, under their keys, the batches a stopped run left `sending` whose records can all go now. */
  async #resendUnfinished(): Promise<void> {
    const resent = new Set<string>();
    for (const batch of await this.#store.unfinishedBatches(this.#scope, this.#options.target.name)) {
      const { loads: pending } = await this.#store.pendingLoads(this.#scope, this.#options.target.name, { keys: batch.keys });
      const byKey = new Map(pending.map((load) => [load.key, load]));
      const loads = batch.keys.map((key) => byKey.get(key));
      // Records that moved on since (loaded, changed, sent again above) leave the batch to the ordinary path.
      if (loads.some((load) => load === undefined || load.targetId !== undefined || resent.has(load.key))) continue;
      const resolved = await this.#resolve(loads as PendingLoad[]);
      if (loads.some((load) => !resolved.has(load!.key))) continue;
      await this.#create(loads as PendingLoad[], resolved, batch.idempotencyKey);
      for (const load of loads) resent.add(load!.key);
    }
  }

  /** The records whose references all name loaded records, with those references replaced by target ids. */
  async #resolve(pending: readonly PendingLoad[]): Promise<Map<string, unknown>> {
    const wanted = new Map<string, Set<string>>();
    for (const load of pending) {
      for (const [dataset, key] of references(load.record)) {
        if (!wanted.has(dataset)) wanted.set(dataset, new Set());
        wanted.get(dataset)!.add(key);
      }
    }
    const ids = new Map<string, Map<string, string>>();
    for (const [dataset, keys] of wanted) ids.set(dataset, await this.#store.targetIds({ ...this.#scope, dataset }, this.#options.target.name, [...keys]));
    const resolved = new Map<string, unknown>();
    for (const load of pending) {
      const record = substitute(load.record, (dataset, key) => ids.get(dataset)!.get(key));
      if (record !== undefined) resolved.set(load.key, record);
    }
    return resolved;
  }

  /** Runs `send` over `loads` cut into batches of the dataset's size, up to 8 at once (the target client bounds the requests in flight). */
  async #inBatches(loads: readonly PendingLoad[], send: (batch: PendingLoad[]) => Promise<void>): Promise<void> {
    const size = this.#definition.load.batchSize ?? 100;
    const batches: PendingLoad[][] = [];
    for (let i = 0; i < loads.length; i += size) batches.push(loads.slice(i, i + size));
    await forEachConcurrently(batches, 8, send);
  }

  async #create(batch: readonly PendingLoad[], resolved: ReadonlyMap<string, unknown>, idempotencyKey = this.#idempotencyKey('create', batch)): Promise<void> {
    const target = this.#options.target.name;
    await this.#store.batchSending(this.#scope, target, idempotencyKey, batch.map((load) => load.key));
    const answer = await this.#options.target.create(this.#scope.dataset, batch.map((load) => resolved.get(load.key)), idempotencyKey);
    if ('ids' in answer) {
      await this.#store.batchDone(this.#scope, target, idempotencyKey, batch.map((load, i) => ({ key: load.key, targetId: JSON.stringify(answer.ids[i]), contentHash: load.contentHash })), []);
      this.#created += batch.length;
      this.#onRecords(batch.length);
      return;
    }
    if (batch.length === 1) {
      await this.#store.batchDone(this.#scope, target, idempotencyKey, [], [rejection(batch[0]!, answer.refused)]);
      this.#rejected++;
      this.#checkBudget();
      return;
    }
    // The target refused the batch: halves go on their own, until each refused record is alone.
    await this.#store.batchDone(this.#scope, target, idempotencyKey, [], []);
    const half = Math.ceil(batch.length / 2);
    await this.#create(batch.slice(0, half), resolved);
    await this.#create(batch.slice(half), resolved);
  }

  /** A record loaded before whose content changed: an update of the target record, when the dataset says how. */
  async #update(load: PendingLoad, record: unknown): Promise<void> {
    if (!this.#options.target.updates(this.#scope.dataset)) {
      this.#changedNotSent++;
      return;
    }
    const target = this.#options.target.name;
    const idempotencyKey = this.#idempotencyKey('update', [load]);
    await this.#store.batchSending(this.#scope, target, idempotencyKey, [load.key]);
    const refused = await this.#options.target.update(this.#scope.dataset, JSON.parse(load.targetId!) as string | number, record, idempotencyKey);
    if (refused === undefined) {
      await this.#store.batchDone(this.#scope, target, idempotencyKey, [{ key: load.key, targetId: load.targetId!, contentHash: load.contentHash }], []);
      this.#updated++;
      this.#onRecords(1);
    } else {
      await this.#store.batchDone(this.#scope, target, idempotencyKey, [], [rejection(load, refused)]);
      this.#rejected++;
      this.#checkBudget();
    }
  }

  /** Stops the load once the target refused more records than the dataset's error budget allows. */
  #checkBudget(): void {
    const budget = this.#definition.load.maxRejected;
    if (budget === undefined) return;
    const sent = this.#created + this.#updated + this.#rejected;
    const allowed = typeof budget === 'number' ? budget : (Number.parseFloat(budget) / 100) * sent;
    // A share is judged once enough records went for it to mean something.
    if (this.#rejected <= allowed || (typeof budget === 'string' && sent < 100)) return;
    throw new FailsafeError(
      'VERIFY_FAILED',
      `the target refused ${this.#rejected} of ${sent} records of dataset ${this.#scope.dataset}, over its budget of ${budget}; the load stopped`,
      { hint: 'see them with `failsafe migrate errors`, fix the mapping or the data, then `failsafe migrate redrive`' },
    );
  }

  async #reject(failures: readonly { readonly load: PendingLoad; readonly error: string }[]): Promise<void> {
    await this.#store.refuse(this.#scope, this.#options.target.name, failures.map(({ load, error }) => ({ key: load.key, record: load.record, error })));
    this.#rejected += failures.length;
  }

  /** The same records with the same content under the same migration, tenant, target and dataset: the same key. */
  #idempotencyKey(kind: string, loads: readonly PendingLoad[]): string {
    const { migration, tenant, dataset } = this.#scope;
    const hash = createHash('sha256').update([kind, migration, tenant, this.#options.target.name, dataset].join('\u0000'));
    for (const load of loads) hash.update(`\u0000${load.key}\u0000${load.contentHash}`);
    return hash.digest('hex');
  }
}

function rejection(load: PendingLoad, refusal: TargetRefusal): Refusal {
  return { key: load.key, record: load.record, ...refusal };
}

/** The references in a staged record, as `[dataset, record key]`. */
function references(record: unknown): [string, string][] {
  const found: [string, string][] = [];
  substitute(record, (dataset, key) => {
    found.push([dataset, key]);
    return 'null';
  });
  return found;
}

/**
 * The record with each reference replaced by what `idOf` gives for it (a target id as JSON); undefined
 * when `idOf` has none for one of them.
 */
function substitute(value: unknown, idOf: (dataset: string, key: string) => string | undefined): unknown {
  if (Array.isArray(value)) {
    const items = value.map((item) => substitute(item, idOf));
    return items.includes(undefined) ? undefined : items;
  }
  if (value === null || typeof value !== 'object') return value;
  const reference = (value as Partial<Reference>).$ref;
  if (Array.isArray(reference) && Object.keys(value).length === 1) {
    const id = idOf(reference[0], recordKey(reference[1]));
    return id === undefined ? undefined : JSON.parse(id);
  }
  const entries = Object.entries(value).map(([name, item]) => [name, substitute(item, idOf)] as const);
  return entries.some(([, item]) => item === undefined) ? undefined : Object.fromEntries(entries);
}
