import { cp, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PASSWORD, cli, cliJson, runCli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import { diffFingerprints, fingerprintTree } from '../../demo/dataset.js';
import { packKey } from '../../repository/pack.js';
import { Repository } from '../../repository/repository.js';
import type { Snapshot } from '../../repository/snapshot.js';
import { walkTree } from '../../repository/tree-walk.js';
import { openStorage } from '../../storage/open-storage.js';

/** Where the first data blob of a file lives: its pack file and the record's offset. */
async function locate(repoPath: string, snapshotId: string, filePath: string): Promise<{ packFile: string; offset: number }> {
  const storage = await openStorage(repoPath);
  try {
    const repo = await Repository.open(storage, TEST_PASSWORD);
    const index = await repo.loadIndex();
    const snapshot = await repo.findSnapshot(snapshotId);
    for await (const { path, node } of walkTree(repo, snapshot.tree)) {
      if (path !== filePath) continue;
      const location = index.lookup(Buffer.from(node.content![0]!, 'hex'))!;
      return { packFile: join(repoPath, packKey(location.pack.id)), offset: location.offset + Math.floor(location.length / 2) };
    }
    throw new Error(`${filePath} not in snapshot`);
  } finally {
    await storage.close();
  }
}

async function flipByte(file: string, offset: number): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset);
    byte[0] = byte[0]! ^ 0x40;
    await handle.write(byte, 0, 1, offset);
  } finally {
    await handle.close();
  }
}

describe('failsafe check', () => {
  let work: { path: string; remove: () => Promise<void> };
  let pristine: string;
  let damagedSource: string;
  let healthySource: string;
  let damagedSnapshot: Snapshot;
  let healthySnapshot: Snapshot;
  const leaks = trackLeaks();

  beforeAll(async () => {
    work = await tempDir();
    pristine = join(work.path, 'pristine');
    damagedSource = join(work.path, 'orders');
    healthySource = join(work.path, 'invoices');
    await mkdir(damagedSource);
    await mkdir(healthySource);
    await writeFile(join(damagedSource, 'orders.csv'), 'order,amount\n'.repeat(200_000));
    await writeFile(join(damagedSource, 'readme.txt'), 'orders export\n');
    await writeFile(join(healthySource, 'invoices.csv'), 'invoice,total\n'.repeat(150_000));
    await cli(['init', '--repo', pristine]);
    [{ snapshot: damagedSnapshot }] = await cliJson<{ snapshot: Snapshot }[]>(['backup', '--repo', pristine, '--path', damagedSource]);
    [{ snapshot: healthySnapshot }] = await cliJson<{ snapshot: Snapshot }[]>(['backup', '--repo', pristine, '--path', healthySource]);
  });

  afterAll(async () => {
    await work.remove();
    await leaks.assertNoLeaks();
  });

  async function copyOfRepository(name: string): Promise<string> {
    const copy = join(work.path, name);
    await cp(pristine, copy, { recursive: true });
    return copy;
  }

  it('finds no errors in a healthy repository, also reading every byte', async () => {
    const result = await runCli(['check', '--repo', pristine, '--read-data']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('no errors found');
  });

  it('names the affected snapshot and path when one byte of a pack is flipped; other snapshots still restore', async () => {
    const repo = await copyOfRepository('flipped');
    const file = `${damagedSource}/orders.csv`;
    const { packFile, offset } = await locate(repo, damagedSnapshot.id, file);
    await flipByte(packFile, offset);

    const structural = await runCli(['check', '--repo', repo]);
    expect(structural.code).toBe(0); // the structure is intact; only reading the data finds this

    const result = await runCli(['check', '--repo', repo, '--read-data']);
    expect(result.code).toBe(3);
    expect(result.stdout).toContain(`damaged snapshot ${damagedSnapshot.id.slice(0, 8)}`);
    expect(result.stdout).toContain(file);
    expect(result.stdout).not.toContain(`damaged snapshot ${healthySnapshot.id.slice(0, 8)}`);
    expect(result.stdout).not.toContain('readme.txt');

    const target = join(work.path, 'restore-healthy');
    await cli(['restore', healthySnapshot.id, '--repo', repo, '--target', target]);
    expect(diffFingerprints(await fingerprintTree(healthySource), await fingerprintTree(join(target, healthySource)))).toEqual([]);

    const damagedRestore = await runCli(['restore', damagedSnapshot.id, '--repo', repo, '--target', join(work.path, 'restore-damaged')]);
    expect(damagedRestore.code).toBe(3);
    expect(damagedRestore.stderr).toContain('orders.csv');
  });

  it('reports a missing pack, names what it breaks, and leaves the rest restorable', async () => {
    const repo = await copyOfRepository('missing');
    const { packFile } = await locate(repo, damagedSnapshot.id, `${damagedSource}/orders.csv`);
    await rm(packFile);

    const result = await runCli(['check', '--repo', repo]);
    expect(result.code).toBe(3);
    expect(result.stdout).toContain('missing from storage');
    expect(result.stdout).toContain(`damaged snapshot ${damagedSnapshot.id.slice(0, 8)}`);
    expect(result.stdout).toContain(`${damagedSource}/orders.csv`);
    expect(result.stdout).not.toContain(`damaged snapshot ${healthySnapshot.id.slice(0, 8)}`);

    const target = join(work.path, 'restore-after-loss');
    await cli(['restore', healthySnapshot.id, '--repo', repo, '--target', target]);
    expect(diffFingerprints(await fingerprintTree(healthySource), await fingerprintTree(join(target, healthySource)))).toEqual([]);
  });

  it('verifies a subset of the packs with --read-data-subset', async () => {
    const all = await cliJson<{ packsRead: number; packs: number }>(['check', '--repo', pristine, '--read-data-subset', '100%']);
    expect(all.packsRead).toBe(all.packs);
    const none = await cliJson<{ packsRead: number }>(['check', '--repo', pristine, '--read-data-subset', '0%']);
    expect(none.packsRead).toBe(0);
    const parts = await Promise.all(
      [1, 2, 3].map((part) => cliJson<{ packsRead: number }>(['check', '--repo', pristine, '--read-data-subset', `${part}/3`])),
    );
    expect(parts.reduce((sum, part) => sum + part.packsRead, 0)).toBe(all.packs);
    const bad = await runCli(['check', '--repo', pristine, '--read-data-subset', '4/3']);
    expect(bad.code).toBe(2);
  });
});
