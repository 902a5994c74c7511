/**
 * `prune`: removes data no snapshot references, in two phases so that it never pulls data from under a
 * concurrent backup (docs/design.md, "Locking and concurrent prune"):
 *
 * 1. mark — plan, repack partly used packs, rewrite the index without the doomed packs, write a
 *    deletion mark naming them and the sessions live at that moment;
 * 2. sweep — once those sessions are gone, put back any doomed pack a late snapshot needs, delete the rest.
 */
import { FailsafeError } from '../core/errors.js';
import { type ProgressListener, progressOf } from '../core/progress.js';
import { decodeBlob } from './compression.js';
import { PackCipher, computeBlobId } from './crypto.js';
import { type DeletionMark, decodeDeletionMark, encodeDeletionMark } from './deletion-mark.js';
import { type IndexedPack, decodeIndex, encodeIndex } from './index-file.js';
import { listLocks } from './lock.js';
import { blobAad, packKey } from './pack.js';
import type { Repository } from './repository.js';
import { type ReachableBlobs, collectReachable } from './tree-walk.js';

export interface PruneOptions {
  readonly dryRun?: boolean;
  /** Packs whose used share is below this fraction are rewritten. Default 0.8. */
  readonly repackBelow?: number;
  readonly onProgress?: ProgressListener;
}

export interface PrunePlan {
  readonly packs: number;
  readonly bytes: number;
  readonly usedBlobs: number;
  readonly usedBytes: number;
  /** Packs with no used blob. */
  readonly deletePacks: number;
  readonly deleteBytes: number;
  /** Packs rewritten because they are mostly unused; their used blobs are copied. */
  readonly repackPacks: number;
  readonly repackBytes: number;
  readonly repackUsedBytes: number;
  /** Packs no index lists (interrupted backups). */
  readonly unindexedPacks: number;
  readonly unindexedBytes: number;
  /** Unused bytes left in packs that stay. */
  readonly keptUnusedBytes: number;
}

export interface PruneResult {
  readonly plan: PrunePlan;
  readonly dryRun: boolean;
  readonly packsDeleted: number;
  readonly bytesDeleted: number;
  readonly packsWritten: number;
  /** Packs put back into the index because a session live at marking time used them. */
  readonly packsRestored: number;
  /** Marks still waiting for sessions that were live when they were written. */
  readonly marksPending: number;
  /** Descriptions of the sessions a pending mark waits for. */
  readonly waitingFor: readonly string[];
}

/**
 * @example const { plan, bytesDeleted } = await prune(repo, { repackBelow: 0.5 })
 */
export async function prune(repo: Repository, options: PruneOptions = {}): Promise<PruneResult> {
  return repo.withLock('exclusive', 'prune', (lock) => new Pruner(repo, options, lock.id).run());
}

interface PackUsage {
  readonly pack: IndexedPack;
  /** Positions in `pack.blobs` of the blobs this pack provides to snapshots. */
  readonly used: number[];
  /** Bytes of all blob records in the pack, used or not. */
  blobBytes: number;
  usedBytes: number;
  usedBlobs: number;
}

class Pruner {
  readonly #repo: Repository;
  readonly #options: PruneOptions;
  readonly #ownLock: string;
  #deleted = { packs: 0, bytes: 0 };
  #restored = 0;

  constructor(repo: Repository, options: PruneOptions, ownLock: string) {
    this.#repo = repo;
    this.#options = options;
    this.#ownLock = ownLock;
  }

  async run(): Promise<PruneResult> {
    const repo = this.#repo;
    // Earlier marks first: their sessions may be gone by now.
    if (!this.#options.dryRun) await this.#sweepAll(undefined);
    const indexIds = await repo.listIds('index');
    const packs = await this.#readIndexFiles(indexIds);
    const index = await repo.loadIndex({ reload: true });
    const snapshots = await repo.listSnapshots();
    const reachable = await collectReachable(
      repo,
      snapshots.map((snapshot) => snapshot.tree),
      { onTree: (done) => this.#report('scan', done, undefined, 0) },
    ).catch((err: unknown) => {
      throw new FailsafeError('CORRUPT', `cannot tell which data is in use: ${(err as Error).message}`, {
        cause: err,
        hint: 'run `failsafe check` and fix the damage before pruning',
      });
    });
    for (const id of reachable.data) {
      if (!index.has(Buffer.from(id, 'hex'))) {
        throw new FailsafeError('CORRUPT', `a snapshot references data blob ${id.slice(0, 12)} that no index lists`, {
          hint: 'run `failsafe check` to see which snapshots are affected; prune will not run on a damaged repository',
        });
      }
    }

    const usage = measureUsage(packs, reachable);
    const threshold = this.#options.repackBelow ?? 0.8;
    const doomed = usage.filter((u) => u.usedBlobs === 0);
    // Shares are of blob bytes: a pack's own header and salt are not waste.
    const repack = usage.filter((u) => u.usedBlobs > 0 && u.usedBytes / u.blobBytes < threshold);
    const kept = usage.filter((u) => u.usedBlobs > 0 && !repack.includes(u));
    const unindexed = await this.#unindexedPacks(new Set(packs.map((pack) => pack.id)));
    const plan: PrunePlan = {
      packs: packs.length,
      bytes: sum(packs.map((pack) => pack.size)),
      usedBlobs: sum(usage.map((u) => u.usedBlobs)),
      usedBytes: sum(usage.map((u) => u.usedBytes)),
      deletePacks: doomed.length,
      deleteBytes: sum(doomed.map((u) => u.pack.size)),
      repackPacks: repack.length,
      repackBytes: sum(repack.map((u) => u.pack.size)),
      repackUsedBytes: sum(repack.map((u) => u.usedBytes)),
      unindexedPacks: unindexed.length,
      unindexedBytes: sum(unindexed.map((pack) => pack.size)),
      keptUnusedBytes: sum(kept.map((u) => u.blobBytes - u.usedBytes)),
    };
    if (this.#options.dryRun) {
      return { plan, dryRun: true, packsDeleted: 0, bytesDeleted: 0, packsWritten: 0, packsRestored: 0, marksPending: 0, waitingFor: [] };
    }

    const packsWritten = await this.#repack(repack);
    const removed = [...doomed, ...repack].map((u) => u.pack);
    if (removed.length > 0 || unindexed.length > 0) {
      await this.#rewriteIndex(
        kept.map((u) => u.pack),
        indexIds,
      );
      const liveLocks = (await listLocks(repo.storage, repo.keys, repo.lockTiming))
        .filter((lock) => lock.id !== this.#ownLock && !lock.stale)
        .map((lock) => lock.id);
      const mark: DeletionMark = { created: new Date(), liveLocks, packs: [...removed, ...unindexed] };
      await repo.saveSealed('deletion', encodeDeletionMark(mark));
      // Nothing else was running: nobody can use the doomed packs, sweep right away.
      await this.#sweepAll(liveLocks.length === 0 ? reachable : undefined);
    }
    const pending = await this.#pendingMarks();
    return {
      plan,
      dryRun: false,
      packsDeleted: this.#deleted.packs,
      bytesDeleted: this.#deleted.bytes,
      packsWritten,
      packsRestored: this.#restored,
      marksPending: pending.marks,
      waitingFor: pending.waitingFor,
    };
  }

  /** Every pack entry of every index file, duplicates included (the loaded index keeps only one copy). */
  async #readIndexFiles(ids: readonly string[]): Promise<IndexedPack[]> {
    const byId = new Map<string, IndexedPack>();
    for (const id of ids) {
      for (const pack of decodeIndex(await this.#repo.loadSealed('index', id), `index/${id}`)) {
        if (!byId.has(pack.id)) byId.set(pack.id, { ...pack, blobs: pack.blobs.map((blob) => ({ ...blob, id: Buffer.from(blob.id) })) });
      }
    }
    return [...byId.values()];
  }

  /** Stored packs that no index lists and no mark already covers, with their sizes. */
  async #unindexedPacks(indexed: ReadonlySet<string>): Promise<IndexedPack[]> {
    const marked = new Set<string>();
    for (const { mark } of await this.#loadMarks()) for (const pack of mark.packs) marked.add(pack.id);
    const result: IndexedPack[] = [];
    for await (const object of this.#repo.storage.list('data/')) {
      const id = object.key.slice(object.key.lastIndexOf('/') + 1);
      if (!indexed.has(id) && !marked.has(id)) result.push({ id, salt: Buffer.alloc(32), size: object.size, blobs: [] });
    }
    return result;
  }

  /** Copies the used blobs of mostly-unused packs into new packs; returns how many packs were written. */
  async #repack(repack: readonly PackUsage[]): Promise<number> {
    if (repack.length === 0) return 0;
    const repo = this.#repo;
    const writer = repo.newBlobWriter({ ignoreIndex: true });
    const totalBytes = sum(repack.map((u) => u.usedBytes));
    let bytesDone = 0;
    for (const [i, { pack, used }] of repack.entries()) {
      const bytes = await repo.storage.get(packKey(pack.id));
      const cipher = new PackCipher(repo.keys, pack.salt);
      for (const position of used) {
        const blob = pack.blobs[position]!;
        const hex = blob.id.toString('hex');
        const what = `blob ${hex.slice(0, 12)} in pack ${pack.id.slice(0, 12)}`;
        const plain = cipher.decrypt(blob.offset, blobAad(blob.type, blob.id), bytes.subarray(blob.offset, blob.offset + blob.length), what);
        const data = await decodeBlob(plain, blob.rawLength, what);
        if (!computeBlobId(repo.keys, data).equals(blob.id)) throw new FailsafeError('CORRUPT', `${what}: content does not match its id`);
        await writer.save(blob.type, data, blob.id);
        bytesDone += blob.length;
      }
      this.#report('repack', i + 1, repack.length, bytesDone, totalBytes);
    }
    await writer.flush();
    return writer.stats.packs;
  }

  /** Writes the kept packs into fresh index files, then deletes the index files read at the start. */
  async #rewriteIndex(kept: readonly IndexedPack[], oldIndexIds: readonly string[]): Promise<void> {
    const perFile = 50_000;
    let batch: IndexedPack[] = [];
    let blobs = 0;
    for (const pack of kept) {
      batch.push(pack);
      blobs += pack.blobs.length;
      if (blobs >= perFile) {
        await this.#repo.saveSealed('index', encodeIndex(batch));
        batch = [];
        blobs = 0;
      }
    }
    if (batch.length > 0) await this.#repo.saveSealed('index', encodeIndex(batch));
    await this.#repo.deleteSealed('index', oldIndexIds);
  }

  async #loadMarks(): Promise<{ id: string; mark: DeletionMark }[]> {
    const marks: { id: string; mark: DeletionMark }[] = [];
    for (const id of await this.#repo.listIds('deletion')) {
      marks.push({ id, mark: decodeDeletionMark(await this.#repo.loadSealed('deletion', id), `deletions/${id}`) });
    }
    return marks;
  }

  async #pendingMarks(): Promise<{ marks: number; waitingFor: string[] }> {
    const marks = await this.#loadMarks();
    const locks = await listLocks(this.#repo.storage, this.#repo.keys, this.#repo.lockTiming);
    const waitingFor = new Set<string>();
    for (const { mark } of marks) {
      for (const lock of locks) {
        if (mark.liveLocks.includes(lock.id) && !lock.stale && lock.info) {
          waitingFor.add(`${lock.info.operation} on ${lock.info.host} (pid ${lock.info.pid})`);
        }
      }
    }
    return { marks: marks.length, waitingFor: [...waitingFor] };
  }

  /**
   * Sweeps every mark whose sessions have ended. `reachable` may be passed when it is known to be
   * current (no session was live while marking); otherwise it is recomputed from the snapshots.
   */
  async #sweepAll(reachable: ReachableBlobs | undefined): Promise<void> {
    const marks = await this.#loadMarks();
    if (marks.length === 0) return;
    const locks = await listLocks(this.#repo.storage, this.#repo.keys, this.#repo.lockTiming);
    const live = new Set(locks.filter((lock) => !lock.stale).map((lock) => lock.id));
    const ready = marks.filter(({ mark }) => !mark.liveLocks.some((id) => live.has(id)));
    if (ready.length === 0) return;
    const index = await this.#repo.loadIndex({ reload: true });
    reachable ??= await collectReachable(
      this.#repo,
      (await this.#repo.listSnapshots()).map((snapshot) => snapshot.tree),
    );
    const restore: IndexedPack[] = [];
    const remove: IndexedPack[] = [];
    for (const { mark } of ready) {
      for (const pack of mark.packs) {
        if (index.hasPack(pack.id)) continue; // indexed again (an interrupted session's pack it finished)
        const needed = pack.blobs.some((blob) => isUsed(blob.id.toString('hex'), reachable) && !index.has(blob.id));
        (needed ? restore : remove).push(pack);
      }
    }
    if (restore.length > 0) {
      await this.#repo.saveSealed('index', encodeIndex(restore));
      for (const pack of restore) index.addPack(pack);
      this.#restored += restore.length;
    }
    for (const [i, pack] of remove.entries()) {
      await this.#repo.storage.delete([packKey(pack.id)]);
      this.#deleted.packs++;
      this.#deleted.bytes += pack.size;
      this.#report('delete', i + 1, remove.length, this.#deleted.bytes);
    }
    await this.#repo.deleteSealed(
      'deletion',
      ready.map(({ id }) => id),
    );
  }

  #report(phase: string, itemsDone: number, itemsTotal: number | undefined, bytesDone: number, bytesTotal?: number): void {
    this.#options.onProgress?.(progressOf(phase, phase === 'scan' ? 'trees' : 'packs', itemsDone, itemsTotal, bytesDone, bytesTotal));
  }
}

/** Per pack: the bytes and count of blobs some snapshot uses (first copy of each blob only). */
function measureUsage(packs: readonly IndexedPack[], reachable: ReachableBlobs): PackUsage[] {
  const claimed = new Set<string>();
  return packs.map((pack) => {
    const usage: PackUsage = { pack, used: [], blobBytes: 0, usedBytes: 0, usedBlobs: 0 };
    for (const [position, blob] of pack.blobs.entries()) {
      usage.blobBytes += blob.length;
      const hex = blob.id.toString('hex');
      if (!isUsed(hex, reachable) || claimed.has(hex)) continue;
      claimed.add(hex);
      usage.used.push(position);
      usage.usedBytes += blob.length;
      usage.usedBlobs++;
    }
    return usage;
  });
}

/**
 * Whether a snapshot needs this blob. The type is not consulted: a file chunk that happens to equal a
 * serialized tree is stored once, under whichever type came first, and serves both.
 */
function isUsed(hex: string, reachable: ReachableBlobs): boolean {
  return reachable.trees.has(hex) || reachable.data.has(hex);
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
