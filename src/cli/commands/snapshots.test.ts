import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliJson, runCli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import type { Snapshot } from '../../repository/snapshot.js';

interface StdinBackup {
  readonly name: string;
  readonly host: string;
  readonly tags: readonly string[];
  readonly time: string;
}

describe('failsafe snapshots', () => {
  let work: { path: string; remove: () => Promise<void> };
  let repo: string;
  let source: string;
  const leaks = trackLeaks();
  /** By label, in the order they were created (deliberately not the order of their times). */
  const made = new Map<string, Snapshot>();

  async function backupStdin(repoPath: string, backup: StdinBackup): Promise<Snapshot> {
    const args = ['backup', '--repo', repoPath, '--stdin', '--stdin-name', backup.name, '--host', backup.host, '--time', backup.time];
    for (const tag of backup.tags) args.push('--tag', tag);
    const [result] = await cliJson<{ snapshot: Snapshot }[]>(args, { input: `${backup.name} ${backup.time}\n` });
    return result!.snapshot;
  }

  beforeAll(async () => {
    work = await tempDir();
    repo = join(work.path, 'repo');
    source = join(work.path, 'source');
    await mkdir(source);
    await writeFile(join(source, 'file.txt'), 'some content\n');
    await cli(['init', '--repo', repo]);
    const stdinBackups: Record<string, StdinBackup> = {
      march: { name: 'app.sql', host: 'web-1', tags: ['nightly'], time: '2024-03-01T02:00:00Z' },
      january: { name: 'app.sql', host: 'web-1', tags: ['nightly', 'db'], time: '2024-01-01T02:00:00Z' },
      february: { name: 'app.sql', host: 'web-2', tags: ['db'], time: '2024-02-01T02:00:00Z' },
    };
    const snapshots = await Promise.all(Object.values(stdinBackups).map((backup) => backupStdin(repo, backup)));
    for (const [i, label] of Object.keys(stdinBackups).entries()) made.set(label, snapshots[i]!);
    const [files] = await cliJson<{ snapshot: Snapshot }[]>(
      ['backup', '--repo', repo, '--path', source, '--host', 'web-1', '--tag', 'files', '--time', '2024-04-01T02:00:00Z'],
    );
    made.set('april', files!.snapshot);
  });

  afterAll(async () => {
    await work.remove();
    await leaks.assertNoLeaks();
  });

  async function listed(...args: string[]): Promise<string[]> {
    const snapshots = await cliJson<Snapshot[]>(['snapshots', '--repo', repo, ...args]);
    const labels = new Map([...made].map(([label, snapshot]) => [snapshot.id, label]));
    return snapshots.map((snapshot) => labels.get(snapshot.id) ?? snapshot.id);
  }

  it('says so for an empty repository', async () => {
    const empty = join(work.path, 'empty');
    await cli(['init', '--repo', empty]);
    const text = await runCli(['snapshots', '--repo', empty]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^0 snapshots$/m);
    expect(text.stderr).toBe('');
    expect(await cliJson(['snapshots', '--repo', empty])).toEqual([]);
  });

  it('lists snapshots oldest first whatever order they were made in, one table row each', async () => {
    expect(await listed()).toEqual(['january', 'february', 'march', 'april']);
    const text = await cli(['snapshots', '--repo', repo]);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+Time \(UTC\)\s+Host\s+Tags\s+Size\s+Paths$/);
    expect(lines.at(-1)).toBe('4 snapshots');
    const rows = lines.slice(1, -1);
    expect(rows).toHaveLength(4);
    const january = made.get('january')!;
    expect(rows[0]).toMatch(new RegExp(`^${january.id.slice(0, 8)}\\s+2024-01-01 02:00:00\\s+web-1\\s+nightly,db\\s+\\S+ B\\s+/app\\.sql$`));
    expect(rows[3]).toContain(made.get('april')!.id.slice(0, 8));
    expect(rows[3]).toMatch(new RegExp(`web-1\\s+files\\s+.*\\s${source.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  });

  it('filters by host (repeatable: any of them)', async () => {
    const [web1, web2, both, nobody] = await Promise.all([
      listed('--host', 'web-1'),
      listed('--host', 'web-2'),
      listed('--host', 'web-2', '--host', 'web-1'),
      listed('--host', 'nobody'),
    ]);
    expect(web1).toEqual(['january', 'march', 'april']);
    expect(web2).toEqual(['february']);
    expect(both).toEqual(['january', 'february', 'march', 'april']);
    expect(nobody).toEqual([]);
  });

  it('filters by tags: "a,b" requires both, repeating the flag accepts any of the sets', async () => {
    const results = await Promise.all([
      listed('--tag', 'db'),
      listed('--tag', 'nightly,db'),
      listed('--tag', 'db,nightly'),
      listed('--tag', 'nightly', '--tag', 'files'),
      listed('--tag', 'nightly,files'),
      listed('--host', 'web-1', '--tag', 'db'),
    ]);
    expect(results).toEqual([
      ['january', 'february'],
      ['january'],
      ['january'],
      ['january', 'march', 'april'],
      [],
      ['january'],
    ]);
  });

  it('takes "a,b" given to backup --tag as two tags, so the same words find the snapshot again', async () => {
    const other = join(work.path, 'comma-tags');
    await cli(['init', '--repo', other]);
    await cli(['backup', '--repo', other, '--stdin', '--tag', 'nightly,db', '--tag', 'eu'], { input: 'x' });
    const [snapshot] = await cliJson<Snapshot[]>(['snapshots', '--repo', other, '--tag', 'db,nightly']);
    expect(snapshot?.tags).toEqual(['nightly', 'db', 'eu']);
  });

  it('filters by path, also given relative to the working directory as backup takes it', async () => {
    const [stdin, files, trailingSlash, fromParent] = await Promise.all([
      listed('--path', '/app.sql'),
      listed('--path', source),
      listed('--path', `${source}/`),
      cliJson<Snapshot[]>(['snapshots', '--repo', repo, '--path', relative(work.path, source)], { cwd: work.path }),
    ]);
    expect(stdin).toEqual(['january', 'february', 'march']);
    expect(files).toEqual(['april']);
    expect(trailingSlash).toEqual(['april']);
    expect(fromParent.map((snapshot) => snapshot.id)).toEqual([made.get('april')!.id]);
  });

  it('shows only the n newest with --latest, still oldest first, after filtering', async () => {
    const [two, filtered, more, text] = await Promise.all([
      listed('--latest', '2'),
      listed('--latest', '1', '--tag', 'db'),
      listed('--latest', '10'),
      cli(['snapshots', '--repo', repo, '--latest', '1']),
    ]);
    expect(two).toEqual(['march', 'april']);
    expect(filtered).toEqual(['february']);
    expect(more).toEqual(['january', 'february', 'march', 'april']);
    expect(text.trimEnd().split('\n')).toHaveLength(3);
    expect(text).toMatch(/^1 snapshot$/m);
    const bad = ['abc', '-1', '0', '1.5'];
    const results = await Promise.all(bad.map((value) => runCli(['snapshots', '--repo', repo, '--latest', value])));
    for (const [i, result] of results.entries()) {
      expect(result.code, `--latest ${bad[i]}`).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain('invalid count');
    }
  });

  it('prints the full manifests with --json', async () => {
    const snapshots = await cliJson<Snapshot[]>(['snapshots', '--repo', repo]);
    expect(snapshots).toHaveLength(4);
    const january = snapshots[0]!;
    expect(january).toEqual(made.get('january'));
    expect(january).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f]{64}$/),
      tree: expect.stringMatching(/^[0-9a-f]{64}$/),
      time: '2024-01-01T02:00:00.000Z',
      host: 'web-1',
      tags: ['nightly', 'db'],
      paths: ['/app.sql'],
      source: { kind: 'stdin' },
      tenant: null,
      summary: { files: 1, dirs: 0, bytes: 'app.sql 2024-01-01T02:00:00Z\n'.length },
    });
    const april = snapshots[3]!;
    expect(april).toMatchObject({ paths: [source], source: { kind: 'paths' }, tags: ['files'], summary: { files: 1 } });
  });
});
