/**
 * Open read handles of recently read files, so that reading many ranges of one file (the blobs of a
 * pack, during a restore) does not open and close it for every range.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';

interface Entry {
  readonly handle: Promise<FileHandle>;
  users: number;
  /** No longer in the cache; closed when its last reader is done. */
  retired: boolean;
}

export class ReadHandleCache {
  readonly #entries = new Map<string, Entry>();
  readonly #capacity: number;

  constructor(capacity = 16) {
    this.#capacity = capacity;
  }

  /**
   * Runs `read` with an open handle of `path`, opening it if needed. Errors of `open` propagate and
   * are not cached.
   */
  async use<T>(path: string, read: (handle: FileHandle) => Promise<T>): Promise<T> {
    let entry = this.#entries.get(path);
    if (entry) {
      this.#entries.delete(path); // re-inserted below: most recently used last
    } else {
      entry = { handle: open(path, 'r'), users: 0, retired: false };
      entry.handle.catch(() => this.#entries.get(path) === entry && this.#entries.delete(path));
    }
    this.#entries.set(path, entry);
    entry.users++;
    try {
      return await read(await entry.handle);
    } finally {
      entry.users--;
      if (entry.retired && entry.users === 0) void closeQuietly(entry);
      this.#evict();
    }
  }

  /** Forgets `path` (it was replaced or deleted); the handle closes once its readers are done. */
  invalidate(path: string): void {
    const entry = this.#entries.get(path);
    if (!entry) return;
    this.#entries.delete(path);
    this.#retire(entry);
  }

  async closeAll(): Promise<void> {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(entries.filter((entry) => entry.users === 0).map(closeQuietly));
    for (const entry of entries) entry.retired = true;
  }

  #evict(): void {
    for (const [path, entry] of this.#entries) {
      if (this.#entries.size <= this.#capacity) return;
      if (entry.users > 0) continue;
      this.#entries.delete(path);
      this.#retire(entry);
    }
  }

  #retire(entry: Entry): void {
    entry.retired = true;
    if (entry.users === 0) void closeQuietly(entry);
  }
}

async function closeQuietly(entry: Entry): Promise<void> {
  try {
    await (await entry.handle).close();
  } catch {
    // Failed to open (never usable) or already closed.
  }
}
