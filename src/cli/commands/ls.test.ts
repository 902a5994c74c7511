import { chmod, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliJson, runCli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import type { Snapshot } from '../../repository/snapshot.js';

interface LsEntry {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink';
  readonly size: number;
  readonly mode: number;
  readonly mtime: string;
  readonly uid: number;
  readonly gid: number;
  readonly target?: string;
}

const MTIME = new Date('2021-05-06T07:08:09.250Z');

describe('failsafe ls', () => {
  let work: { path: string; remove: () => Promise<void> };
  let repo: string;
  let source: string;
  let snapshot: Snapshot;
  const leaks = trackLeaks();

  beforeAll(async () => {
    work = await tempDir();
    repo = join(work.path, 'repo');
    source = join(work.path, 'source');
    await mkdir(join(source, 'etc', 'nested'), { recursive: true });
    await mkdir(join(source, 'bin'));
    await mkdir(join(source, 'shared'));
    await writeFile(join(source, 'etc', 'app.conf'), 'hello\n');
    await writeFile(join(source, 'etc', 'nested', 'deep.txt'), 'deep');
    await writeFile(join(source, 'bin', 'run.sh'), '#!/bin/sh\n');
    await writeFile(join(source, 'private.key'), 'k'.repeat(3000));
    await symlink('etc/app.conf', join(source, 'current'));
    await chmod(join(source, 'etc', 'app.conf'), 0o644);
    await chmod(join(source, 'bin', 'run.sh'), 0o755);
    await chmod(join(source, 'private.key'), 0o600);
    await chmod(join(source, 'etc'), 0o750);
    await chmod(join(source, 'shared'), 0o1777);
    await utimes(join(source, 'etc', 'app.conf'), MTIME, MTIME);
    await cli(['init', '--repo', repo]);
    [{ snapshot }] = (await cliJson<{ snapshot: Snapshot }[]>(['backup', '--repo', repo, '--path', source])) as [{ snapshot: Snapshot }];
  });

  afterAll(async () => {
    await work.remove();
    await leaks.assertNoLeaks();
  });

  it('lists every path of the snapshot depth-first in name order, from the root down', async () => {
    const lines = (await cli(['ls', 'latest', '--repo', repo])).trimEnd().split('\n');
    const below = lines.filter((line) => line.startsWith(`${source}/`)).map((line) => line.slice(source.length));
    expect(below).toEqual([
      '/bin',
      '/bin/run.sh',
      '/current',
      '/etc',
      '/etc/app.conf',
      '/etc/nested',
      '/etc/nested/deep.txt',
      '/private.key',
      '/shared',
    ]);
    // The directories above the backed-up one come first, so every path is absolute.
    expect(lines[0]).toBe(`/${source.split('/')[1]}`);
    expect(lines).toContain(source);
    expect(lines.indexOf(source)).toBeLessThan(lines.indexOf(`${source}/bin`));
  });

  it('lists only what is at or below a path, with or without a trailing slash', async () => {
    const expected = ['/etc', '/etc/app.conf', '/etc/nested', '/etc/nested/deep.txt'].map((path) => `${source}${path}`);
    const [plain, slash, file] = await Promise.all([
      cli(['ls', snapshot.id.slice(0, 8), `${source}/etc`, '--repo', repo]),
      cli(['ls', snapshot.id, `${source}/etc/`, '--repo', repo]),
      cli(['ls', 'latest', `${source}/etc/app.conf`, '--repo', repo]),
    ]);
    expect(plain.trimEnd().split('\n')).toEqual(expected);
    expect(slash.trimEnd().split('\n')).toEqual(expected);
    expect(file).toBe(`${source}/etc/app.conf\n`);
  });

  it('says so when the path is not in the snapshot (a name prefix is not a match), exit 1', async () => {
    const [prefix, relative] = await Promise.all([
      runCli(['ls', 'latest', `${source}/et`, '--repo', repo]),
      runCli(['ls', 'latest', 'source/etc', '--repo', repo], { cwd: work.path }),
    ]);
    expect(prefix.code).toBe(1);
    expect(prefix.stdout).toBe('');
    expect(prefix.stderr).toContain(`${source}/et is not in snapshot ${snapshot.id.slice(0, 8)}`);
    expect(relative.code).toBe(1);
    expect(relative.stderr).toContain('/source/etc is not in snapshot');
  });

  it('shows type and permissions like ls -l, sizes, mtimes and symlink targets with --long', async () => {
    const lines = (await cli(['ls', 'latest', source, '--repo', repo, '--long'])).trimEnd().split('\n');
    const line = (path: string): string => {
      const found = lines.find((candidate) => candidate.endsWith(` ${source}${path}`) || candidate.includes(` ${source}${path} -> `));
      expect(found, path).toBeDefined();
      return found!;
    };
    const uid = String(process.getuid?.() ?? 0);
    expect(line('/etc/app.conf')).toMatch(new RegExp(`^-rw-r--r-- +${uid} +\\d+ +6 B 2021-05-06 07:08:09 `));
    expect(line('/bin/run.sh')).toMatch(/^-rwxr-xr-x /);
    expect(line('/private.key')).toMatch(/^-rw------- .* 2\.93 KiB /);
    expect(line('/etc')).toMatch(/^drwxr-x--- /);
    expect(line('/shared')).toMatch(/^drwxrwxrwt /);
    expect(line('/current')).toMatch(new RegExp(`^lrwxrwxrwx .* ${escape(source)}/current -> etc/app\\.conf$`));
  });

  it('prints entries with type, size, mode, mtime, owner and symlink target with --json', async () => {
    const entries = await cliJson<LsEntry[]>(['ls', 'latest', source, '--repo', repo]);
    const byPath = new Map(entries.map((entry) => [entry.path.slice(source.length), entry]));
    expect([...byPath.keys()]).toEqual(['', '/bin', '/bin/run.sh', '/current', '/etc', '/etc/app.conf', '/etc/nested', '/etc/nested/deep.txt', '/private.key', '/shared']);
    expect(byPath.get('/etc/app.conf')).toEqual({
      path: `${source}/etc/app.conf`,
      type: 'file',
      size: 6,
      mode: 0o644,
      mtime: expect.stringMatching(/^2021-05-06T07:08:09\.25\d*Z$/),
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
    });
    expect(byPath.get('/current')).toMatchObject({ type: 'symlink', target: 'etc/app.conf' });
    expect(byPath.get('/shared')).toMatchObject({ type: 'dir', mode: 0o1777, size: 0 });
    expect(byPath.get('/private.key')).toMatchObject({ type: 'file', size: 3000, mode: 0o600 });
  });

  it('rejects snapshot references that name no snapshot', async () => {
    const empty = join(work.path, 'empty');
    await cli(['init', '--repo', empty]);
    const otherId = `${snapshot.id.startsWith('f') ? '0' : 'f'}${snapshot.id.slice(1, 8)}`;
    const [unknown, notHex, none] = await Promise.all([
      runCli(['ls', otherId, '--repo', repo]),
      runCli(['ls', 'newest', '--repo', repo]),
      runCli(['ls', 'latest', '--repo', empty]),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`no snapshot with id ${otherId}`);
    expect(notHex.code).toBe(2);
    expect(notHex.stderr).toContain('"newest" is not a snapshot id');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no snapshot matches "latest"');
    for (const result of [unknown, notHex, none]) expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
