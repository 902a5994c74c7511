/**
 * Walking snapshot trees: in order (for `ls` and `diff`), and as a set of reachable blobs (for
 * `check`, `prune` and `stats`, where each distinct tree is read once however many snapshots share it).
 */
import type { Repository } from './repository.js';
import type { TreeNode } from './tree.js';

export interface WalkedNode {
  /** Path inside the snapshot, starting with `/`. */
  readonly path: string;
  readonly node: TreeNode;
}

/**
 * Every node below `treeId`, depth-first, in name order (a directory before its content).
 *
 * @example for await (const { path, node } of walkTree(repo, snapshot.tree)) console.log(path)
 */
export async function* walkTree(repo: Repository, treeId: string, prefix = ''): AsyncGenerator<WalkedNode> {
  const tree = await repo.loadTree(treeId);
  for (const node of tree.nodes) {
    const path = `${prefix}/${node.name}`;
    yield { path, node };
    if (node.type === 'dir') yield* walkTree(repo, node.subtree!, path);
  }
}

export interface ReachableBlobs {
  /** Tree blob ids (hex). */
  readonly trees: Set<string>;
  /** Data blob ids (hex). */
  readonly data: Set<string>;
}

export interface CollectOptions {
  /** Called for a tree that cannot be loaded; the walk goes on without it. Default: throw. */
  readonly onTreeError?: (treeId: string, err: unknown) => void;
  readonly onTree?: (treesDone: number) => void;
  /** Trees loaded at once. */
  readonly concurrency?: number;
}

/** All blobs reachable from the given root trees. */
export async function collectReachable(
  repo: Repository,
  roots: readonly string[],
  options: CollectOptions = {},
): Promise<ReachableBlobs> {
  const reachable: ReachableBlobs = { trees: new Set(), data: new Set() };
  const queue: string[] = [];
  const enqueue = (id: string): void => {
    if (!reachable.trees.has(id)) {
      reachable.trees.add(id);
      queue.push(id);
    }
  };
  roots.forEach(enqueue);
  let done = 0;
  const worker = async (): Promise<void> => {
    for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
      try {
        const tree = await repo.loadTree(id);
        for (const node of tree.nodes) {
          if (node.type === 'dir') enqueue(node.subtree!);
          else if (node.type === 'file') for (const blob of node.content!) reachable.data.add(blob);
        }
      } catch (err) {
        if (!options.onTreeError) throw err;
        options.onTreeError(id, err);
      }
      options.onTree?.(++done);
    }
  };
  // Workers exit when the queue is momentarily empty; loop until no tree is left unread.
  while (queue.length > 0) {
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  }
  return reachable;
}
