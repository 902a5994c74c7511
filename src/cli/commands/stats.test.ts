import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliJson, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import type { RepositoryStats } from '../../repository/stats.js';

const MiB = 1024 * 1024;

describe('failsafe stats', () => {
  let work: { path: string; remove: () => Promise<void> };
  let repo: string;
  /** Bytes of one snapshot: a random file, an identical copy of it, and a text table. */
  let snapshotBytes: number;
  /** Distinct content: the random file once and the table. */
  let uniqueBytes: number;
  const leaks = trackLeaks();

  beforeAll(async () => {
    work = await tempDir();
    repo = join(work.path, 'repo');
    const source = join(work.path, 'source');
    await mkdir(join(source, 'uploads'), { recursive: true });
    const photo = randomBytes(1 * MiB);
    await writeFile(join(source, 'uploads', 'photo.jpg'), photo);
    await writeFile(join(source, 'uploads', 'photo copy.jpg'), photo);
    // Text compresses well, and every line differs, so no chunk of it repeats.
    const rows = Array.from({ length: 40_000 }, (_, i) => `${i}\tguest-${(i * 7919) % 100_003}\t2024-03-${String((i % 28) + 1).padStart(2, '0')}\tconfirmed\n`);
    const table = Buffer.from(rows.join(''));
    await writeFile(join(source, 'bookings.tsv'), table);
    snapshotBytes = 2 * photo.length + table.length;
    uniqueBytes = photo.length + table.length;
    await cli(['init', '--repo', repo]);
    await cli(['backup', '--repo', repo, '--path', source, '--host', 'web-1']);
    await cli(['backup', '--repo', repo, '--path', source, '--host', 'web-1']);
  });

  afterAll(async () => {
    await work.remove();
    await leaks.assertNoLeaks();
  });

  it('counts duplicates once: the deduplication ratio is what the snapshots hold over what is distinct', async () => {
    const stats = await cliJson<RepositoryStats>(['stats', '--repo', repo]);
    expect(stats.snapshots).toBe(2);
    expect(stats.restoreBytes).toBe(2 * snapshotBytes);
    expect(stats.uniqueRawBytes).toBe(uniqueBytes);
    expect(stats.deduplicationRatio).toBeCloseTo((2 * snapshotBytes) / uniqueBytes, 6);
    expect(stats.deduplicationRatio).toBeGreaterThan(2.5);
    expect(stats.uniqueBlobs).toBeGreaterThanOrEqual(2);
  });

  it('shows what compression saved: text shrinks, random data does not', async () => {
    const stats = await cliJson<RepositoryStats>(['stats', '--repo', repo]);
    expect(stats.compressionRatio).toBeCloseTo(stats.uniqueRawBytes / stats.uniqueStoredBytes, 6);
    expect(stats.compressionRatio).toBeGreaterThan(1.3);
    // The random megabyte cannot shrink: stored data is at least that.
    expect(stats.uniqueStoredBytes).toBeGreaterThan(1 * MiB);
    expect(stats.packBytes).toBeGreaterThanOrEqual(stats.uniqueStoredBytes);
    expect(stats.packs).toBeGreaterThanOrEqual(2);
  });

  it('prints the same numbers as a table', async () => {
    const [stats, text] = await Promise.all([cliJson<RepositoryStats>(['stats', '--repo', repo]), cli(['stats', '--repo', repo])]);
    const rows = Object.fromEntries(
      text
        .trimEnd()
        .split('\n')
        .map((line) => line.split(/ {2,}/) as [string, string]),
    );
    expect(rows).toEqual({
      snapshots: '2',
      'total size of the snapshots': expect.stringMatching(/ MiB$/),
      'unique data (before compression)': expect.stringMatching(new RegExp(` in ${stats.uniqueBlobs} blobs$`)),
      'unique data stored': expect.stringMatching(/iB$/),
      'repository packs': expect.stringMatching(new RegExp(` in ${stats.packs} packs$`)),
      'deduplication ratio': `${stats.deduplicationRatio.toFixed(2)}x`,
      'compression ratio': `${stats.compressionRatio.toFixed(2)}x`,
    });
  });

  it('looks only at the snapshots the filters select', async () => {
    const [none, web] = await Promise.all([
      cliJson<RepositoryStats>(['stats', '--repo', repo, '--host', 'db-1']),
      cliJson<RepositoryStats>(['stats', '--repo', repo, '--host', 'web-1']),
    ]);
    expect(none).toMatchObject({ snapshots: 0, restoreBytes: 0, uniqueBlobs: 0, uniqueRawBytes: 0, deduplicationRatio: 1, compressionRatio: 1 });
    expect(none.packs).toBe(web.packs); // the repository is the same size whatever is selected
    expect(web.snapshots).toBe(2);
  });

  it('reports an empty repository without dividing by zero', async () => {
    const empty = join(work.path, 'empty');
    await cli(['init', '--repo', empty]);
    const stats = await cliJson<RepositoryStats>(['stats', '--repo', empty]);
    expect(stats).toEqual({
      snapshots: 0,
      restoreBytes: 0,
      uniqueBlobs: 0,
      uniqueRawBytes: 0,
      uniqueStoredBytes: 0,
      packs: 0,
      packBytes: 0,
      deduplicationRatio: 1,
      compressionRatio: 1,
    });
  });
});
