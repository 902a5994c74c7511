/**
 * `forget`: removes snapshot manifests — named ones, or those a retention policy does not keep.
 * Data is freed by `prune` afterwards.
 */
import { FailsafeError } from '../core/errors.js';
import { type RetentionGroup, type RetentionPolicy, type SnapshotSummary, applyRetentionPolicy, isEmptyPolicy, validateRetentionPolicy } from './retention.js';
import type { Repository } from './repository.js';
import type { Snapshot, SnapshotFilter } from './snapshot.js';

export interface ForgetOptions {
  /** Snapshots to remove by id (prefixes allowed), in addition to the policy's decision. */
  readonly snapshotIds?: readonly string[];
  readonly policy?: RetentionPolicy;
  /** Only snapshots matching this are considered by the policy. */
  readonly filter?: SnapshotFilter;
  readonly dryRun?: boolean;
}

/** A snapshot as the retention logic sees it, pointing back to the manifest. */
export interface RetainedSnapshot extends SnapshotSummary {
  readonly snapshot: Snapshot;
}

export interface ForgetResult {
  readonly dryRun: boolean;
  /** The policy's decision per group (empty when no policy was given). */
  readonly groups: readonly RetentionGroup<RetainedSnapshot>[];
  /** Ids of the snapshots removed (or that would be, with dryRun). */
  readonly removed: readonly string[];
}

/**
 * @example await forget(repo, { policy: { keepDaily: 7, keepWeekly: 4 } })
 */
export async function forget(repo: Repository, options: ForgetOptions): Promise<ForgetResult> {
  const hasPolicy = options.policy !== undefined && !isEmptyPolicy(options.policy);
  if (!hasPolicy && (options.snapshotIds ?? []).length === 0) {
    throw new FailsafeError('USAGE', 'no snapshots given and no retention policy: nothing would be removed', {
      hint: 'name snapshots, or give --keep-* options (or a `retention` section in the config)',
    });
  }
  return repo.withLock('shared', 'forget', async () => {
    const removed = new Set<string>();
    for (const ref of options.snapshotIds ?? []) removed.add((await repo.findSnapshot(ref)).id);
    let groups: RetentionGroup<RetainedSnapshot>[] = [];
    if (hasPolicy) {
      validateRetentionPolicy(options.policy!);
      const snapshots = await repo.listSnapshots(options.filter ?? {});
      groups = applyRetentionPolicy(snapshots.map(toRetained), options.policy!);
      for (const group of groups) for (const snapshot of group.remove) removed.add(snapshot.id);
    }
    if (!options.dryRun) await repo.deleteSealed('snapshot', [...removed]);
    return { dryRun: options.dryRun ?? false, groups, removed: [...removed] };
  });
}

function toRetained(snapshot: Snapshot): RetainedSnapshot {
  return {
    id: snapshot.id,
    time: new Date(snapshot.time),
    host: snapshot.host,
    paths: snapshot.paths,
    tags: snapshot.tags,
    source: snapshot.source.name ?? snapshot.source.kind,
    ...(snapshot.tenant === null ? {} : { tenant: snapshot.tenant }),
    snapshot,
  };
}
