/**
 * `stats`: how much the snapshots hold, how much the repository stores, and what deduplication and
 * compression saved.
 */
import type { Repository } from './repository.js';
import type { SnapshotFilter } from './snapshot.js';
import { collectReachable } from './tree-walk.js';

export interface RepositoryStats {
  readonly snapshots: number;
  /** Sum of every snapshot's content size: what restoring them all would write. */
  readonly restoreBytes: number;
  /** Distinct data blobs the snapshots use, and their original size. */
  readonly uniqueBlobs: number;
  readonly uniqueRawBytes: number;
  /** What those blobs occupy in packs (compressed and encrypted). */
  readonly uniqueStoredBytes: number;
  readonly packs: number;
  /** Size of all indexed packs, including data no snapshot uses any more. */
  readonly packBytes: number;
  /** restoreBytes / uniqueRawBytes. */
  readonly deduplicationRatio: number;
  /** uniqueRawBytes / uniqueStoredBytes. */
  readonly compressionRatio: number;
}

/**
 * @example const { deduplicationRatio } = await repositoryStats(repo)
 */
export async function repositoryStats(repo: Repository, filter: SnapshotFilter = {}): Promise<RepositoryStats> {
  return repo.withLock('shared', 'stats', async () => {
    const index = await repo.loadIndex();
    const snapshots = await repo.listSnapshots(filter);
    const reachable = await collectReachable(repo, snapshots.map((snapshot) => snapshot.tree));
    let uniqueRawBytes = 0;
    let uniqueStoredBytes = 0;
    for (const id of reachable.data) {
      const location = index.lookup(Buffer.from(id, 'hex'));
      if (!location) continue;
      uniqueRawBytes += location.rawLength;
      uniqueStoredBytes += location.length;
    }
    const restoreBytes = snapshots.reduce((sum, snapshot) => sum + snapshot.summary.bytes, 0);
    return {
      snapshots: snapshots.length,
      restoreBytes,
      uniqueBlobs: reachable.data.size,
      uniqueRawBytes,
      uniqueStoredBytes,
      packs: index.packCount,
      packBytes: index.packs().reduce((sum, pack) => sum + pack.size, 0),
      deduplicationRatio: uniqueRawBytes > 0 ? restoreBytes / uniqueRawBytes : 1,
      compressionRatio: uniqueStoredBytes > 0 ? uniqueRawBytes / uniqueStoredBytes : 1,
    };
  });
}
