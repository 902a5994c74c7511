/**
 * Restores a snapshot's files into a target directory: plan first (counts, conflicts), then write
 * directories, files and symlinks, then metadata (modes, times, and ownership when running as root).
 * Existing files are never overwritten unless asked; node names were validated when the trees were
 * decoded, so nothing can be written outside the target.
 */
import { chmod, lchown, lstat, lutimes, mkdir, open, rm, symlink, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FailsafeError, isErrorCode, isSystemError, messageOf, withContext } from '../../core/errors.js';
import type { ProgressListener, Warning, WarningListener } from '../../core/progress.js';
import { readContent } from '../../repository/content.js';
import type { Repository } from '../../repository/repository.js';
import type { Snapshot } from '../../repository/snapshot.js';
import { type TreeNode, isoToEpochSeconds } from '../../repository/tree.js';

export interface PathsRestoreOptions {
  readonly target: string;
  /** Snapshot paths (e.g. `/srv/app/config`) to restore; everything when empty. */
  readonly include?: readonly string[];
  /** Replace files that exist in the target. */
  readonly overwrite?: boolean;
  /** Plan only: count what would be written and report conflicts. */
  readonly dryRun?: boolean;
  /** Recompute the id of every blob read (AES-GCM authenticates them either way). Default false. */
  readonly verify?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  readonly onWarning?: WarningListener;
}

export interface RestorePlan {
  readonly files: number;
  readonly dirs: number;
  readonly symlinks: number;
  readonly bytes: number;
  /** Target paths that exist and would be replaced. */
  readonly conflicts: readonly string[];
}

export interface PathsRestoreResult {
  readonly target: string;
  readonly plan: RestorePlan;
  readonly filesRestored: number;
  readonly bytesRestored: number;
  /** Files that could not be restored because their data is missing or damaged. */
  readonly failed: readonly Warning[];
  /** Problems that did not affect content (a mode or owner that could not be set, …). */
  readonly warnings: readonly Warning[];
}

interface TreeVisitor {
  enterDirectory(node: TreeNode, targetPath: string, included: boolean): Promise<void>;
  visit(node: TreeNode, snapshotPath: string, targetPath: string): Promise<void>;
}

/** Files restored at once; each also reads a few blobs ahead. */
const FILE_CONCURRENCY = 4;

/**
 * @example await restorePaths(repo, await repo.findSnapshot('latest'), { target: '/tmp/restore' })
 */
export async function restorePaths(repo: Repository, snapshot: Snapshot, options: PathsRestoreOptions): Promise<PathsRestoreResult> {
  const target = resolve(options.target);
  return repo.withLock('shared', 'restore', async () => {
    await repo.loadIndex();
    const restorer = new Restorer(repo, target, options);
    const plan = await restorer.plan(snapshot.tree);
    if (plan.conflicts.length > 0 && !options.overwrite && !options.dryRun) {
      const shown = plan.conflicts.slice(0, 3).join(', ');
      const more = plan.conflicts.length > 3 ? ` and ${plan.conflicts.length - 3} more` : '';
      throw new FailsafeError('ALREADY_EXISTS', `restore would overwrite ${shown}${more}`, {
        hint: 'restore into an empty directory, or pass --overwrite to replace existing files',
      });
    }
    if (!options.dryRun) await restorer.restore(snapshot.tree);
    return {
      target,
      plan,
      filesRestored: restorer.filesDone,
      bytesRestored: restorer.bytesDone,
      failed: restorer.failed,
      warnings: restorer.warnings,
    };
  });
}

class Restorer {
  readonly failed: Warning[] = [];
  readonly warnings: Warning[] = [];
  filesDone = 0;
  bytesDone = 0;
  readonly #repo: Repository;
  readonly #target: string;
  readonly #options: PathsRestoreOptions;
  readonly #include: readonly string[];
  readonly #isRoot = process.getuid?.() === 0;
  #plan: RestorePlan | undefined;

  constructor(repo: Repository, target: string, options: PathsRestoreOptions) {
    this.#repo = repo;
    this.#target = target;
    this.#options = options;
    this.#include = (options.include ?? []).map((path) => `/${path.replace(/^\/+|\/+$/g, '')}`);
  }

  async plan(tree: string): Promise<RestorePlan> {
    const plan = { files: 0, dirs: 0, symlinks: 0, bytes: 0, conflicts: [] as string[] };
    await this.#walk(tree, '', this.#target, {
      enterDirectory: async (_node, targetPath, included) => {
        if (included) plan.dirs++;
        // An existing non-directory (a symlink above all) must not be followed into.
        if ((await existingType(targetPath)) === 'other') plan.conflicts.push(targetPath);
      },
      visit: async (node, _snapshotPath, targetPath) => {
        if (node.type === 'file') {
          plan.files++;
          plan.bytes += node.size ?? 0;
        } else {
          plan.symlinks++;
        }
        if ((await existingType(targetPath)) !== undefined) plan.conflicts.push(targetPath);
      },
    });
    this.#plan = plan;
    return plan;
  }

  /**
   * Creates directories as the walk enters them, restores up to {@link FILE_CONCURRENCY} files at
   * once, and sets directory metadata last, deepest first, once nothing is written into them anymore.
   */
  async restore(tree: string): Promise<void> {
    await mkdir(this.#target, { recursive: true });
    const directories: { node: TreeNode; targetPath: string }[] = [];
    const running = new Set<Promise<void>>();
    let failure: unknown;
    await this.#walk(tree, '', this.#target, {
      enterDirectory: async (node, targetPath, included) => {
        if ((await existingType(targetPath)) === 'other') await rm(targetPath, { force: true });
        await mkdir(targetPath, { recursive: true });
        if (included) directories.push({ node, targetPath });
      },
      visit: async (node, snapshotPath, targetPath) => {
        while (running.size >= FILE_CONCURRENCY) await Promise.race(running);
        if (failure !== undefined) throw failure;
        const task = this.#restoreEntry(node, snapshotPath, targetPath)
          .catch((err: unknown) => {
            failure ??= err;
          })
          .finally(() => running.delete(task));
        running.add(task);
      },
    });
    await Promise.all(running);
    if (failure !== undefined) throw failure;
    for (const { node, targetPath } of directories.reverse()) await this.#applyMetadata(node, targetPath);
  }

  /**
   * Depth-first over the included nodes, in name order. `enterDirectory` runs before a directory's
   * content (for included directories and for the ancestors of included paths).
   */
  async #walk(treeId: string, snapshotDir: string, targetDir: string, visitor: TreeVisitor): Promise<void> {
    const tree = await this.#repo.loadTree(treeId);
    for (const node of tree.nodes) {
      this.#options.signal?.throwIfAborted();
      const snapshotPath = `${snapshotDir}/${node.name}`;
      const targetPath = join(targetDir, node.name);
      const included = this.#isIncluded(snapshotPath);
      if (node.type === 'dir') {
        if (included || this.#isAncestorOfInclude(snapshotPath)) {
          await visitor.enterDirectory(node, targetPath, included);
          await this.#walk(node.subtree!, snapshotPath, targetPath, visitor);
        }
      } else if (included) {
        await visitor.visit(node, snapshotPath, targetPath);
      }
    }
  }

  #isIncluded(snapshotPath: string): boolean {
    return this.#include.length === 0 || this.#include.some((p) => snapshotPath === p || snapshotPath.startsWith(`${p}/`));
  }

  #isAncestorOfInclude(snapshotPath: string): boolean {
    return this.#include.some((p) => p.startsWith(`${snapshotPath}/`));
  }

  /** A file or symlink; its directory exists already. */
  async #restoreEntry(node: TreeNode, snapshotPath: string, targetPath: string): Promise<void> {
    try {
      const existing = await existingType(targetPath);
      if (existing !== undefined) await rm(targetPath, { force: true, recursive: existing === 'dir' });
      if (node.type === 'symlink') {
        await symlink(node.target!, targetPath);
        await this.#applyMetadata(node, targetPath);
        return;
      }
      await this.#restoreFile(node, snapshotPath, targetPath);
    } catch (err) {
      if (isDataError(err)) {
        this.#fail(snapshotPath, err);
        return;
      }
      throw withContext(`restore ${snapshotPath}`, err);
    }
  }

  #fail(snapshotPath: string, err: unknown): void {
    const failure = { path: snapshotPath, message: messageOf(err) };
    this.failed.push(failure);
    this.#options.onWarning?.(failure);
  }

  async #restoreFile(node: TreeNode, snapshotPath: string, targetPath: string): Promise<void> {
    const handle = await open(targetPath, 'wx', 0o600);
    try {
      for await (const chunk of readContent(this.#repo, node.content ?? [], { verifyIds: this.#options.verify ?? false })) {
        await handle.write(chunk);
        this.bytesDone += chunk.length;
        this.#report(snapshotPath);
      }
    } finally {
      await handle.close();
    }
    await this.#applyMetadata(node, targetPath);
    this.filesDone++;
    this.#report(snapshotPath);
  }

  /** Owner (as root), mode and times; failures are warnings, the content is already in place. */
  async #applyMetadata(node: TreeNode, targetPath: string): Promise<void> {
    // libuv truncates times to whole microseconds; adding half of one makes that a rounding.
    const mtime = isoToEpochSeconds(node.mtime) + 5e-7;
    try {
      if (this.#isRoot) await lchown(targetPath, node.uid, node.gid);
      if (node.type === 'symlink') {
        await lutimes(targetPath, mtime, mtime);
      } else {
        await chmod(targetPath, node.mode);
        await utimes(targetPath, mtime, mtime);
      }
    } catch (err) {
      if (!isSystemError(err)) throw err;
      const warning = { path: targetPath, message: `metadata: ${messageOf(err)}` };
      this.warnings.push(warning);
      this.#options.onWarning?.(warning);
    }
  }

  #report(current: string): void {
    this.#options.onProgress?.({
      phase: 'restore',
      bytesDone: this.bytesDone,
      itemsDone: this.filesDone,
      itemUnit: 'files',
      current,
      ...(this.#plan ? { bytesTotal: this.#plan.bytes, itemsTotal: this.#plan.files } : {}),
    });
  }
}

/** Missing or unreadable content in the repository: that file fails, the restore goes on. */
function isDataError(err: unknown): boolean {
  return isErrorCode(err, 'CORRUPT') || isErrorCode(err, 'NOT_FOUND');
}

/** What exists at `path` without following symlinks: `dir`, `other`, or `undefined` for nothing. */
async function existingType(path: string): Promise<'dir' | 'other' | undefined> {
  try {
    return (await lstat(path)).isDirectory() ? 'dir' : 'other';
  } catch (err) {
    if (isSystemError(err, 'ENOENT') || isSystemError(err, 'ENOTDIR')) return undefined;
    throw err;
  }
}
