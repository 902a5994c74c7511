import type { Command } from 'commander';
import { describeLock, listLocks, removeLocks } from '../../repository/lock.js';
import { runAction, withExamples } from '../command.js';

interface UnlockOptions {
  readonly removeAll?: boolean;
}

export function registerUnlock(program: Command): void {
  withExamples(
    program
      .command('unlock')
      .description('remove locks left by processes that are gone (stale locks)')
      .option('--remove-all', 'remove every lock, also those of running processes (only if you are sure)')
      .action(
        runAction(async (ctx, options: UnlockOptions) => {
          const repo = await ctx.openRepository();
          const locks = await listLocks(repo.storage, repo.keys, repo.lockTiming);
          const removed = locks.filter((lock) => options.removeAll || lock.stale);
          await removeLocks(repo.storage, removed.map((lock) => lock.id));
          ctx.output.result({ removed: removed.map((lock) => ({ id: lock.id, ...lock.info })) });
          for (const lock of removed) ctx.output.line(`removed lock: ${lock.info ? describeLock(lock.info) : `${lock.id} (unreadable)`}`);
          const kept = locks.length - removed.length;
          ctx.output.line(`${removed.length} lock(s) removed${kept > 0 ? `, ${kept} held by running processes kept` : ''}`);
        }),
      ),
    'failsafe unlock',
    'failsafe unlock --remove-all',
  );
}
