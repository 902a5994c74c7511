import { readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PASSWORD, type CliResult, cli, cliJson, collect, runCli, spawnCli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import { Repository } from '../../repository/repository.js';
import { openStorage } from '../../storage/open-storage.js';

describe('failsafe unlock', () => {
  let work: { path: string; remove: () => Promise<void> };
  let repo: string;
  const leaks = trackLeaks();

  beforeAll(async () => {
    work = await tempDir();
    repo = join(work.path, 'repo');
    await cli(['init', '--repo', repo]);
    await cli(['backup', '--repo', repo, '--stdin'], { input: 'some data\n' });
  });

  afterAll(async () => {
    await work.remove();
    await leaks.assertNoLeaks();
  });

  async function locks(): Promise<string[]> {
    return readdir(join(repo, 'locks')).catch(() => []);
  }

  /** A `backup --stdin` that holds its shared lock while it waits for input. */
  async function waitingBackup(): Promise<{ pid: number; lock: string; finish: (input?: string) => Promise<CliResult>; kill: () => Promise<CliResult> }> {
    const before = new Set(await locks());
    const child = spawnCli(['backup', '--repo', repo, '--stdin', '--stdin-name', 'late.txt']);
    const done = collect(child);
    let lock: string | undefined;
    for (let i = 0; i < 500 && lock === undefined; i++) {
      lock = (await locks()).find((id) => !before.has(id));
      if (lock === undefined) await sleep(10);
    }
    if (lock === undefined) {
      child.kill('SIGKILL');
      throw new Error(`the backup took no lock: ${(await done).stderr}`);
    }
    return {
      pid: child.pid!,
      lock,
      finish: (input = 'late data\n') => (child.stdin!.end(input), done),
      kill: () => (child.kill('SIGKILL'), done),
    };
  }

  it('removes the lock of a process that was killed', async () => {
    const backup = await waitingBackup();
    expect((await backup.kill()).signal).toBe('SIGKILL');
    expect(await locks()).toEqual([backup.lock]); // left behind

    const output = await cli(['unlock', '--repo', repo]);
    expect(output).toMatch(new RegExp(`^removed lock: backup on host ${escape(hostname())} \\(pid ${backup.pid}, user \\S+\\) since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC$`, 'm'));
    expect(output).toMatch(/^1 lock\(s\) removed$/m);
    expect(await locks()).toEqual([]);
    expect(await cli(['unlock', '--repo', repo])).toBe('0 lock(s) removed\n');
  });

  it('keeps the lock of a running process unless told --remove-all', async () => {
    const backup = await waitingBackup();
    try {
      expect(await cli(['unlock', '--repo', repo])).toBe('0 lock(s) removed, 1 held by running processes kept\n');
      expect(await locks()).toEqual([backup.lock]);

      const removed = await cliJson<{ removed: { id: string; kind: string; operation: string; pid: number }[] }>(['unlock', '--repo', repo, '--remove-all']);
      expect(removed.removed).toEqual([expect.objectContaining({ id: backup.lock, kind: 'shared', operation: 'backup', pid: backup.pid })]);
      expect(await locks()).toEqual([]);
    } finally {
      await backup.finish();
    }
  });

  it('refuses a second prune while another holds the exclusive lock, naming the holder (exit 11)', async () => {
    const storage = await openStorage(repo);
    try {
      const holder = await Repository.open(storage, TEST_PASSWORD);
      const lock = await holder.lock('exclusive', 'prune');
      try {
        const [prune, forgetPrune] = await Promise.all([
          runCli(['prune', '--repo', repo]),
          runCli(['forget', '--repo', repo, '--keep-last', '1', '--prune']),
        ]);
        for (const result of [prune, forgetPrune]) {
          expect(result.code, result.stderr).toBe(11);
          expect(result.stderr.trim().split('\n')).toHaveLength(1);
          expect(result.stderr).toContain(`repository is locked by prune on host ${hostname()} (pid ${process.pid}`);
          expect(result.stderr).toContain('failsafe unlock');
        }
        // Shared sessions are not blocked by it.
        await cli(['snapshots', '--repo', repo]);
        await cli(['backup', '--repo', repo, '--stdin'], { input: 'while pruning\n' });
        // A live exclusive lock is kept by unlock...
        expect(await cli(['unlock', '--repo', repo])).toBe('0 lock(s) removed, 1 held by running processes kept\n');
        // ...unless it has not been refreshed within the stale time.
        await sleep(1100);
        const stale = await cli(['unlock', '--repo', repo], { env: { FAILSAFE_LOCK_STALE_SECONDS: '1' } });
        expect(stale).toContain(`removed lock: prune on host ${hostname()} (pid ${process.pid}`);
        expect(await locks()).toEqual([]);
      } finally {
        await lock.release();
      }
    } finally {
      await storage.close();
    }
    const prune = await runCli(['prune', '--repo', repo]);
    expect(prune.code, prune.stderr).toBe(0);
  });

  it('does not let a stale exclusive lock block prune', async () => {
    const storage = await openStorage(repo);
    try {
      const holder = await Repository.open(storage, TEST_PASSWORD);
      const lock = await holder.lock('exclusive', 'prune');
      try {
        await sleep(1100);
        const prune = await runCli(['prune', '--repo', repo], { env: { FAILSAFE_LOCK_STALE_SECONDS: '1' } });
        expect(prune.code, prune.stderr).toBe(0);
      } finally {
        await lock.release();
      }
    } finally {
      await storage.close();
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
