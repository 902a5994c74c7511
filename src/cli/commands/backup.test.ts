import { chmod, mkdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliJson, runCli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import { diffFingerprints, fingerprintTree } from '../../demo/dataset.js';
import type { Snapshot } from '../../repository/snapshot.js';

describe('failsafe backup', () => {
  let work: { path: string; remove: () => Promise<void> };
  let repo: string;
  let source: string;
  const leaks = trackLeaks();

  beforeAll(async () => {
    work = await tempDir();
    repo = join(work.path, 'repo');
    source = join(work.path, 'source');
    await mkdir(join(source, 'dir', 'nested'), { recursive: true });
    await mkdir(join(source, 'empty'));
    await writeFile(join(source, 'dir', 'text.txt'), 'hello failsafe\n');
    await writeFile(join(source, 'dir', 'nested', 'big.bin'), Buffer.alloc(5 * 1024 * 1024, 7));
    await writeFile(join(source, 'zero-bytes'), '');
    await writeFile(join(source, 'script.sh'), '#!/bin/sh\necho hi\n');
    await chmod(join(source, 'script.sh'), 0o750);
    await symlink('dir/text.txt', join(source, 'link-to-text'));
    await symlink('/nonexistent/target', join(source, 'dangling'));
    await utimes(join(source, 'dir', 'text.txt'), new Date('2020-02-03T04:05:06.789Z'), new Date('2020-02-03T04:05:06.789Z'));
    await cli(['init', '--repo', repo]);
  });

  afterAll(async () => {
    await work.remove();
    await leaks.assertNoLeaks();
  });

  it('stores files, directories, empty directories, symlinks, modes and mtimes, and restores them identically', async () => {
    const [result] = await cliJson<{ snapshot: Snapshot }[]>(['backup', '--repo', repo, '--path', source, '--tag', 'first']);
    expect(result!.snapshot.summary.files).toBe(4);
    expect(result!.snapshot.tags).toEqual(['first']);
    const target = join(work.path, 'restore-1');
    expect(await cli(['restore', 'latest', '--repo', repo, '--target', target])).toMatch(/: 4 files, /);
    const differences = diffFingerprints(await fingerprintTree(source), await fingerprintTree(join(target, source)));
    expect(differences).toEqual([]);
    const one = ['restore', 'latest', '--repo', repo, '--target', join(work.path, 'restore-one'), '--include', join(source, 'zero-bytes')];
    expect(await cli([...one, '--dry-run'])).toMatch(/: 1 file, \d+ director(y|ies), 0 symlinks, /);
    expect(await cli(one)).toMatch(/: 1 file, /);
  });

  it('reads only changed files the second time and deduplicates their unchanged chunks', async () => {
    await writeFile(join(source, 'dir', 'text.txt'), 'hello again\n');
    const [result] = await cliJson<{ snapshot: Snapshot }[]>(['backup', '--repo', repo, '--path', source]);
    const snapshot = result!.snapshot;
    expect(snapshot.parent).not.toBeNull();
    // The 5 MiB file is unchanged: nothing of it is stored again.
    expect(snapshot.summary.newRawBytes).toBeLessThan(64 * 1024);
    const listing = await cli(['ls', 'latest', '--repo', repo]);
    expect(listing).toContain(`${source}/dir/nested/big.bin`);
    expect(listing).toContain(`${source}/empty`);
  });

  it('backs up standard input and writes it back with restore --stdout', async () => {
    const payload = Buffer.concat([Buffer.from('-- dump\n'), Buffer.alloc(3 * 1024 * 1024, 'x')]);
    const [result] = await cliJson<{ snapshot: Snapshot }[]>(['backup', '--repo', repo, '--stdin', '--stdin-name', 'app.sql'], {
      input: payload,
    });
    expect(result!.snapshot.paths).toEqual(['/app.sql']);
    const restored = await runCli(['restore', result!.snapshot.id.slice(0, 8), '--repo', repo, '--stdout']);
    expect(restored.code).toBe(0);
    expect(restored.stdoutBytes.equals(payload)).toBe(true);
  });

  it('excludes files by name pattern and by path pattern', async () => {
    await writeFile(join(source, 'skip.tmp'), 'temporary');
    await cli(['backup', '--repo', repo, '--path', source, '--exclude', '*.tmp', '--exclude', `${source}/dir/nested`]);
    const listing = await cli(['ls', 'latest', '--repo', repo]);
    expect(listing).not.toContain('skip.tmp');
    expect(listing).not.toContain('nested');
    expect(listing).toContain(`${source}/dir/text.txt`);
  });

  it('reports unreadable files, keeps the rest, and exits 4', async () => {
    // As root every permission check passes, so use a file the kernel refuses to read instead.
    let unreadable = '/proc/self/mem';
    if (process.getuid?.() !== 0) {
      unreadable = join(work.path, 'unreadable');
      await writeFile(unreadable, 'x');
      await chmod(unreadable, 0);
    }
    const result = await runCli(['backup', '--repo', repo, '--path', source, '--path', unreadable, '--json']);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`warning: ${unreadable}`);
    expect(result.stderr).toContain('1 file could not be read');
    const [{ snapshot }] = JSON.parse(result.stdout) as [{ snapshot: Snapshot }];
    const listing = await cli(['ls', snapshot.id, '--repo', repo]);
    expect(listing).toContain(`${source}/dir/text.txt`);
    expect(listing).not.toContain(unreadable);
  });

  it('refuses bad input with one line and exit code 2', async () => {
    const noPath = await runCli(['backup', '--repo', repo]);
    expect(noPath.code).toBe(2);
    expect(noPath.stderr.trim().split('\n')).toHaveLength(1);
    expect(noPath.stderr).toContain('nothing to back up');
    const both = await runCli(['backup', '--repo', repo, '--stdin', '--path', source]);
    expect(both.code).toBe(2);
    const badName = await runCli(['backup', '--repo', repo, '--stdin', '--stdin-name', '../evil'], { input: 'x' });
    expect(badName.code).toBe(2);
  });

  it('never stores plaintext: a marker in the data appears in no repository file', async () => {
    const marker = 'PLAINTEXT-MARKER-7f3c9a1e';
    await writeFile(join(source, 'marker.txt'), `${marker}\n`.repeat(1000));
    await writeFile(join(source, `${marker}.name`), 'the file name is a marker too');
    await cli(['backup', '--repo', repo, '--path', source, '--tag', marker]);
    const files = await fingerprintTree(repo);
    expect(files.size).toBeGreaterThan(5);
    for (const path of files.keys()) {
      if (path.endsWith('/')) continue;
      const content = await readFile(join(repo, path));
      expect(content.includes(marker), path).toBe(false);
      expect(content.includes(Buffer.from(marker).toString('base64').slice(0, 16)), path).toBe(false);
    }
  });
});
