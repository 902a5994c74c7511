/**
 * Differences between two snapshot trees. Identical subtrees share an id and are skipped without
 * being read, so diffing two snapshots of a large, mostly unchanged tree is cheap.
 */
import type { Repository } from './repository.js';
import { type TreeNode } from './tree.js';
import { walkTree } from './tree-walk.js';

export type ChangeKind =
  /** Only in the second snapshot. */
  | 'added'
  /** Only in the first snapshot. */
  | 'removed'
  /** Content (or symlink target, or type) differs. */
  | 'modified'
  /** Same content; mode, owner or mtime differ. */
  | 'metadata';

export interface TreeChange {
  readonly path: string;
  readonly change: ChangeKind;
  readonly type: TreeNode['type'];
  readonly before?: TreeNode;
  readonly after?: TreeNode;
}

/**
 * @example for await (const change of diffTrees(repo, a.tree, b.tree)) console.log(change.change, change.path)
 */
export async function* diffTrees(repo: Repository, before: string, after: string, prefix = ''): AsyncGenerator<TreeChange> {
  if (before === after) return;
  const [a, b] = await Promise.all([repo.loadTree(before), repo.loadTree(after)]);
  const beforeNodes = new Map(a.nodes.map((node) => [node.name, node]));
  const afterNodes = new Map(b.nodes.map((node) => [node.name, node]));
  const names = [...new Set([...beforeNodes.keys(), ...afterNodes.keys()])].sort();
  for (const name of names) {
    const path = `${prefix}/${name}`;
    const old = beforeNodes.get(name);
    const now = afterNodes.get(name);
    if (!old) {
      yield* allBelow(repo, path, now!, 'added');
    } else if (!now) {
      yield* allBelow(repo, path, old, 'removed');
    } else if (old.type !== now.type) {
      yield* allBelow(repo, path, old, 'removed');
      yield* allBelow(repo, path, now, 'added');
    } else if (old.type === 'dir') {
      if (metadataDiffers(old, now)) yield { path, change: 'metadata', type: 'dir', before: old, after: now };
      yield* diffTrees(repo, old.subtree!, now.subtree!, path);
    } else if (contentDiffers(old, now)) {
      yield { path, change: 'modified', type: now.type, before: old, after: now };
    } else if (metadataDiffers(old, now)) {
      yield { path, change: 'metadata', type: now.type, before: old, after: now };
    }
  }
}

async function* allBelow(repo: Repository, path: string, node: TreeNode, change: 'added' | 'removed'): AsyncGenerator<TreeChange> {
  const side = change === 'added' ? 'after' : 'before';
  yield { path, change, type: node.type, [side]: node };
  if (node.type === 'dir') {
    for await (const child of walkTree(repo, node.subtree!, path)) {
      yield { path: child.path, change, type: child.node.type, [side]: child.node };
    }
  }
}

function contentDiffers(a: TreeNode, b: TreeNode): boolean {
  if (a.type === 'symlink') return a.target !== b.target;
  const left = a.content ?? [];
  const right = b.content ?? [];
  return left.length !== right.length || left.some((id, i) => id !== right[i]);
}

function metadataDiffers(a: TreeNode, b: TreeNode): boolean {
  return a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.mtime !== b.mtime;
}
