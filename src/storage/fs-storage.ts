/**
 * The directory backend: one file per object, keys mapped onto subdirectories of a root directory.
 */
import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { FailsafeError, isSystemError, messageOf } from '../core/errors.js';
import { assertValidKey, assertValidPrefix, assertValidRange, truncated } from './keys.js';
import { ReadHandleCache } from './read-handle-cache.js';
import type { ObjectData, ObjectInfo, Storage } from './storage.js';

/** Folder under the root that holds unfinished writes; never listed, never a valid first key segment. */
const TEMP_DIR = '.tmp';
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/** How many files are stat'ed or deleted at once. */
const PARALLELISM = 32;

/**
 * Stores objects as files below `root`. `put` writes a temporary file in `<root>/.tmp/`, fsyncs it, renames
 * it into place and fsyncs the directory, so a crash leaves either the old object or the complete new one
 * (stale temporary files may remain in `.tmp/`; they are never listed).
 *
 * @example
 * const storage = new FsStorage('/srv/backups/repo');
 * await storage.put('config', bytes);
 */
export class FsStorage implements Storage {
  readonly location: string;
  readonly #root: string;
  /**
   * For `getRange` only. A file replaced by another process may be read through an old handle until it
   * is evicted; the repository reads ranges of packs only, whose content never changes.
   */
  readonly #readHandles = new ReadHandleCache();

  constructor(root: string) {
    this.#root = resolve(root);
    this.location = this.#root;
  }

  /**
   * True when `dir` does not exist or is an empty directory, i.e. a repository may be created there.
   * Throws `IO`/`PERMISSION` when it exists but cannot be read, and `IO` when it is not a directory.
   *
   * @example if (!(await FsStorage.isAbsentOrEmpty(path))) throw new FailsafeError('ALREADY_EXISTS', ...)
   */
  static async isAbsentOrEmpty(dir: string): Promise<boolean> {
    try {
      return (await readdir(dir)).length === 0;
    } catch (err) {
      if (isSystemError(err, 'ENOENT')) return true;
      throw mapFsError(err, 'list', dir);
    }
  }

  async put(key: string, data: ObjectData): Promise<void> {
    const target = this.#pathOf(key);
    this.#readHandles.invalidate(target);
    const temp = join(this.#root, TEMP_DIR, `${randomBytes(12).toString('hex')}.tmp`);
    try {
      await this.#writeSynced(temp, data);
      await this.#renameIntoPlace(temp, target);
      this.#readHandles.invalidate(target);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw mapFsError(err, 'write', key, this.location);
    }
  }

  async get(key: string): Promise<Buffer> {
    const handle = await this.#openForRead(key);
    try {
      return await handle.readFile();
    } catch (err) {
      throw mapFsError(err, 'read', key, this.location);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  async getRange(key: string, offset: number, length: number, into?: Buffer): Promise<Buffer> {
    assertValidRange(offset, length);
    const path = this.#pathOf(key);
    try {
      return await this.#readHandles.use(path, async (handle) => {
        if (length === 0) {
          const info = await handle.stat();
          if (!info.isFile()) throw notFound(key, this.location);
          if (offset > info.size) throw truncated(key, this.location, offset, length, info.size);
          return Buffer.alloc(0);
        }
        // Not zero-filled: every byte is overwritten, or the read fails.
        const buffer = into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
          if (bytesRead === 0) throw truncated(key, this.location, offset, length, (await handle.stat()).size);
          filled += bytesRead;
        }
        return buffer;
      });
    } catch (err) {
      throw err instanceof FailsafeError ? err : mapFsError(err, 'read', key, this.location);
    }
  }

  async stat(key: string): Promise<ObjectInfo> {
    const path = this.#pathOf(key);
    try {
      const info = await stat(path);
      if (!info.isFile()) throw notFound(key, this.location);
      return { key, size: info.size, modified: info.mtime };
    } catch (err) {
      throw err instanceof FailsafeError ? err : mapFsError(err, 'stat', key, this.location);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    // Walk only the deepest directory the prefix fully names; `data/3f` walks `data/` and filters.
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    yield* this.#walk(base, prefix);
  }

  async delete(keys: readonly string[]): Promise<void> {
    const paths = keys.map((key) => this.#pathOf(key));
    for (const path of paths) this.#readHandles.invalidate(path);
    for (let i = 0; i < keys.length; i += PARALLELISM) {
      await Promise.all(
        paths.slice(i, i + PARALLELISM).map(async (path, j) => {
          try {
            await unlink(path);
          } catch (err) {
            // Absent, below a file, or a directory: in every case there is no such object to delete.
            if (!(isSystemError(err) && ABSENT_CODES.has(err.code))) {
              throw mapFsError(err, 'delete', keys[i + j]!, this.location);
            }
          }
        }),
      );
    }
  }

  async close(): Promise<void> {
    await this.#readHandles.closeAll();
  }

  #pathOf(key: string): string {
    assertValidKey(key);
    if (key === TEMP_DIR || key.startsWith(`${TEMP_DIR}/`)) {
      throw new FailsafeError('INTERNAL', `invalid storage key ${JSON.stringify(key)}: ${TEMP_DIR}/ is reserved`);
    }
    return join(this.#root, ...key.split('/'));
  }

  async #openForRead(key: string): Promise<FileHandle> {
    const path = this.#pathOf(key);
    try {
      return await open(path, 'r');
    } catch (err) {
      throw mapFsError(err, 'read', key, this.location);
    }
  }

  async #writeSynced(temp: string, data: ObjectData): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(temp, 'wx', FILE_MODE);
    } catch (err) {
      if (!isSystemError(err, 'ENOENT')) throw err;
      await this.#makeDirectory(dirname(temp));
      handle = await open(temp, 'wx', FILE_MODE);
    }
    try {
      if (data instanceof Uint8Array) await handle.writeFile(data);
      else await writeAll(handle, data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async #renameIntoPlace(temp: string, target: string): Promise<void> {
    try {
      await rename(temp, target);
    } catch (err) {
      if (!isSystemError(err, 'ENOENT')) throw err;
      await this.#makeDirectory(dirname(target));
      await rename(temp, target);
    }
    await syncDirectory(dirname(target));
  }

  /** Creates `dir` and its missing parents, and fsyncs the parent of each created directory. */
  async #makeDirectory(dir: string): Promise<void> {
    const firstCreated = await mkdir(dir, { recursive: true, mode: DIR_MODE });
    if (firstCreated === undefined) return;
    for (let created = dir; ; created = dirname(created)) {
      await syncDirectory(dirname(created));
      if (created === firstCreated || dirname(created) === created) break;
    }
  }

  async *#walk(relativeDir: string, prefix: string): AsyncGenerator<ObjectInfo> {
    const dir = join(this.#root, ...relativeDir.split('/').filter(Boolean));
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isSystemError(err, 'ENOENT') || isSystemError(err, 'ENOTDIR')) return;
      throw mapFsError(err, 'list', relativeDir === '' ? prefix : relativeDir, this.location);
    }
    const files: string[] = [];
    const dirs: string[] = [];
    for (const entry of entries) {
      const key = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
      if (relativeDir === '' && entry.name === TEMP_DIR) continue;
      if (entry.isDirectory()) {
        if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) dirs.push(key);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        files.push(key);
      }
    }
    for (let i = 0; i < files.length; i += PARALLELISM) {
      const infos = await Promise.all(files.slice(i, i + PARALLELISM).map((key) => this.#statIfPresent(key)));
      for (const info of infos) if (info !== undefined) yield info;
    }
    for (const sub of dirs) yield* this.#walk(sub, prefix);
  }

  /** Stat for listing: a file deleted since `readdir` saw it is skipped, not an error. */
  async #statIfPresent(key: string): Promise<ObjectInfo | undefined> {
    try {
      return await this.stat(key);
    } catch (err) {
      if (err instanceof FailsafeError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }
}

async function syncDirectory(dir: string): Promise<void> {
  // Windows cannot open a directory for fsync; its rename is durable enough there.
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function notFound(key: string, location: string): FailsafeError {
  return new FailsafeError('NOT_FOUND', `object ${key} in ${location} not found`);
}

const RETRYABLE_FS_CODES = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY']);
/** Codes meaning "no object under this key": missing, a file where a directory should be, a directory. */
const ABSENT_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/** What was being done when a file-system call failed; only reads turn ENOENT into `NOT_FOUND`. */
export type FsOperation = 'read' | 'stat' | 'write' | 'list' | 'delete';

/**
 * Turns a Node file-system error into a {@link FailsafeError}: for reads, ENOENT, ENOTDIR (a file where a
 * directory should be) and EISDIR (a key that names a directory) → `NOT_FOUND`; EACCES/EPERM/EROFS → `PERMISSION`; EMFILE/ENFILE/EAGAIN/EBUSY →
 * retryable `IO`; anything else → permanent `IO`. `what` is a key (with `location`) or a path.
 *
 * @example throw mapFsError(err, 'read', 'config', '/srv/repo') // "read config in /srv/repo: EACCES: ..."
 */
export function mapFsError(err: unknown, operation: FsOperation, what: string, location?: string): FailsafeError {
  if (err instanceof FailsafeError) return err;
  const code = isSystemError(err) ? err.code : undefined;
  const subject = location === undefined ? what : `${what} in ${location}`;
  const message = `${operation} ${subject}: ${messageOf(err)}`;
  if (code !== undefined && ABSENT_CODES.has(code) && (operation === 'read' || operation === 'stat')) {
    return new FailsafeError('NOT_FOUND', `object ${subject} not found`, { cause: err });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new FailsafeError('PERMISSION', message, {
      cause: err,
      hint: `check that the user running failsafe may read and write ${location ?? what}`,
    });
  }
  if (code !== undefined && RETRYABLE_FS_CODES.has(code)) {
    return new FailsafeError('IO', message, { cause: err, retryable: true });
  }
  return new FailsafeError('IO', message, {
    cause: err,
    ...(code === 'ENOSPC' ? { hint: `free space on the file system holding ${location ?? what}` } : {}),
  });
}

/** Writes pieces in order with writev, resuming after short writes. */
async function writeAll(handle: FileHandle, pieces: readonly Uint8Array[]): Promise<void> {
  let queue = pieces.filter((piece) => piece.length > 0);
  while (queue.length > 0) {
    // writev takes at most IOV_MAX (1024) buffers at once.
    const batch = queue.slice(0, 1024);
    let { bytesWritten } = await handle.writev(batch);
    let done = 0;
    while (done < batch.length && bytesWritten >= batch[done]!.length) bytesWritten -= batch[done++]!.length;
    const rest = done < batch.length ? [batch[done]!.subarray(bytesWritten), ...batch.slice(done + 1)] : [];
    queue = [...rest, ...queue.slice(batch.length)];
  }
}
