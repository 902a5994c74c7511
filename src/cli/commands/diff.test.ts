import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PASSWORD, cli, cliJson, runCli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import { Repository } from '../../repository/repository.js';
import type { Snapshot } from '../../repository/snapshot.js';
import { backupStdin } from '../../sources/stdin/backup-stdin.js';
import { openStorage } from '../../storage/open-storage.js';

interface DiffJson {
  readonly from: string;
  readonly to: string;
  readonly changes: { path: string; change: 'added' | 'removed' | 'modified' | 'metadata'; type: string }[];
  readonly totals: { added: number; removed: number; modified: number; metadata: number; addedBytes: number; removedBytes: number };
}

describe('failsafe diff', () => {
  let work: { path: string; remove: () => Promise<void> };
  let repo: string;
  let source: string;
  let before: Snapshot;
  let after: Snapshot;
  const leaks = trackLeaks();

  async function backup(): Promise<Snapshot> {
    const [{ snapshot }] = (await cliJson<{ snapshot: Snapshot }[]>(['backup', '--repo', repo, '--path', source])) as [{ snapshot: Snapshot }];
    return snapshot;
  }

  beforeAll(async () => {
    work = await tempDir();
    repo = join(work.path, 'repo');
    source = join(work.path, 'source');
    await mkdir(join(source, 'sub'), { recursive: true });
    await writeFile(join(source, 'keep.txt'), 'unchanged\n');
    await writeFile(join(source, 'remove.txt'), 'to be removed\n'); // 14 B
    await writeFile(join(source, 'change.txt'), 'version 1\n'); // 10 B
    await writeFile(join(source, 'chmod.txt'), 'mode changes only\n');
    await writeFile(join(source, 'sub', 'inner.txt'), 'inner\n'); // 6 B
    await chmod(join(source, 'chmod.txt'), 0o644);
    await cli(['init', '--repo', repo]);
    before = await backup();

    await writeFile(join(source, 'added.txt'), 'a new file\n'); // 11 B
    await rm(join(source, 'remove.txt'));
    await writeFile(join(source, 'change.txt'), 'version 2, longer\n'); // 18 B
    await chmod(join(source, 'chmod.txt'), 0o600);
    await rm(join(source, 'sub'), { recursive: true });
    await mkdir(join(source, 'newdir'));
    await writeFile(join(source, 'newdir', 'f.txt'), 'fffff'); // 5 B
    after = await backup();
  });

  afterAll(async () => {
    await work.remove();
    await leaks.assertNoLeaks();
  });

  it('marks added, removed, modified and metadata-only entries with + - M U', async () => {
    const output = await cli(['diff', before.id.slice(0, 8), after.id, '--repo', repo]);
    const lines = output.trimEnd().split('\n');
    const below = lines.filter((line) => line.includes(source)).map((line) => line.replace(source, '<src>'));
    expect(below).toEqual([
      'U    <src>/', // its entries changed, so its mtime did
      '+    <src>/added.txt',
      'M    <src>/change.txt',
      'U    <src>/chmod.txt',
      '+    <src>/newdir/',
      '+    <src>/newdir/f.txt',
      '-    <src>/remove.txt',
      '-    <src>/sub/',
      '-    <src>/sub/inner.txt',
    ]);
    expect(output).not.toContain('keep.txt');
    // Above the source only directory metadata can differ (another process may touch the temp directory).
    const above = lines.filter((line) => line.length > 0 && !line.includes(source) && !line.includes(' → '));
    for (const line of above) expect(line).toMatch(/^U {4}\/.*\/$/);
  });

  it('ends with a totals line counting entries and the file data that came and went', async () => {
    const output = await cli(['diff', before.id, after.id, '--repo', repo]);
    const lines = output.trimEnd().split('\n');
    expect(lines.at(-2)).toBe('');
    const metadata = lines.filter((line) => line.startsWith('U ')).length;
    expect(metadata).toBeGreaterThanOrEqual(2);
    // In: added.txt 11 + newdir/f.txt 5 + change.txt now 18. Out: remove.txt 14 + sub/inner.txt 6 + change.txt before 10.
    // chmod.txt only changed its mode: no data moved.
    expect(lines.at(-1)).toBe(
      `${before.id.slice(0, 8)} → ${after.id.slice(0, 8)}: 3 added, 3 removed, 1 modified, ${metadata} metadata only; file data 34 B in, 30 B out`,
    );
  });

  it('gives the changes and totals with --json', async () => {
    const result = await cliJson<DiffJson>(['diff', before.id, 'latest', '--repo', repo]);
    expect(result.from).toBe(before.id);
    expect(result.to).toBe(after.id);
    const below = result.changes.filter((change) => change.path.startsWith(`${source}/`));
    expect(below.map(({ path, change, type }) => [path.slice(source.length), change, type])).toEqual([
      ['/added.txt', 'added', 'file'],
      ['/change.txt', 'modified', 'file'],
      ['/chmod.txt', 'metadata', 'file'],
      ['/newdir', 'added', 'dir'],
      ['/newdir/f.txt', 'added', 'file'],
      ['/remove.txt', 'removed', 'file'],
      ['/sub', 'removed', 'dir'],
      ['/sub/inner.txt', 'removed', 'file'],
    ]);
    expect(result.totals).toMatchObject({ added: 3, removed: 3, modified: 1, addedBytes: 34, removedBytes: 30 });
    expect(result.totals.metadata).toBe(result.changes.filter((change) => change.change === 'metadata').length);
  });

  it('shows nothing but a zero totals line for a snapshot compared with itself', async () => {
    const output = await cli(['diff', after.id, after.id.slice(0, 10), '--repo', repo]);
    expect(output).toBe(
      `\n${after.id.slice(0, 8)} → ${after.id.slice(0, 8)}: 0 added, 0 removed, 0 modified, 0 metadata only; file data 0 B in, 0 B out\n`,
    );
  });

  it('rejects an ambiguous id prefix with exit 2 and an unknown id with exit 1, in one line each', async () => {
    const other = join(work.path, 'ambiguous');
    await cli(['init', '--repo', other]);
    const prefix = await snapshotsSharingAPrefix(other);
    const someId = (await cliJson<Snapshot[]>(['snapshots', '--repo', other]))[0]!.id;
    const unknownId = '0123456789abcdef'.split('').find((digit) => !prefix.ids.some((id) => id.startsWith(digit)))!;
    const [ambiguous, unknown, bad, ambiguousLs] = await Promise.all([
      runCli(['diff', prefix.prefix, someId, '--repo', other]),
      runCli(['diff', someId, `${unknownId}abc`, '--repo', other]),
      runCli(['diff', someId, 'not-an-id', '--repo', other]),
      runCli(['ls', prefix.prefix, '--repo', other]),
    ]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain(`snapshot id prefix ${prefix.prefix} is ambiguous`);
    expect(ambiguousLs.code).toBe(2);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`no snapshot with id ${unknownId}abc`);
    expect(unknown.stderr).toContain('failsafe snapshots');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"not-an-id" is not a snapshot id');
    for (const result of [ambiguous, unknown, bad, ambiguousLs]) {
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

/**
 * Adds small snapshots until two ids share their first hex digit (at most 17 by the pigeonhole
 * principle). In-process, so the password is derived once rather than once per snapshot.
 */
async function snapshotsSharingAPrefix(repoPath: string): Promise<{ prefix: string; ids: string[] }> {
  const storage = await openStorage(repoPath);
  try {
    const repo = await Repository.open(storage, TEST_PASSWORD);
    const ids: string[] = [];
    for (let i = 0; i < 17; i++) {
      const snapshot = await backupStdin(repo, { name: 'n.txt', input: Readable.from([Buffer.from(`snapshot ${i}`)]) });
      const clash = ids.find((id) => id[0] === snapshot.id[0]);
      ids.push(snapshot.id);
      if (clash) return { prefix: snapshot.id[0]!, ids };
    }
    throw new Error('unreachable: 17 ids over 16 digits must share one');
  } finally {
    await storage.close();
  }
}
