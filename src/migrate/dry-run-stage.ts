/**
 * `migrate run --dry-run`: staging's writes kept in memory instead of the staging database. Every
 * dataset (or those `--only` names) is staged as if afresh (extract, transform, references), and each record compared with what
 * the staging database holds: new, changed or unchanged, and the staged records the source no longer
 * produces. Nothing is written; the staging database is only read.
 */
import type { StageBatch, StageFailure, StageProgress, StageScope, StagingStore } from './staging-store.js';

/** What staging does with the staging database; {@link DryRunStage} does it in memory. */
export type StageStore = Pick<StagingStore, 'beginRun' | 'endRun' | 'progress' | 'restart' | 'onlyStagedBy' | 'stageBatch' | 'finish' | 'stagedKeys'>;

/** What a dataset's restage would do. */
export interface DryRunDataset {
  readonly dataset: string;
  rowsRead: number;
  /** Records not staged before. */
  added: number;
  changed: number;
  unchanged: number;
  /** Staged records the source no longer produces. */
  removed: number;
  rejected: number;
  /** The first few rows that would be rejected, and why. */
  readonly failures: StageFailure[];
}

const FAILURES_KEPT = 5;

export class DryRunStage implements StageStore {
  readonly #store: StagingStore;
  /** Record keys per dataset, as staged by this dry run. */
  readonly #keys = new Map<string, Set<string>>();
  readonly #progress = new Map<string, StageProgress>();
  readonly datasets: DryRunDataset[] = [];

  /** Datasets not in `restage` (when given) stay as staged, read from the staging database. */
  readonly #restage: readonly string[] | undefined;

  constructor(store: StagingStore, restage?: readonly string[]) {
    this.#store = store;
    this.#restage = restage;
  }

  #kept(scope: StageScope): boolean {
    return this.#restage !== undefined && !this.#restage.includes(scope.dataset);
  }

  async beginRun(): Promise<string> {
    return 'dry-run';
  }

  async endRun(): Promise<void> {}

  /** A dataset to restage starts afresh: nothing is staged until this run stages it. */
  async progress(scope: StageScope): Promise<StageProgress | undefined> {
    return this.#kept(scope) ? this.#store.progress(scope) : this.#progress.get(scope.dataset);
  }

  async restart(scope: StageScope, runId: string): Promise<void> {
    this.#keys.set(scope.dataset, new Set());
    this.#progress.set(scope.dataset, { runId, lastKey: null, rowsRead: 0, records: 0, rejected: 0, done: false });
    this.datasets.push({ dataset: scope.dataset, rowsRead: 0, added: 0, changed: 0, unchanged: 0, removed: 0, rejected: 0, failures: [] });
  }

  async onlyStagedBy(): Promise<boolean> {
    return false;
  }

  async stageBatch(
    scope: StageScope,
    _runId: string,
    batch: StageBatch,
  ): Promise<'upsert'> {
    const report = this.datasets[this.datasets.length - 1]!;
    const staged = await this.#store.stagedHashes(scope, batch.records.map((record) => record.key));
    const keys = this.#keys.get(scope.dataset)!;
    for (const record of batch.records) {
      keys.add(record.key);
      const before = staged.get(record.key);
      if (before === undefined) report.added++;
      else if (before === record.contentHash) report.unchanged++;
      else report.changed++;
    }
    report.rowsRead += batch.rows;
    report.rejected += batch.failures.length;
    report.failures.push(...batch.failures.slice(0, FAILURES_KEPT - report.failures.length));
    const progress = this.#progress.get(scope.dataset)!;
    this.#progress.set(scope.dataset, { ...progress, lastKey: batch.lastKey, rowsRead: report.rowsRead, records: keys.size, rejected: report.rejected });
    return 'upsert';
  }

  async finish(scope: StageScope): Promise<void> {
    const keys = this.#keys.get(scope.dataset)!;
    const staged = await this.#store.stagedKeys(scope);
    this.datasets[this.datasets.length - 1]!.removed = [...staged].filter((key) => !keys.has(key)).length;
    this.#progress.set(scope.dataset, { ...this.#progress.get(scope.dataset)!, done: true });
  }

  /** Keys this dry run staged, or the staging database holds for a dataset kept (of `keys`, when given). */
  async stagedKeys(scope: StageScope, keys?: readonly string[]): Promise<Set<string>> {
    if (this.#kept(scope)) return this.#store.stagedKeys(scope, keys);
    const staged = this.#keys.get(scope.dataset) ?? new Set<string>();
    return keys ? new Set(keys.filter((key) => staged.has(key))) : new Set(staged);
  }
}
