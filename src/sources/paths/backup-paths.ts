/**
 * Backs up files and directories. The snapshot's tree mirrors the absolute paths given (as restic
 * does): backing up `/srv/app` stores `srv/app/...`, so several roots can share one snapshot and a
 * restore recreates them under the target directory.
 *
 * Files whose size, mtime, ctime and inode equal those in the parent snapshot are not read again;
 * their content list is taken from the parent.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { FailsafeError, isSystemError, messageOf } from '../../core/errors.js';
import type { ProgressListener, Warning, WarningListener } from '../../core/progress.js';
import { Semaphore } from '../../core/semaphore.js';
import type { BlobWriter } from '../../repository/blob-writer.js';
import { saveContent } from '../../repository/content.js';
import { BlobType } from '../../repository/pack.js';
import type { ParallelChunker } from '../../repository/parallel-chunker.js';
import type { Repository } from '../../repository/repository.js';
import type { Snapshot } from '../../repository/snapshot.js';
import { type TreeNode, encodeTree, formatNanoTime } from '../../repository/tree.js';
import { commitSnapshot, resolveParent } from '../snapshot-session.js';
import { type ExcludeMatcher, createExcludeMatcher } from './exclude.js';
import { scanPaths } from './scan.js';

/**
 * Files read at once, each chunked and hashed on its own worker thread. One core stays for the main
 * thread (deduplication, encryption, packing) and compression; measured on 2 cores, a second worker
 * made the first backup no faster and raised peak RSS by ~80 MB.
 */
const FILE_SLOTS = Math.max(1, Math.min(4, availableParallelism() - 1));

export interface PathsBackupOptions {
  /** Files or directories to back up; relative paths are resolved against the working directory. */
  readonly paths: readonly string[];
  /** Glob patterns: without a `/` they match a name anywhere, with one they match the full path. */
  readonly exclude?: readonly string[];
  readonly tags?: readonly string[];
  /** Host name recorded in the snapshot (default: this machine's). */
  readonly host?: string;
  /** Configured source name, recorded in the snapshot. */
  readonly sourceName?: string;
  /** `auto` (default): the latest snapshot of the same host and paths; `none`: read every file. */
  readonly parent?: string;
  /** Time recorded in the snapshot (default: now). */
  readonly time?: Date;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  readonly onWarning?: WarningListener;
}

export interface PathsBackupResult {
  readonly snapshot: Snapshot;
  readonly parent: string | null;
  readonly filesNew: number;
  readonly filesChanged: number;
  readonly filesUnchanged: number;
  readonly dirs: number;
  readonly warnings: readonly Warning[];
}

/**
 * Backs up `options.paths` into one snapshot.
 *
 * @example
 * const { snapshot } = await backupPaths(repo, { paths: ['/srv/app'], tags: ['nightly'] })
 */
export async function backupPaths(repo: Repository, options: PathsBackupOptions): Promise<PathsBackupResult> {
  const roots = normalizeRoots(options.paths);
  const start = new Date();
  return repo.withLock('shared', 'backup', async (lock) => {
    await repo.loadIndex();
    const host = options.host ?? hostname();
    const parent = await resolveParent(repo, options.parent ?? 'auto', { hosts: [host], paths: roots });
    const writer = repo.newBlobWriter();
    const chunker = repo.newParallelChunker(FILE_SLOTS);
    const archiver = new Archiver(repo, writer, chunker, createExcludeMatcher(options.exclude ?? []), options);
    const totals = scanPaths(roots, archiver.exclude, options.signal).then((t) => archiver.setTotals(t));
    totals.catch(() => undefined);
    const tree = await archiver.archiveRoots(roots, parent?.tree).finally(() => chunker.close());
    const snapshot = await commitSnapshot(repo, writer, lock, {
      time: (options.time ?? start).toISOString(),
      host,
      source: { kind: 'paths', ...(options.sourceName ? { name: options.sourceName } : {}) },
      paths: roots,
      tags: [...(options.tags ?? [])],
      tenant: null,
      tree,
      parent: parent?.id ?? null,
      counts: { files: archiver.filesDone, dirs: archiver.dirs, bytes: archiver.bytesDone },
      start,
    });
    return {
      snapshot,
      parent: parent?.id ?? null,
      filesNew: archiver.filesNew,
      filesChanged: archiver.filesChanged,
      filesUnchanged: archiver.filesUnchanged,
      dirs: archiver.dirs,
      warnings: archiver.warnings,
    };
  });
}

/** Absolute, normalized, deduplicated roots; a root inside another root is dropped. */
export function normalizeRoots(paths: readonly string[]): string[] {
  if (paths.length === 0) throw new FailsafeError('USAGE', 'nothing to back up: give at least one path');
  const absolute = [...new Set(paths.map((path) => resolve(path)))].sort();
  return absolute.filter((path) => !absolute.some((other) => other !== path && isInside(path, other)));
}

function isInside(path: string, dir: string): boolean {
  return dir === sep ? path !== sep : path.startsWith(dir + sep);
}

interface VirtualDir {
  readonly path: string;
  readonly children: Map<string, VirtualDir | string>;
}

class Archiver {
  readonly exclude: ExcludeMatcher;
  readonly warnings: Warning[] = [];
  filesNew = 0;
  filesChanged = 0;
  filesUnchanged = 0;
  filesDone = 0;
  dirs = 0;
  bytesDone = 0;
  readonly #repo: Repository;
  readonly #writer: BlobWriter;
  readonly #options: PathsBackupOptions;
  #totals: { files: number; bytes: number } | undefined;
  #current = '';
  readonly #chunker: ParallelChunker;
  readonly #fileSlots = new Semaphore(FILE_SLOTS);

  constructor(repo: Repository, writer: BlobWriter, chunker: ParallelChunker, exclude: ExcludeMatcher, options: PathsBackupOptions) {
    this.#repo = repo;
    this.#writer = writer;
    this.#chunker = chunker;
    this.exclude = exclude;
    this.#options = options;
  }

  setTotals(totals: { files: number; bytes: number }): void {
    this.#totals = totals;
    this.#report();
  }

  /** Archives the roots under a virtual tree of their ancestors; returns the root tree id. */
  async archiveRoots(roots: readonly string[], parentTree: string | undefined): Promise<string> {
    const top: VirtualDir = { path: sep, children: new Map() };
    for (const root of roots) {
      const parts = root.split(sep).filter((part) => part.length > 0);
      if (parts.length === 0) {
        return this.#archiveDirectory(sep, parentTree);
      }
      let dir = top;
      for (const [i, part] of parts.entries()) {
        if (i === parts.length - 1) {
          dir.children.set(part, root);
        } else {
          let next = dir.children.get(part);
          if (typeof next !== 'object') {
            next = { path: join(dir.path, part), children: new Map() };
            dir.children.set(part, next);
          }
          dir = next;
        }
      }
    }
    return this.#archiveVirtual(top, parentTree);
  }

  async #archiveVirtual(dir: VirtualDir, parentTree: string | undefined): Promise<string> {
    const parentNodes = await this.#loadParentNodes(parentTree);
    const nodes: TreeNode[] = [];
    for (const [name, child] of dir.children) {
      const previous = parentNodes.get(name);
      if (typeof child === 'string') {
        const node = await (await this.#startEntry(child, name, previous)).node;
        if (node) nodes.push(node);
      } else {
        const stat = await lstat(child.path, { bigint: true });
        const subtree = await this.#archiveVirtual(child, previous?.type === 'dir' ? previous.subtree : undefined);
        nodes.push({ ...metadata(name, stat), type: 'dir', subtree });
      }
    }
    return this.#saveTree(nodes);
  }

  /**
   * Archives one entry. Directories and symlinks are done when this resolves; a file only has a read
   * slot (at most {@link FILE_SLOTS} files are read at once), and `node` settles when it is stored.
   */
  async #startEntry(path: string, name: string, previous: TreeNode | undefined): Promise<{ node: Promise<TreeNode | undefined> }> {
    this.#options.signal?.throwIfAborted();
    let stat: BigIntStats;
    try {
      stat = await lstat(path, { bigint: true });
    } catch (err) {
      this.#warn(path, err);
      return { node: Promise.resolve(undefined) };
    }
    if (stat.isFile()) {
      const release = await this.#fileSlots.acquire();
      const node = this.#archiveFile(path, name, stat, previous).catch((err: unknown) => this.#skipOnIoError(path, err)).finally(release);
      node.catch(() => undefined); // awaited by the caller; this only keeps an early failure from going unhandled
      return { node };
    }
    try {
      if (stat.isDirectory()) {
        const subtree = await this.#archiveDirectory(path, previous?.type === 'dir' ? previous.subtree : undefined);
        return { node: Promise.resolve({ ...metadata(name, stat), type: 'dir', subtree }) };
      }
      if (stat.isSymbolicLink()) {
        return { node: Promise.resolve({ ...metadata(name, stat), type: 'symlink', target: await readlink(path) }) };
      }
      return { node: Promise.resolve(undefined) }; // sockets, FIFOs and devices are not backed up
    } catch (err) {
      return { node: Promise.resolve(this.#skipOnIoError(path, err)) };
    }
  }

  /**
   * A source file or directory that cannot be read is left out with a warning. Anything else (the
   * repository's storage failing, say) is fatal: callers pass only errors of the source side here.
   */
  #skipOnIoError(path: string, err: unknown): undefined {
    if (!isSystemError(err)) throw err;
    this.#warn(path, err);
    return undefined;
  }

  async #archiveDirectory(path: string, parentTree: string | undefined): Promise<string> {
    const names = (await readdir(path)).sort();
    const parentNodes = await this.#loadParentNodes(parentTree);
    const pending: Promise<TreeNode | undefined>[] = [];
    for (const name of names) {
      const childPath = join(path, name);
      if (this.exclude(childPath, name)) continue;
      pending.push((await this.#startEntry(childPath, name, parentNodes.get(name))).node);
    }
    const nodes = (await Promise.all(pending)).filter((node): node is TreeNode => node !== undefined);
    this.dirs++;
    return this.#saveTree(nodes);
  }

  async #archiveFile(path: string, name: string, stat: BigIntStats, previous: TreeNode | undefined): Promise<TreeNode | undefined> {
    const base = { ...metadata(name, stat), type: 'file' as const };
    this.#current = path;
    if (previous && isUnchanged(previous, base, Number(stat.size)) && previous.content!.every((id) => this.#writer.has(Buffer.from(id, 'hex')))) {
      this.filesUnchanged++;
      this.#fileDone(Number(stat.size));
      return { ...base, size: previous.size!, content: previous.content! };
    }
    const handle = await open(path, 'r');
    let readError: unknown;
    try {
      const signal = this.#options.signal;
      const read = async (buffer: Buffer): Promise<number> => {
        signal?.throwIfAborted();
        try {
          return (await handle.read(buffer, 0, buffer.length, null)).bytesRead;
        } catch (err) {
          throw (readError = err);
        }
      };
      const saved = await saveContent(this.#repo, this.#writer, read, {
        chunker: this.#chunker,
        onBytes: (bytes) => {
          this.bytesDone += bytes;
          this.#report();
        },
      }).catch((err: unknown) => {
        // The file failed to read mid-way (an I/O error, say): leave it out, keep the backup going.
        if (err === readError) return this.#skipOnIoError(path, err);
        throw err;
      });
      if (saved === undefined) return undefined;
      const { content, size } = saved;
      if (previous) this.filesChanged++;
      else this.filesNew++;
      this.#fileDone(0);
      return { ...base, size, content };
    } finally {
      await handle.close();
    }
  }

  async #loadParentNodes(treeId: string | undefined): Promise<Map<string, TreeNode>> {
    if (!treeId) return new Map();
    try {
      const tree = await this.#repo.loadTree(treeId);
      return new Map(tree.nodes.map((node) => [node.name, node]));
    } catch (err) {
      // A damaged parent only costs speed: every file is read again.
      this.#warn(`parent tree ${treeId.slice(0, 12)}`, err);
      return new Map();
    }
  }

  async #saveTree(nodes: readonly TreeNode[]): Promise<string> {
    const { id } = await this.#writer.save(BlobType.Tree, encodeTree(nodes));
    return id.toString('hex');
  }

  #fileDone(skippedBytes: number): void {
    this.filesDone++;
    this.bytesDone += skippedBytes;
    this.#report();
  }

  #warn(path: string, err: unknown): void {
    const warning = { path, message: messageOf(err) };
    this.warnings.push(warning);
    this.#options.onWarning?.(warning);
  }

  #report(): void {
    this.#options.onProgress?.({
      phase: 'backup',
      bytesDone: this.bytesDone,
      itemsDone: this.filesDone,
      itemUnit: 'files',
      current: this.#current,
      ...(this.#totals ? { bytesTotal: this.#totals.bytes, itemsTotal: this.#totals.files } : {}),
    });
  }
}

function metadata(name: string, stat: BigIntStats) {
  return {
    name,
    mode: Number(stat.mode) & 0o7777,
    mtime: formatNanoTime(stat.mtimeNs),
    uid: Number(stat.uid),
    gid: Number(stat.gid),
    inode: Number(stat.ino),
    ctime: formatNanoTime(stat.ctimeNs),
  };
}

function isUnchanged(previous: TreeNode, current: ReturnType<typeof metadata>, size: number): boolean {
  return (
    previous.type === 'file' &&
    previous.content !== undefined &&
    previous.size === size &&
    previous.mtime === current.mtime &&
    previous.ctime === current.ctime &&
    previous.inode === current.inode
  );
}
