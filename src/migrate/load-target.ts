/**
 * What the loader needs of a target, whatever it is: create a batch of records (all or none) and
 * update one record, each under an idempotency key, so that sending again after a crash gets the first
 * answer instead of a second copy. An HTTP API (http-target.ts) and a PostgreSQL database
 * (postgres-target.ts) implement it; open-target.ts opens the one a migration names.
 */

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
