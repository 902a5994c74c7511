/**
 * SIGKILL of `backup` at random instants: afterwards `check` is clean, every earlier snapshot restores
 * byte-identical, and running the backup again completes.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EntryPrint, diffFingerprints, fingerprintTree, generateDataset, mutateDataset } from '../src/demo/dataset.js';
import type { Snapshot } from '../src/repository/snapshot.js';
import { cli, cliJson, collect, runCli, spawnCli, tempDir } from './cli.js';
import { trackLeaks } from './leak-check.js';

const TRIALS = 10;

describe('crash safety', () => {
  let work: { path: string; remove: () => Promise<void> };
  let repo: string;
  let source: string;
  const leaks = trackLeaks();
  /** What the source looked like for each completed snapshot. */
  const expected = new Map<string, Map<string, EntryPrint>>();

  /** How long a backup that reads everything takes here, start to exit. */
  let fullBackupMs = 0;

  beforeAll(async () => {
    work = await tempDir();
    repo = join(work.path, 'repo');
    source = join(work.path, 'source');
    await generateDataset(source, { bytes: 24 * 1024 * 1024, seed: 7 });
    await cli(['init', '--repo', repo]);
    const started = Date.now();
    await backupAndRecord();
    fullBackupMs = Date.now() - started;
  });

  afterAll(async () => {
    await work.remove();
    await leaks.assertNoLeaks();
  });

  async function backupAndRecord(): Promise<Snapshot> {
    const [{ snapshot }] = (await cliJson<{ snapshot: Snapshot }[]>(['backup', '--repo', repo, '--path', source])) as [
      { snapshot: Snapshot },
    ];
    expected.set(snapshot.id, await fingerprintTree(source));
    return snapshot;
  }

  async function assertRestoresIdentically(snapshotId: string): Promise<void> {
    const target = join(work.path, `restore-${snapshotId.slice(0, 8)}-${Date.now()}`);
    await cli(['restore', snapshotId, '--repo', repo, '--target', target]);
    const restored = await fingerprintTree(join(target, source));
    const differences = diffFingerprints(expected.get(snapshotId)!, restored).map(
      (path) => `${path}: expected ${JSON.stringify(expected.get(snapshotId)!.get(path))}, restored ${JSON.stringify(restored.get(path))}`,
    );
    expect(differences).toEqual([]);
  }

  it(`survives SIGKILL of backup at ${TRIALS} random instants`, async () => {
    const outcomes: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      await mutateDataset(source, { fraction: 0.02, seed: 100 + trial });
      await writeFile(join(source, `upload-${trial}.bin`), randomBytes(6 * 1024 * 1024));

      // --force reads every file, so each attempt takes about as long as the first backup did.
      const child = spawnCli(['backup', '--repo', repo, '--path', source, '--force']);
      const done = collect(child);
      child.stdin?.end();
      const delay = Math.floor(Math.random() * fullBackupMs * 0.9);
      await sleep(delay);
      child.kill('SIGKILL');
      const result = await done;
      outcomes.push(`${delay}ms:${result.signal ?? `exit ${result.code}`}`);

      const check = await runCli(['check', '--repo', repo]);
      expect(check.code, `trial ${trial} (${delay} ms): ${check.stdout}${check.stderr}`).toBe(0);
      const earlier = [...expected.keys()];
      await assertRestoresIdentically(earlier[earlier.length - 1]!);

      await backupAndRecord();
    }
    // At least some kills must have hit a running backup, or the test proved nothing.
    expect(outcomes.filter((outcome) => outcome.endsWith('SIGKILL')).length, outcomes.join(' ')).toBeGreaterThanOrEqual(TRIALS / 2);

    const full = await runCli(['check', '--repo', repo, '--read-data']);
    expect(full.code, full.stdout + full.stderr).toBe(0);
    const snapshots = [...expected.keys()];
    await assertRestoresIdentically(snapshots[0]!);
    await assertRestoresIdentically(snapshots[snapshots.length - 1]!);

    // Interrupted backups leave unindexed packs at most; prune removes them and the repository stays clean.
    await cli(['prune', '--repo', repo]);
    const afterPrune = await cliJson<{ ok: boolean; unindexedPacks: number }>(['check', '--repo', repo, '--read-data']);
    expect(afterPrune.ok).toBe(true);
    expect(afterPrune.unindexedPacks).toBe(0);
    await assertRestoresIdentically(snapshots[0]!);
  });
});
