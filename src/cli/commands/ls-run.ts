/**
 * What `failsafe ls` does (its options are declared in ls.ts).
 */
import { FailsafeError } from '../../core/errors.js';
import { formatBytes, formatTime } from '../../core/units.js';
import { shortId } from '../../repository/snapshot.js';
import type { TreeNode } from '../../repository/tree.js';
import { walkTree } from '../../repository/tree-walk.js';
import type { CommandContext } from '../context.js';

interface LsOptions {
  readonly long?: boolean;
}

export async function runLs(ctx: CommandContext, ref: string, path: string | undefined, options: LsOptions): Promise<void> {
  const repo = await ctx.openRepository();
  await repo.withLock('shared', 'ls', async () => {
    await repo.loadIndex();
    const snapshot = await repo.findSnapshot(ref);
    const prefix = path ? `/${path.replace(/^\/+|\/+$/g, '')}` : '';
    const entries: { path: string; node: TreeNode }[] = [];
    let matched = 0;
    for await (const entry of walkTree(repo, snapshot.tree)) {
      if (prefix && entry.path !== prefix && !entry.path.startsWith(`${prefix}/`)) continue;
      matched++;
      if (ctx.output.json) entries.push(entry);
      else ctx.output.line(options.long ? longLine(entry.path, entry.node) : entry.path);
    }
    if (prefix && matched === 0) {
      throw new FailsafeError('NOT_FOUND', `${prefix} is not in snapshot ${shortId(snapshot.id)}`, {
        hint: `paths in a snapshot are absolute; run \`failsafe ls ${shortId(snapshot.id)}\` to see them`,
      });
    }
    ctx.output.result(
      entries.map(({ path: entryPath, node }) => ({
        path: entryPath,
        type: node.type,
        size: node.size ?? 0,
        mode: node.mode,
        mtime: node.mtime,
        uid: node.uid,
        gid: node.gid,
        ...(node.target === undefined ? {} : { target: node.target }),
      })),
    );
  });
}

function longLine(path: string, node: TreeNode): string {
  const type = node.type === 'dir' ? 'd' : node.type === 'symlink' ? 'l' : '-';
  const mode = `${type}${modeString(node.mode)}`;
  const size = node.type === 'file' ? formatBytes(node.size ?? 0) : '';
  const link = node.type === 'symlink' ? ` -> ${node.target}` : '';
  return `${mode} ${String(node.uid).padStart(5)} ${String(node.gid).padStart(5)} ${size.padStart(10)} ${formatTime(node.mtime)} ${path}${link}`;
}

/** `rwxr-xr-x`, with setuid/setgid/sticky shown as `ls -l` does (`s`/`S`, `t`/`T`). */
export function modeString(mode: number): string {
  const chars = [...'rwxrwxrwx'].map((char, i) => (mode & (1 << (8 - i)) ? char : '-'));
  const special = (bit: number, position: number, letter: string): void => {
    if (mode & bit) chars[position] = chars[position] === 'x' ? letter : letter.toUpperCase();
  };
  special(0o4000, 2, 's');
  special(0o2000, 5, 's');
  special(0o1000, 8, 't');
  return chars.join('');
}
