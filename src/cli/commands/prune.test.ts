import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliJson, collect, runCli, spawnCli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import { diffFingerprints, fingerprintTree } from '../../demo/dataset.js';
import type { PrunePlan, PruneResult } from '../../repository/prune.js';
import type { Snapshot } from '../../repository/snapshot.js';

const MiB = 1024 * 1024;

describe('failsafe prune', () => {
  let work: { path: string; remove: () => Promise<void> };
  /** After the setup: S1 (files A, B) and S3 (a dump) forgotten, S2 (file A only) kept. */
  let pristine: string;
  let source: string;
  let kept: Snapshot;
  /** The pack holding A and B: half of it is used by S2. */
  let halfUsedPack: string;
  /** Packs written by the forgotten dump backup: nothing uses them. */
  let unusedPacks: string[];
  /** Packs written for S2 alone. */
  let keptPacks: string[];
  let copies = 0;
  const leaks = trackLeaks();

  async function backup(args: string[], input?: Buffer): Promise<{ snapshot: Snapshot; packs: string[] }> {
    const before = new Set(await packFiles(pristine));
    const [{ snapshot }] = (await cliJson<{ snapshot: Snapshot }[]>(['backup', '--repo', pristine, ...args], input ? { input } : {})) as [
      { snapshot: Snapshot },
    ];
    return { snapshot, packs: (await packFiles(pristine)).filter((pack) => !before.has(pack)) };
  }

  beforeAll(async () => {
    work = await tempDir();
    pristine = join(work.path, 'pristine');
    source = join(work.path, 'source');
    await mkdir(source);
    await writeFile(join(source, 'a.bin'), randomBytes(2 * MiB));
    await writeFile(join(source, 'b.bin'), randomBytes(2 * MiB));
    await cli(['init', '--repo', pristine]);
    const s1 = await backup(['--path', source]);
    await rm(join(source, 'b.bin'));
    const s2 = await backup(['--path', source]);
    const s3 = await backup(['--stdin', '--stdin-name', 'dump.sql'], randomBytes(1 * MiB));
    await cli(['forget', '--repo', pristine, s1.snapshot.id, s3.snapshot.id]);
    kept = s2.snapshot;
    keptPacks = s2.packs;
    unusedPacks = s3.packs;
    const sizes = await Promise.all(s1.packs.map(async (pack) => (await readFile(join(pristine, pack))).length));
    halfUsedPack = s1.packs[sizes.indexOf(Math.max(...sizes))]!;
    expect(Math.max(...sizes)).toBeGreaterThan(4 * MiB);
  });

  afterAll(async () => {
    await work.remove();
    await leaks.assertNoLeaks();
  });

  async function copyOfPristine(): Promise<string> {
    const copy = join(work.path, `copy-${++copies}`);
    await cp(pristine, copy, { recursive: true });
    return copy;
  }

  async function assertHealthyAndRestorable(repo: string): Promise<void> {
    const check = await runCli(['check', '--repo', repo, '--read-data']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const target = join(work.path, `restore-${++copies}`);
    await cli(['restore', kept.id, '--repo', repo, '--target', target]);
    expect(diffFingerprints(await fingerprintTree(source), await fingerprintTree(join(target, source)))).toEqual([]);
  }

  it('changes nothing with --dry-run, and says what it would do', async () => {
    const before = await listing(pristine);
    const result = await runCli(['prune', '--repo', pristine, '--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    expect(await listing(pristine)).toEqual(before);
    expect(result.stdout).toMatch(/^would delete: \d+ unused packs \(/m);
    expect(result.stdout).toMatch(/^would repack: 1 packs \(/m);
    expect(result.stdout).not.toMatch(/^deleted /m);

    const json = await cliJson<PruneResult>(['prune', '--repo', pristine, '--dry-run']);
    expect(json).toMatchObject({ dryRun: true, packsDeleted: 0, bytesDeleted: 0, packsWritten: 0 });
    expect(json.plan.deletePacks).toBeGreaterThanOrEqual(unusedPacks.length);
    expect(json.plan.repackPacks).toBe(1);
    expect(json.plan.unindexedPacks).toBe(0);
    expect(await listing(pristine)).toEqual(before);
  });

  it('deletes the packs forgotten snapshots used and keeps a half-used pack below --repack-below', async () => {
    const repo = await copyOfPristine();
    const sizeBefore = await directorySize(repo);
    const result = await cliJson<PruneResult>(['prune', '--repo', repo, '--repack-below', '10%']);
    expect(result.plan.repackPacks).toBe(0);
    expect(result.plan.keptUnusedBytes).toBeGreaterThan(1.9 * MiB); // B is still in the kept pack
    expect(result.packsDeleted).toBe(result.plan.deletePacks);
    expect(result.packsWritten).toBe(0);
    expect(result.marksPending).toBe(0);
    const packs = await packFiles(repo);
    for (const pack of unusedPacks) expect(packs).not.toContain(pack);
    expect(packs).toContain(halfUsedPack);
    for (const pack of keptPacks) expect(packs).toContain(pack);
    expect(sizeBefore - (await directorySize(repo))).toBeGreaterThan(1 * MiB); // the forgotten dump
    await assertHealthyAndRestorable(repo);

    const again = await cliJson<PruneResult>(['prune', '--repo', repo, '--repack-below', '10%']);
    expect(again.plan.deletePacks).toBe(0);
    expect(again.packsDeleted).toBe(0);
  });

  it('rewrites a pack whose used share is below --repack-below, freeing the unused half', async () => {
    const repo = await copyOfPristine();
    const sizeBefore = await directorySize(repo);
    const output = await cli(['prune', '--repo', repo, '--repack-below', '60%']);
    expect(output).toMatch(/^to repack: 1 packs \(/m);
    expect(output).toMatch(/^deleted \d+ packs \(.*\), wrote 1 new packs$/m);
    const packs = await packFiles(repo);
    expect(packs).not.toContain(halfUsedPack);
    for (const pack of unusedPacks) expect(packs).not.toContain(pack);
    // A (2 MiB) was copied, B (2 MiB) and the dump (1 MiB) are gone.
    expect(sizeBefore - (await directorySize(repo))).toBeGreaterThan(2.9 * MiB);
    await assertHealthyAndRestorable(repo);
    const after = await cliJson<{ plan: PrunePlan }>(['prune', '--repo', repo, '--dry-run', '--repack-below', '60%']);
    expect(after.plan.deletePacks).toBe(0);
    expect(after.plan.keptUnusedBytes).toBe(0);
  });

  it('has nothing left to do when run right after a prune', async () => {
    const repo = join(work.path, 'small');
    await cli(['init', '--repo', repo]);
    await cli(['backup', '--repo', repo, '--stdin'], { input: 'hi\n' });
    await cli(['prune', '--repo', repo]);
    const second = await cliJson<PruneResult>(['prune', '--repo', repo]);
    expect(second.plan.repackPacks).toBe(0);
    expect(second.packsWritten).toBe(0);
    expect(second.packsDeleted).toBe(0);
  });

  it('rejects a --repack-below that is not a percentage, exit 2', async () => {
    const result = await runCli(['prune', '--repo', pristine, '--repack-below', '150%']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('invalid percentage "150%"');
  });

  it('deletes packs that an interrupted backup stored but never indexed', async () => {
    const repo = await copyOfPristine();
    const before = new Set(await packFiles(repo));
    // A backup that has stored a full pack (16 MiB) and is still reading: killed before it writes an index.
    const child = spawnCli(['backup', '--repo', repo, '--stdin', '--stdin-name', 'big.dump']);
    const done = collect(child);
    child.stdin!.on('error', () => undefined); // EPIPE once it is killed with data still buffered
    child.stdin!.write(randomBytes(24 * MiB));
    let orphan: string | undefined;
    for (let i = 0; i < 1000 && orphan === undefined; i++) {
      orphan = (await packFiles(repo)).find((pack) => !before.has(pack));
      if (orphan === undefined) await sleep(20);
    }
    child.kill('SIGKILL');
    expect((await done).signal).toBe('SIGKILL');
    expect(orphan, 'the backup stored no pack before it was killed').toBeDefined();

    const check = await cliJson<{ ok: boolean; unindexedPacks: number }>(['check', '--repo', repo]);
    expect(check.ok).toBe(true);
    expect(check.unindexedPacks).toBeGreaterThanOrEqual(1);

    const output = await cli(['prune', '--repo', repo, '--repack-below', '0']);
    expect(output).toMatch(/^unindexed packs from interrupted backups: [1-9]\d* \(/m);
    const packs = await packFiles(repo);
    expect(packs).not.toContain(orphan);
    expect(packs.filter((pack) => !before.has(pack))).toEqual([]);
    const after = await cliJson<{ ok: boolean; unindexedPacks: number }>(['check', '--repo', repo]);
    expect(after).toMatchObject({ ok: true, unindexedPacks: 0 });
    await assertHealthyAndRestorable(repo);
  });
});

/** Pack files of a directory repository, as paths relative to it (`data/xx/<id>`). */
async function packFiles(repo: string): Promise<string[]> {
  const entries = await readdir(join(repo, 'data'), { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(repo, join(entry.parentPath, entry.name))).sort();
}

/** Every file of a repository with a hash of its content. */
async function listing(repo: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const entry of await readdir(repo, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    result[relative(repo, path)] = createHash('sha256').update(await readFile(path)).digest('hex');
  }
  return result;
}

async function directorySize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await readFile(join(entry.parentPath, entry.name))).length;
  }
  return total;
}
