/**
 * Several processes on one repository: backups never block each other, and a prune that runs while a
 * backup is using data it considers garbage does not lose that data.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffFingerprints, fingerprintTree, generateDataset } from '../src/demo/dataset.js';
import type { Snapshot } from '../src/repository/snapshot.js';
import { cli, cliJson, collect, runCli, spawnCli, tempDir } from './cli.js';
import { trackLeaks } from './leak-check.js';

describe('concurrent processes', () => {
  let work: { path: string; remove: () => Promise<void> };
  const leaks = trackLeaks();

  beforeAll(async () => {
    work = await tempDir();
  });

  afterAll(async () => {
    await work.remove();
    await leaks.assertNoLeaks();
  });

  async function assertRestores(repo: string, snapshot: Snapshot, source: string): Promise<void> {
    const target = join(work.path, `restore-${snapshot.id.slice(0, 8)}`);
    await cli(['restore', snapshot.id, '--repo', repo, '--target', target]);
    expect(diffFingerprints(await fingerprintTree(source), await fingerprintTree(join(target, source)))).toEqual([]);
  }

  it('runs two backups at the same time; both complete and both restore', async () => {
    const repo = join(work.path, 'two-backups');
    const [a, b] = [join(work.path, 'source-a'), join(work.path, 'source-b')];
    await generateDataset(a, { bytes: 16 * 1024 * 1024, seed: 1 });
    await generateDataset(b, { bytes: 16 * 1024 * 1024, seed: 2 });
    await cli(['init', '--repo', repo]);
    const children = [a, b].map((source) => spawnCli(['backup', '--repo', repo, '--path', source, '--json']));
    const results = await Promise.all(children.map((child) => (child.stdin?.end(), collect(child))));
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const [snapshotA, snapshotB] = results.map((result) => (JSON.parse(result.stdout) as { snapshot: Snapshot }[])[0]!.snapshot);
    const check = await runCli(['check', '--repo', repo, '--read-data']);
    expect(check.code, check.stdout).toBe(0);
    await assertRestores(repo, snapshotA!, a);
    await assertRestores(repo, snapshotB!, b);
  });

  it('keeps data a running backup reuses even though a prune saw it as garbage', async () => {
    const repo = join(work.path, 'prune-during-backup');
    const dump = Buffer.concat([randomBytes(12 * 1024 * 1024), Buffer.alloc(8 * 1024 * 1024, 'row\n')]);
    await cli(['init', '--repo', repo]);
    const [{ snapshot: first }] = (await cliJson<{ snapshot: Snapshot }[]>(['backup', '--repo', repo, '--stdin', '--stdin-name', 'db.dump'], {
      input: dump,
    })) as [{ snapshot: Snapshot }];
    // Forget the only snapshot: all its data is now garbage to a prune...
    await cli(['forget', first.id, '--repo', repo]);
    // ...while a backup session that loaded the index before the prune is about to reuse exactly that data.
    const backup = spawnCli(['backup', '--repo', repo, '--stdin', '--stdin-name', 'db.dump', '--json']);
    const backupDone = collect(backup);
    await waitForLock(repo);
    await sleep(300); // the session has loaded the index and now waits for standard input

    const duringBackup = await cliJson<{ marksPending: number; packsDeleted: number; plan: { deletePacks: number } }>(['prune', '--repo', repo]);
    expect(duringBackup.plan.deletePacks, 'the forgotten data is garbage to this prune').toBeGreaterThan(0);
    expect(duringBackup.marksPending, 'prune must not delete while the backup session is live').toBe(1);
    expect(duringBackup.packsDeleted).toBe(0);

    backup.stdin?.end(dump);
    const backupResult = await backupDone;
    expect(backupResult.code, backupResult.stderr).toBe(0);
    const [{ snapshot: second }] = JSON.parse(backupResult.stdout) as [{ snapshot: Snapshot }];
    expect(second.summary.newBlobs, 'the backup reused the old data instead of storing it again').toBeLessThanOrEqual(2);

    // The next prune sees the backup has ended: it puts back what the new snapshot needs and deletes the rest.
    const afterBackup = await cliJson<{ marksPending: number; packsRestored: number }>(['prune', '--repo', repo]);
    expect(afterBackup.marksPending).toBe(0);
    expect(afterBackup.packsRestored).toBeGreaterThan(0);
    const check = await runCli(['check', '--repo', repo, '--read-data']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const restored = await runCli(['restore', second.id, '--repo', repo, '--stdout']);
    expect(restored.code).toBe(0);
    expect(restored.stdoutBytes.equals(dump)).toBe(true);
  });
});

/** Waits until some process holds a lock in a directory repository. */
async function waitForLock(repo: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const locks = await readdir(join(repo, 'locks')).catch(() => [] as string[]);
    if (locks.length > 0) return;
    await sleep(10);
  }
  throw new Error('no lock appeared');
}
