/**
 * The concurrency wrapper: caps how many storage operations run at once.
 */
import { FailsafeError } from '../core/errors.js';
import { Semaphore } from '../core/semaphore.js';
import type { Storage } from './storage.js';

/**
 * Wraps `storage` so that at most `limit` operations run at the same time; further calls wait in FIFO
 * order. A `list` holds one slot from its first step until the iteration ends (finished, failed or
 * abandoned with `break`). A caller that calls the same storage from inside a `for await` over `list` can
 * therefore deadlock with `limit` 1 — unless, as in `openStorage`, the retry wrapper sits outside: it
 * drains the listing before yielding, so the slot is free before the caller sees the first object.
 *
 * @example const storage = withConcurrencyLimit(new S3Storage(options), 16);
 */
export function withConcurrencyLimit(storage: Storage, limit: number): Storage {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new FailsafeError('CONFIG', `storage concurrency must be a positive integer, got ${limit}`);
  }
  const semaphore = new Semaphore(limit);
  const limited = <T>(action: () => Promise<T>): Promise<T> => semaphore.run(action);

  return {
    location: storage.location,
    put: (key, data) => limited(() => storage.put(key, data)),
    get: (key) => limited(() => storage.get(key)),
    getRange: (key, offset, length, into) => limited(() => storage.getRange(key, offset, length, into)),
    stat: (key) => limited(() => storage.stat(key)),
    async *list(prefix) {
      const release = await semaphore.acquire();
      try {
        yield* storage.list(prefix);
      } finally {
        release();
      }
    },
    delete: (keys) => limited(() => storage.delete(keys)),
    close: () => storage.close(),
  };
}
