/**
 * The concurrency wrapper: caps how many storage operations run at once.
 */
import { FailsafeError } from '../core/errors.js';
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
  const limited = async <T>(action: () => Promise<T>): Promise<T> => {
    const release = await semaphore.acquire();
    try {
      return await action();
    } finally {
      release();
    }
  };

  return {
    location: storage.location,
    put: (key, data) => limited(() => storage.put(key, data)),
    get: (key) => limited(() => storage.get(key)),
    getRange: (key, offset, length) => limited(() => storage.getRange(key, offset, length)),
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

/** A counting semaphore with FIFO hand-off. */
class Semaphore {
  #available: number;
  readonly #waiting: Array<() => void> = [];

  constructor(permits: number) {
    this.#available = permits;
  }

  /** Resolves to a release function once a permit is free; call it exactly once. */
  async acquire(): Promise<() => void> {
    if (this.#available > 0) {
      this.#available--;
    } else {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#available++;
    };
  }
}
