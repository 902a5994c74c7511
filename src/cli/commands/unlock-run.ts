/**
 * What `failsafe unlock` does (its options are declared in unlock.ts).
 */
import { describeLock, listLocks, removeLocks } from '../../repository/lock.js';
import type { CommandContext } from '../context.js';

interface UnlockOptions {
  readonly removeAll?: boolean;
}

export async function runUnlock(ctx: CommandContext, options: UnlockOptions): Promise<void> {
  const repo = await ctx.openRepository();
  const locks = await listLocks(repo.storage, repo.keys, repo.lockTiming);
  const removed = locks.filter((lock) => options.removeAll || lock.stale);
  await removeLocks(repo.storage, removed.map((lock) => lock.id));
  ctx.output.result({ removed: removed.map((lock) => ({ id: lock.id, ...lock.info })) });
  for (const lock of removed) ctx.output.line(`removed lock: ${lock.info ? describeLock(lock.info) : `${lock.id} (unreadable)`}`);
  const kept = locks.length - removed.length;
  ctx.output.line(`${removed.length} lock(s) removed${kept > 0 ? `, ${kept} held by running processes kept` : ''}`);
}
