/**
 * Locks announce running sessions. Shared locks never conflict; an exclusive lock conflicts only with
 * another exclusive lock (two prunes). Prune reads the shared locks to know which sessions might still
 * reference what it removes; see docs/design.md, "Locking and concurrent prune".
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { currentUsername } from '../core/identity.js';
import { FailsafeError, isErrorCode } from '../core/errors.js';
import { formatSeconds, formatTime } from '../core/units.js';
import type { Storage } from '../storage/storage.js';
import { type RepositoryKeys, randomHex, seal, unseal } from './crypto.js';

export type LockKind = 'shared' | 'exclusive';

const lockInfoSchema = z.object({
  kind: z.enum(['shared', 'exclusive']),
  operation: z.string(),
  host: z.string(),
  pid: z.number(),
  username: z.string(),
  created: z.string(),
  refreshed: z.string(),
});

export type LockInfo = z.infer<typeof lockInfoSchema>;

export interface LockTiming {
  /** How often a live session rewrites its lock. */
  readonly refreshMs: number;
  /** A lock not rewritten for this long belongs to a dead session. */
  readonly staleMs: number;
}

export const DEFAULT_LOCK_TIMING: LockTiming = Object.freeze({ refreshMs: 5 * 60_000, staleMs: 30 * 60_000 });

export interface ListedLock {
  readonly id: string;
  /** `undefined` when the lock file cannot be read (damaged); such a lock counts as stale. */
  readonly info: LockInfo | undefined;
  readonly stale: boolean;
}

/** A lock this process holds; refreshed in the background until released. */
export class Lock {
  readonly id: string;
  readonly kind: LockKind;
  readonly #storage: Storage;
  readonly #keys: RepositoryKeys;
  readonly #timing: LockTiming;
  #info: LockInfo;
  #lastRefresh: number;
  #timer: NodeJS.Timeout | undefined;
  #refreshError: unknown;
  #released = false;

  private constructor(storage: Storage, keys: RepositoryKeys, timing: LockTiming, info: LockInfo) {
    this.id = randomHex();
    this.kind = info.kind;
    this.#storage = storage;
    this.#keys = keys;
    this.#timing = timing;
    this.#info = info;
    this.#lastRefresh = Date.now();
  }

  /**
   * Writes a lock file. An exclusive lock first checks for other live exclusive locks and fails with a
   * `LOCKED` error that names the holder.
   */
  static async acquire(
    storage: Storage,
    keys: RepositoryKeys,
    kind: LockKind,
    operation: string,
    timing: LockTiming = DEFAULT_LOCK_TIMING,
  ): Promise<Lock> {
    const now = new Date().toISOString();
    const info: LockInfo = {
      kind,
      operation,
      host: hostname(),
      pid: process.pid,
      username: currentUsername(),
      created: now,
      refreshed: now,
    };
    const lock = new Lock(storage, keys, timing, info);
    if (kind === 'exclusive') await lock.#assertNoOtherExclusive();
    await lock.#write();
    if (kind === 'exclusive') {
      try {
        await lock.#assertNoOtherExclusive();
      } catch (err) {
        await lock.release();
        throw err;
      }
    }
    lock.#timer = setInterval(() => void lock.refresh(), timing.refreshMs);
    lock.#timer.unref();
    return lock;
  }

  async refresh(): Promise<void> {
    if (this.#released) return;
    try {
      this.#info = { ...this.#info, refreshed: new Date().toISOString() };
      await this.#write();
      this.#lastRefresh = Date.now();
    } catch (err) {
      this.#refreshError = err;
    }
  }

  /**
   * Throws when the lock could not be refreshed for more than half the stale time: another process may
   * already treat this session as dead, so it must not commit anything that relies on its view.
   */
  assertFresh(): void {
    const age = Date.now() - this.#lastRefresh;
    if (age > this.#timing.staleMs / 2) {
      throw new FailsafeError(
        'LOCKED',
        `lock ${this.id.slice(0, 8)} was not refreshed for ${formatSeconds(age / 1000)}; aborting so a concurrent prune cannot remove data this session uses`,
        { cause: this.#refreshError },
      );
    }
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#storage.delete([lockKey(this.id)]);
  }

  async #write(): Promise<void> {
    await this.#storage.put(
      lockKey(this.id),
      seal(this.#keys, 'lock', Buffer.from(JSON.stringify(this.#info), 'utf8')),
    );
  }

  async #assertNoOtherExclusive(): Promise<void> {
    const locks = await listLocks(this.#storage, this.#keys, this.#timing);
    for (const other of locks) {
      if (other.id === this.id || other.stale || other.info?.kind !== 'exclusive') continue;
      throw new FailsafeError('LOCKED', `repository is locked by ${describeLock(other.info)}`, {
        hint: 'wait for it to finish; if that process is gone, run `failsafe unlock`',
      });
    }
  }
}

/** Every lock in the repository with its staleness. */
export async function listLocks(storage: Storage, keys: RepositoryKeys, timing: LockTiming): Promise<ListedLock[]> {
  const locks: ListedLock[] = [];
  for await (const object of storage.list('locks/')) {
    const id = object.key.slice('locks/'.length);
    let info: LockInfo | undefined;
    try {
      info = lockInfoSchema.parse(JSON.parse(unseal(keys, 'lock', await storage.get(object.key), object.key).toString()));
    } catch (err) {
      if (isErrorCode(err, 'NOT_FOUND')) continue;
      info = undefined;
    }
    locks.push({ id, info, stale: info === undefined || isStale(info, timing) });
  }
  return locks;
}

export async function removeLocks(storage: Storage, ids: readonly string[]): Promise<void> {
  await storage.delete(ids.map(lockKey));
}

export function describeLock(info: LockInfo): string {
  const since = formatTime(info.created);
  return `${info.operation} on host ${info.host} (pid ${info.pid}, user ${info.username}) since ${since} UTC`;
}

function isStale(info: LockInfo, timing: LockTiming, now = Date.now()): boolean {
  if (now - Date.parse(info.refreshed) > timing.staleMs) return true;
  return info.host === hostname() && !isProcessAlive(info.pid);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockKey(id: string): string {
  return `locks/${id}`;
}

