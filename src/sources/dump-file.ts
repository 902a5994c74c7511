/**
 * Writes one file of a snapshot to a stream (`restore --stdout`): the single file of a stdin
 * snapshot, or any file named by its path in the snapshot.
 */
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { FailsafeError } from '../core/errors.js';
import { readContent } from '../repository/content.js';
import type { Repository } from '../repository/repository.js';
import type { Snapshot } from '../repository/snapshot.js';
import type { TreeNode } from '../repository/tree.js';

/**
 * @example await dumpFile(repo, snapshot, undefined, process.stdout)
 */
export async function dumpFile(repo: Repository, snapshot: Snapshot, path: string | undefined, output: Writable): Promise<number> {
  return repo.withLock('shared', 'restore', async () => {
    await repo.loadIndex();
    const node = await findFile(repo, snapshot, path);
    let bytes = 0;
    for await (const chunk of readContent(repo, node.content ?? [])) {
      bytes += chunk.length;
      if (!output.write(chunk)) await once(output, 'drain');
    }
    return bytes;
  });
}

async function findFile(repo: Repository, snapshot: Snapshot, path: string | undefined): Promise<TreeNode> {
  if (path === undefined) {
    const root = await repo.loadTree(snapshot.tree);
    const [only] = root.nodes;
    if (root.nodes.length === 1 && only?.type === 'file') return only;
    throw new FailsafeError('USAGE', 'this snapshot holds more than one file; name the file to write to stdout (--path)');
  }
  let treeId = snapshot.tree;
  const parts = path.split('/').filter((part) => part.length > 0);
  for (const [i, part] of parts.entries()) {
    const node = (await repo.loadTree(treeId)).nodes.find((candidate) => candidate.name === part);
    if (node && i === parts.length - 1 && node.type === 'file') return node;
    if (node?.type !== 'dir') break;
    treeId = node.subtree!;
  }
  throw new FailsafeError('NOT_FOUND', `no file ${path} in snapshot ${snapshot.id.slice(0, 8)}`);
}
