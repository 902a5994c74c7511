/**
 * The retry wrapper: the only place where storage operations are retried.
 */
import { FailsafeError, withContext } from '../core/errors.js';
import { abortableSleep } from '../core/token-bucket.js';
import type { ObjectInfo, Storage } from './storage.js';

export interface RetryOptions {
  /** Total attempts per operation, the first included. Default 8. */
  readonly attempts?: number;
  /** Upper bound of the first backoff. Default 100 ms. */
  readonly baseDelayMs?: number;
  /** Upper bound of any backoff. Default 10 s. */
  readonly maxDelayMs?: number;
  /**
   * No new attempt starts once this much time has passed since the first one, so a service that
   * hangs instead of failing cannot hold a command for attempts × timeout. Default 5 minutes.
   */
  readonly maxElapsedMs?: number;
  /** Stops waiting between attempts; the pending operation then fails with `ABORTED`. */
  readonly signal?: AbortSignal;
  /** Called before each backoff, e.g. to log "retrying get data/ab in 340 ms (attempt 2/8): ...". */
  readonly onRetry?: (event: RetryEvent) => void;
  /** Source of randomness for the jitter, in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

export interface RetryEvent {
  /** `put`, `get`, `getRange`, `stat`, `list` or `delete`. */
  readonly operation: string;
  /** The key, the list prefix, or the first key of a delete batch. */
  readonly subject: string;
  /** The attempt that just failed, starting at 1. */
  readonly attempt: number;
  readonly attempts: number;
  readonly delayMs: number;
  readonly error: FailsafeError;
}

/**
 * Wraps `storage` so that errors with `retryable: true` are retried with exponential backoff and full
 * jitter (a random delay between 0 and min(maxDelayMs, baseDelayMs * 2^(attempt-1))). Other errors pass
 * through at once. When the attempts run out, the last error is thrown with a "gave up after N attempts"
 * prefix and keeps its code and retryability.
 *
 * `list` cannot resume in the middle of a listing, so a failed listing is restarted from the beginning. To
 * never yield an object twice, the wrapper collects the whole listing before yielding its first item;
 * the cost is memory proportional to the number of listed objects (about 150 bytes each), which is
 * acceptable for repository listings and keeps callers free of duplicate handling.
 *
 * @example
 * const storage = withRetry(new S3Storage(options), { onRetry: (e) => log.warn(e, 'storage retry') });
 */
export function withRetry(storage: Storage, options: RetryOptions = {}): Storage {
  const attempts = Math.max(1, options.attempts ?? 8);
  const baseDelayMs = options.baseDelayMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 10_000;
  const maxElapsedMs = options.maxElapsedMs ?? 5 * 60_000;
  const random = options.random ?? Math.random;
  const { signal, onRetry } = options;

  async function retry<T>(operation: string, subject: string, action: () => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(signal, operation, subject);
      try {
        return await action();
      } catch (err) {
        if (!(err instanceof FailsafeError) || !err.retryable) throw err;
        if (attempt >= attempts) throw withContext(`gave up after ${attempts} attempts`, err);
        const delayMs = Math.round(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
        if (Date.now() - started + delayMs > maxElapsedMs) {
          throw withContext(`gave up after ${attempt} attempts in ${Math.round((Date.now() - started) / 1000)} s`, err);
        }
        onRetry?.({ operation, subject, attempt, attempts, delayMs, error: err });
        await sleep(delayMs, signal, operation, subject);
      }
    }
  }

  return {
    location: storage.location,
    put: (key, data) => retry('put', key, () => storage.put(key, data)),
    get: (key) => retry('get', key, () => storage.get(key)),
    getRange: (key, offset, length, into) => retry('getRange', key, () => storage.getRange(key, offset, length, into)),
    stat: (key) => retry('stat', key, () => storage.stat(key)),
    async *list(prefix) {
      yield* await retry('list', prefix, async () => {
        const all: ObjectInfo[] = [];
        for await (const info of storage.list(prefix)) all.push(info);
        return all;
      });
    },
    delete: (keys) => retry('delete', keys[0] ?? '', () => storage.delete(keys)),
    close: () => storage.close(),
  };
}

function throwIfAborted(signal: AbortSignal | undefined, operation: string, subject: string): void {
  if (signal?.aborted) throw aborted(operation, subject, signal);
}

function aborted(operation: string, subject: string, signal: AbortSignal): FailsafeError {
  return new FailsafeError('ABORTED', `${operation} ${subject}: cancelled`, {
    cause: signal.reason,
  });
}

function sleep(ms: number, signal: AbortSignal | undefined, operation: string, subject: string): Promise<void> {
  return abortableSleep(ms, signal).catch(() => {
    throw aborted(operation, subject, signal!);
  });
}
