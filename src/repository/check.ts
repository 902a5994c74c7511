/**
 * `check`: verifies the repository's structure (index files, packs present with the right sizes,
 * snapshots, trees, every referenced blob indexed) and, with `readData`, every byte of the selected
 * packs (pack hash, header against index, each blob's authentication and id). Problems are collected,
 * not thrown, and traced back to the snapshots and paths they damage.
 */
import { randomInt } from 'node:crypto';
import { FailsafeError, isErrorCode, messageOf } from '../core/errors.js';
import { type ProgressListener, progressOf } from '../core/progress.js';
import { decodeBlob } from './compression.js';
import { PackCipher, computeBlobId, sha256Hex } from './crypto.js';
import { decodeDeletionMark } from './deletion-mark.js';
import { blobAad, packKey, parsePack } from './pack.js';
import type { Repository } from './repository.js';
import type { IndexedBlob, PackInfo } from './repository-index.js';
import { type Snapshot, shortId } from './snapshot.js';
import { collectReachable, walkTree } from './tree-walk.js';

export type PackSubset = { readonly fraction: number } | { readonly part: number; readonly of: number };

export interface CheckOptions {
  /** Read and verify every byte of the selected packs. */
  readonly readData?: boolean;
  /** Only this part of the packs (implies readData). */
  readonly readDataSubset?: PackSubset;
  readonly onProgress?: ProgressListener;
}

export type ProblemKind =
  | 'damaged-index'
  | 'missing-pack'
  | 'pack-size'
  | 'damaged-pack'
  | 'damaged-blob'
  | 'missing-blob'
  | 'damaged-tree'
  | 'damaged-snapshot';

export interface CheckProblem {
  readonly kind: ProblemKind;
  readonly message: string;
}

export interface AffectedSnapshot {
  readonly snapshot: string;
  readonly time: string;
  /** Files (and directories whose listing is lost) that cannot be restored intact. */
  readonly paths: readonly string[];
}

export interface CheckResult {
  readonly ok: boolean;
  readonly snapshots: number;
  readonly packs: number;
  readonly blobs: number;
  readonly problems: readonly CheckProblem[];
  readonly affected: readonly AffectedSnapshot[];
  /** Packs no index lists: left by an interrupted backup (or a backup still running). */
  readonly unindexedPacks: number;
  /** Packs a prune has taken out of the index and will delete. */
  readonly packsPendingDeletion: number;
  readonly packsRead: number;
  readonly bytesRead: number;
}

/**
 * @example const result = await checkRepository(repo, { readDataSubset: { fraction: 0.1 } })
 */
export async function checkRepository(repo: Repository, options: CheckOptions = {}): Promise<CheckResult> {
  return repo.withLock('shared', 'check', () => new Checker(repo, options).run());
}

class Checker {
  readonly #repo: Repository;
  readonly #options: CheckOptions;
  readonly #problems: CheckProblem[] = [];
  /** Blobs (hex) that cannot be read intact. */
  readonly #badBlobs = new Set<string>();
  /** Trees (hex) that cannot be read. */
  readonly #badTrees = new Set<string>();

  constructor(repo: Repository, options: CheckOptions) {
    this.#repo = repo;
    this.#options = options;
  }

  async run(): Promise<CheckResult> {
    const repo = this.#repo;
    const index = await repo.loadIndex({
      reload: true,
      onError: (id, err) => this.#problem('damaged-index', `index/${id}: ${messageOf(err)}`),
    });
    const stored = new Map<string, number>();
    for await (const object of repo.storage.list('data/')) stored.set(object.key.slice(object.key.lastIndexOf('/') + 1), object.size);

    const missingPacks = new Set<string>();
    for (const pack of index.packs()) {
      const size = stored.get(pack.id);
      if (size === undefined) {
        missingPacks.add(pack.id);
        this.#problem('missing-pack', `pack ${pack.id.slice(0, 12)} is listed in the index but missing from storage`);
      } else if (size !== pack.size) {
        this.#problem('pack-size', `pack ${pack.id.slice(0, 12)} has ${size} bytes, the index says ${pack.size}`);
      }
    }
    const pendingDeletion = await this.#packsInDeletionMarks();
    let unindexed = 0;
    let pending = 0;
    for (const packId of stored.keys()) {
      if (index.hasPack(packId)) continue;
      if (pendingDeletion.has(packId)) pending++;
      else unindexed++;
    }

    const snapshots = await this.#loadSnapshots();
    const reachable = await collectReachable(
      repo,
      snapshots.map((snapshot) => snapshot.tree),
      {
        onTreeError: (id, err) => {
          this.#badTrees.add(id);
          this.#problem('damaged-tree', `tree ${id.slice(0, 12)}: ${messageOf(err)}`);
        },
        onTree: (done) => this.#report('trees', done, undefined, 0),
      },
    );
    for (const id of reachable.data) {
      const location = index.lookup(Buffer.from(id, 'hex'));
      if (!location) {
        this.#badBlobs.add(id);
        this.#problem('missing-blob', `data blob ${id.slice(0, 12)} is referenced but not in any index`);
      } else if (missingPacks.has(location.pack.id)) {
        this.#badBlobs.add(id);
      }
    }

    let packsRead = 0;
    let bytesRead = 0;
    if (this.#options.readData || this.#options.readDataSubset) {
      const selected = selectPacks(
        index.packs().filter((pack) => !missingPacks.has(pack.id)),
        this.#options.readDataSubset,
      );
      const totalBytes = selected.reduce((sum, pack) => sum + pack.size, 0);
      const blobsByPack = index.blobsByPack(new Set(selected.map((pack) => pack.id)));
      const queue = [...selected];
      const worker = async (): Promise<void> => {
        for (let pack = queue.pop(); pack; pack = queue.pop()) {
          await this.#readPack(pack, blobsByPack.get(pack.id) ?? []);
          blobsByPack.delete(pack.id);
          packsRead++;
          bytesRead += pack.size;
          this.#report('read-data', packsRead, selected.length, bytesRead, totalBytes);
        }
      };
      await Promise.all([worker(), worker(), worker()]);
    }

    const affected = this.#badBlobs.size + this.#badTrees.size > 0 ? await this.#traceAffected(snapshots) : [];
    return {
      ok: this.#problems.length === 0,
      snapshots: snapshots.length,
      packs: index.packCount,
      blobs: index.blobCount,
      problems: this.#problems,
      affected,
      unindexedPacks: unindexed,
      packsPendingDeletion: pending,
      packsRead,
      bytesRead,
    };
  }

  async #loadSnapshots(): Promise<Snapshot[]> {
    const snapshots: Snapshot[] = [];
    for (const id of await this.#repo.listIds('snapshot')) {
      try {
        snapshots.push(await this.#repo.loadSnapshot(id));
      } catch (err) {
        if (isErrorCode(err, 'NOT_FOUND')) continue; // forgotten meanwhile
        this.#problem('damaged-snapshot', `snapshot ${shortId(id)}: ${messageOf(err)}`);
      }
    }
    return snapshots;
  }

  async #packsInDeletionMarks(): Promise<Set<string>> {
    const packs = new Set<string>();
    for (const id of await this.#repo.listIds('deletion')) {
      try {
        const mark = decodeDeletionMark(await this.#repo.loadSealed('deletion', id), `deletions/${id}`);
        for (const pack of mark.packs) packs.add(pack.id);
      } catch (err) {
        if (!isErrorCode(err, 'NOT_FOUND')) throw err;
      }
    }
    return packs;
  }

  /** Downloads one pack and verifies its hash, its header against the index, and every blob. */
  async #readPack(pack: PackInfo, blobs: readonly IndexedBlob[]): Promise<void> {
    const repo = this.#repo;
    const name = `pack ${pack.id.slice(0, 12)}`;
    let bytes: Buffer;
    try {
      bytes = await repo.storage.get(packKey(pack.id));
    } catch (err) {
      if (!isErrorCode(err, 'NOT_FOUND')) throw err;
      this.#problem('missing-pack', `${name} disappeared during the check`);
      return;
    }
    if (sha256Hex(bytes) !== pack.id) this.#problem('damaged-pack', `${name}: content does not match its name (hash mismatch)`);
    try {
      const header = parsePack(repo.keys, bytes, pack.id);
      // Every blob the index places in this pack must be in its header at the same position. (The header
      // may list more: copies of blobs that a concurrent backup stored too, which the index serves from
      // the other pack.)
      const positions = new Set(header.blobs.map((blob) => `${blob.id.toString('hex')}@${blob.offset}+${blob.length}`));
      const mismatched = blobs.filter(({ id, location }) => !positions.has(`${id.toString('hex')}@${location.offset}+${location.length}`));
      if (mismatched.length > 0) {
        this.#problem('damaged-pack', `${name}: ${mismatched.length} of its indexed blobs are not in its header`);
      }
    } catch (err) {
      this.#problem('damaged-pack', `${name}: ${messageOf(err)}`);
    }
    const cipher = new PackCipher(repo.keys, pack.salt);
    for (const { id, location } of blobs) {
      const hex = id.toString('hex');
      const what = `blob ${hex.slice(0, 12)} in ${name}`;
      try {
        if (location.offset + location.length > bytes.length) throw new FailsafeError('CORRUPT', `${what}: beyond the end of the pack`);
        const record = bytes.subarray(location.offset, location.offset + location.length);
        const plain = cipher.decrypt(location.offset, blobAad(location.type, id), record, what);
        const data = await decodeBlob(plain, location.rawLength, what);
        if (!computeBlobId(repo.keys, data).equals(id)) throw new FailsafeError('CORRUPT', `${what}: content does not match its id`);
      } catch (err) {
        if (!isErrorCode(err, 'CORRUPT')) throw err;
        // Identical content may serve as a tree and as file data alike.
        this.#badTrees.add(hex);
        this.#badBlobs.add(hex);
        this.#problem('damaged-blob', messageOf(err));
      }
    }
  }

  /** Walks every snapshot and lists the paths that depend on a bad blob or tree. */
  async #traceAffected(snapshots: readonly Snapshot[]): Promise<AffectedSnapshot[]> {
    const affected: AffectedSnapshot[] = [];
    for (const snapshot of snapshots) {
      const paths: string[] = [];
      if (this.#badTrees.has(snapshot.tree)) {
        paths.push('/');
      } else {
        for await (const { path, node } of this.#walkTolerant(snapshot.tree, '')) {
          if (node.type === 'file' && node.content!.some((id) => this.#badBlobs.has(id))) paths.push(path);
          if (node.type === 'dir' && this.#badTrees.has(node.subtree!)) paths.push(`${path}/`);
        }
      }
      if (paths.length > 0) affected.push({ snapshot: snapshot.id, time: snapshot.time, paths });
    }
    return affected.sort((a, b) => b.time.localeCompare(a.time));
  }

  async *#walkTolerant(treeId: string, prefix: string): ReturnType<typeof walkTree> {
    const tree = await this.#repo.loadTree(treeId);
    for (const node of tree.nodes) {
      const path = `${prefix}/${node.name}`;
      yield { path, node };
      if (node.type === 'dir' && !this.#badTrees.has(node.subtree!)) yield* this.#walkTolerant(node.subtree!, path);
    }
  }

  #problem(kind: ProblemKind, message: string): void {
    this.#problems.push({ kind, message });
  }

  #report(phase: string, itemsDone: number, itemsTotal: number | undefined, bytesDone: number, bytesTotal?: number): void {
    this.#options.onProgress?.(progressOf(phase, phase === 'read-data' ? 'packs' : 'trees', itemsDone, itemsTotal, bytesDone, bytesTotal));
  }
}

/** The packs a `--read-data-subset` selects: a random fraction, or the n-th of m groups by id. */
export function selectPacks(packs: readonly PackInfo[], subset: PackSubset | undefined): PackInfo[] {
  if (!subset) return [...packs];
  if ('fraction' in subset) {
    const shuffled = [...packs];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    return shuffled.slice(0, Math.ceil(packs.length * subset.fraction));
  }
  return packs.filter((pack) => Number.parseInt(pack.id.slice(0, 8), 16) % subset.of === subset.part - 1);
}
