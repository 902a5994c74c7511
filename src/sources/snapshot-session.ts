/**
 * What every source does around its own work: pick the parent snapshot, and commit the snapshot
 * once all its blobs are stored and indexed.
 */
import { isErrorCode } from '../core/errors.js';
import { PROGRAM_VERSION, currentUsername } from '../core/identity.js';
import type { BlobWriter } from '../repository/blob-writer.js';
import type { Lock } from '../repository/lock.js';
import type { Repository } from '../repository/repository.js';
import type { Snapshot, SnapshotFilter, SnapshotManifest } from '../repository/snapshot.js';

export interface SnapshotDraft {
  readonly time: string;
  readonly host: string;
  readonly source: SnapshotManifest['source'];
  readonly paths: string[];
  readonly tags: string[];
  readonly tenant: string | null;
  readonly tree: string;
  readonly parent: string | null;
  readonly counts: { readonly files: number; readonly dirs: number; readonly bytes: number };
  readonly start: Date;
}

/**
 * `auto`: the newest snapshot matching `filter` (none if there is none); `none`: no parent;
 * otherwise a snapshot id or prefix.
 */
export async function resolveParent(repo: Repository, ref: string, filter: SnapshotFilter): Promise<Snapshot | undefined> {
  if (ref === 'none') return undefined;
  if (ref === 'auto') {
    try {
      return await repo.findSnapshot('latest', filter);
    } catch (err) {
      if (isErrorCode(err, 'NOT_FOUND')) return undefined;
      throw err;
    }
  }
  return repo.findSnapshot(ref);
}

/** Flushes the writer (packs, then index), checks the lock is still fresh, then writes the snapshot. */
export async function commitSnapshot(repo: Repository, writer: BlobWriter, lock: Lock, draft: SnapshotDraft): Promise<Snapshot> {
  await writer.flush();
  lock.assertFresh();
  const manifest: SnapshotManifest = {
    version: 1,
    time: draft.time,
    host: draft.host,
    username: currentUsername(),
    program: `failsafe ${PROGRAM_VERSION}`,
    source: draft.source,
    paths: draft.paths,
    tags: draft.tags,
    tenant: draft.tenant,
    tree: draft.tree,
    parent: draft.parent,
    summary: {
      ...draft.counts,
      newBlobs: writer.stats.newBlobs,
      newRawBytes: writer.stats.newRawBytes,
      newStoredBytes: writer.stats.newStoredBytes,
      start: draft.start.toISOString(),
      end: new Date().toISOString(),
    },
  };
  const id = await repo.saveSnapshot(manifest);
  return Object.freeze({ ...manifest, id });
}
