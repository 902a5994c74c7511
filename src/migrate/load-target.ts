/**
 * What the loader needs of a target, whatever it is: create a batch of records (all or none) and
 * update one record, each under an idempotency key, so that sending again after a crash gets the first
 * answer instead of a second copy. An HTTP API ({@link HttpLoadTarget}) and a PostgreSQL database
 * (postgres-target.ts) implement it.
 */
import { FailsafeError } from '../core/errors.js';
import type { HttpLoadSpec, HttpTarget, MigrationDefinition, PostgresTarget, TableLoadSpec } from './definition.js';
import { TargetClient, type TargetResponse } from './http-target.js';

/** Why a target refused records: an HTTP status and body, or a database error. */
export interface TargetRefusal {
  readonly error: string;
  readonly httpStatus?: number;
  readonly body?: string;
}

/** The ids the target gave the batch's records, in order, or why it refused the batch. */
export type CreateAnswer = { readonly ids: readonly (string | number)[] } | { readonly refused: TargetRefusal };

/** `undefined`: the record was updated. */
export type UpdateAnswer = TargetRefusal | undefined;

export interface LoadTarget {
  readonly name: string;
  /** Requests (or transactions), retries and throttled waits so far, for the log and the benchmark. */
  readonly counters: { readonly requests: number; readonly retries: number; readonly throttled: number };
  /** Creates the records of a batch of `dataset`, under `idempotencyKey`. */
  create(dataset: string, records: readonly unknown[], idempotencyKey: string): Promise<CreateAnswer>;
  /** Whether changed records of `dataset` can be sent as updates (else they are reported, not sent). */
  updates(dataset: string): boolean;
  update(dataset: string, targetId: string | number, record: unknown, idempotencyKey: string): Promise<UpdateAnswer>;
  close(): Promise<void>;
}

export interface OpenTargetOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
}

/**
 * The target `name` of a migration, checked against every dataset's load spec (an HTTP target needs
 * `endpoint` and `ids`, a PostgreSQL one `table`): a `CONFIG` error names the first dataset that does not fit.
 */
export async function openTarget(file: string, definition: MigrationDefinition, name: string, options: OpenTargetOptions = {}): Promise<LoadTarget> {
  const target = definition.targets?.[name];
  if (!target) throw new FailsafeError('USAGE', `no target ${name} in ${file}`);
  const specs = Object.entries(definition.datasets).map(([dataset, d]) => [dataset, d.load] as const);
  if (target.kind === 'postgres') {
    const missing = specs.find(([, spec]) => !('table' in spec) || typeof spec.table !== 'string');
    if (missing) throw new FailsafeError('CONFIG', `${file}: dataset ${missing[0]} has no load.table, which target ${name} (PostgreSQL) needs`);
    const { PostgresLoadTarget } = await import('./postgres-target.js');
    return PostgresLoadTarget.open(name, target as PostgresTarget, Object.fromEntries(specs) as Record<string, TableLoadSpec>, options);
  }
  const missing = specs.find(([, spec]) => !('endpoint' in spec) || typeof (spec as HttpLoadSpec).ids !== 'function');
  if (missing) throw new FailsafeError('CONFIG', `${file}: dataset ${missing[0]} has no load.endpoint and load.ids, which target ${name} (HTTP) needs`);
  return new HttpLoadTarget(name, target, Object.fromEntries(specs) as Record<string, HttpLoadSpec>, file, options);
}

/** An HTTP API: a batch is one request to the dataset's endpoint, `{ "records": [...] }`; an update one request for one record. */
export class HttpLoadTarget implements LoadTarget {
  readonly name: string;
  readonly #client: TargetClient;
  readonly #specs: Readonly<Record<string, HttpLoadSpec>>;
  readonly #file: string;

  constructor(name: string, target: HttpTarget, specs: Readonly<Record<string, HttpLoadSpec>>, file: string, options: OpenTargetOptions = {}) {
    this.name = name;
    this.#client = new TargetClient(name, target, options);
    this.#specs = specs;
    this.#file = file;
  }

  get counters(): LoadTarget['counters'] {
    return this.#client.counters;
  }

  async create(dataset: string, records: readonly unknown[], idempotencyKey: string): Promise<CreateAnswer> {
    const spec = this.#specs[dataset]!;
    const answer = await this.#client.send({ method: spec.method ?? 'POST', path: spec.endpoint, body: { records }, idempotencyKey, records: records.length });
    if (!isSuccess(answer)) return { refused: refusal(answer) };
    const ids = spec.ids(answer.json);
    if (!Array.isArray(ids) || ids.length !== records.length) {
      throw new FailsafeError('CONFIG', `${this.#file}: load.ids of dataset ${dataset} gave ${Array.isArray(ids) ? ids.length : 'no'} ids for ${records.length} records`);
    }
    return { ids };
  }

  updates(dataset: string): boolean {
    return this.#specs[dataset]!.update !== undefined;
  }

  async update(dataset: string, targetId: string | number, record: unknown, idempotencyKey: string): Promise<UpdateAnswer> {
    const update = this.#specs[dataset]!.update!;
    const answer = await this.#client.send({ method: update.method ?? 'PUT', path: update.endpoint(String(targetId)), body: record, idempotencyKey, records: 1 });
    return isSuccess(answer) ? undefined : refusal(answer);
  }

  async close(): Promise<void> {}
}

function isSuccess(answer: TargetResponse): boolean {
  return answer.status >= 200 && answer.status < 300;
}

function refusal(answer: TargetResponse): TargetRefusal {
  return { error: `the target answered HTTP ${answer.status}`, httpStatus: answer.status, body: answer.text.slice(0, 4000) };
}
