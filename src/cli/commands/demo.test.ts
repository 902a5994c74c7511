import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, runCli, spawnCli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';

describe('failsafe demo', () => {
  let work: { path: string; remove: () => Promise<void> };
  /** The demo's TMPDIR: private to this file, so other processes' temporary files cannot interfere. */
  let tmp: string;
  const leaks = trackLeaks();

  beforeAll(async () => {
    work = await tempDir();
    tmp = join(work.path, 'tmp');
    await mkdir(tmp);
    // The demo's PostgreSQL runs as "nobody" when the tests run as root: it must be able to get in.
    await chmod(work.path, 0o711);
    await chmod(tmp, 0o711);
  });

  afterAll(async () => {
    await work.remove();
    await leaks.assertNoLeaks();
  });

  const demoDirs = async (): Promise<string[]> => (await readdir(tmp)).filter((name) => name.startsWith('failsafe-demo-'));
  const env = (): { env: { TMPDIR: string } } => ({ env: { TMPDIR: tmp } });

  it("tells the escrow story on embedded PostgreSQL: plan, backup, next day, restore, verify, and cleans up", async () => {
    const before = await demoDirs();
    const result = await runCli(['demo'], env());
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    const steps = lines.map((line) => /^([a-z]+) {2,}/.exec(line)?.[1]).filter((name) => name !== undefined);
    expect(steps).toEqual(['postgres', 'saas', 'plan', 'init', 'backup', 'change', 'backup', 'restore', 'verify']);
    const line = (step: string): string => lines.filter((candidate) => candidate.startsWith(`${step} `)).at(-1)!;
    expect(line('plan')).toMatch(/hotel 3: \d+ rows .* no references into other hotels/);
    expect(line('backup')).toMatch(/added .* of the first/);
    expect(line('verify')).toBe(
      'verify    every table matches the snapshot (rows, checksums) and every foreign key holds; no row of any other hotel',
    );
    expect(result.stdout).toMatch(/Cleaned up\.$/m);
    expect(await demoDirs()).toEqual(before);
  });

  it('runs the file round trip with --files, prints each step and leaves no temporary directory behind', async () => {
    const before = await demoDirs();
    const result = await runCli(['demo', '--files', '--size', '8MiB'], env());
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    const workDir = /round trip in (\S+)$/.exec(lines[0]!)?.[1];
    expect(workDir?.startsWith(join(tmp, 'failsafe-demo-'))).toBe(true);
    const steps = lines.map((line) => /^([a-z]+) {2,}/.exec(line)?.[1]).filter((name) => name !== undefined);
    expect(steps).toEqual(['data', 'init', 'backup', 'change', 'backup', 'diff', 'forget', 'check', 'restore']);
    const line = (step: string): string => lines.filter((candidate) => candidate.startsWith(`${step} `)).at(-1)!;
    expect(line('data')).toMatch(/generated \d+ files, 8\.\d+ MiB/);
    expect(line('backup')).toMatch(/\d+ unchanged skipped/);
    expect(line('diff')).toMatch(/modified .*\/data\/tables\/\w+\.tsv$/);
    expect(line('forget')).toMatch(/--keep-last 1 removed snapshot [0-9a-f]{8}; prune deleted [1-9]\d* packs?/);
    expect(line('check')).toMatch(/read and verified [1-9]\d* packs .*: no errors$/);
    expect(line('restore')).toContain('identical to the source');
    expect(result.stdout).toContain('cleaned up.');
    expect(await demoDirs()).toEqual(before);
  });

  it('gives a parseable result with --json, and still cleans up', async () => {
    const before = await demoDirs();
    const result = await runCli(['demo', '--files', '--size', '4MiB', '--json'], env());
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      workDir: string;
      dataset: { files: number; bytes: number; rows: number };
      first: { id: string };
      second: { id: string; parent: string | null };
      check: { ok: boolean; packsRead: number };
      prune: { packsDeleted: number };
      identical: boolean;
    };
    expect(report.identical).toBe(true);
    expect(report.check.ok).toBe(true);
    expect(report.check.packsRead).toBeGreaterThan(0);
    expect(report.dataset.bytes).toBeGreaterThan(3.5 * 1024 * 1024);
    expect(report.second.parent).toBe(report.first.id);
    expect(report.prune.packsDeleted).toBeGreaterThan(0);
    await expect(stat(report.workDir)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await demoDirs()).toEqual(before);
  });

  it('keeps its directory with --keep', async () => {
    const result = await runCli(['demo', '--files', '--size', '1MiB', '--keep'], env());
    expect(result.code, result.stderr).toBe(0);
    const workDir = /^kept (\S+);/m.exec(result.stdout)?.[1];
    expect(workDir).toBeDefined();
    expect((await readdir(workDir!)).sort()).toEqual(['data', 'repository', 'restore']);
  });

  it('stops at Ctrl-C with exit 130 and still removes its directory', async () => {
    const before = await demoDirs();
    const child = spawnCli(['demo', '--files', '--size', '48MiB'], env());
    const done = collect(child);
    child.stdin!.end();
    // Interrupt as soon as it has started (it prints its first line before generating the data).
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    child.kill('SIGINT');
    const result = await done;
    expect(result.code, result.stdout + result.stderr).toBe(130);
    expect(result.stderr).toContain('interrupted');
    expect(result.stdout).not.toContain('restore ');
    expect(await demoDirs()).toEqual(before);
  });

  it('rejects a size it cannot read, exit 2', async () => {
    const result = await runCli(['demo', '--files', '--size', 'lots'], env());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('invalid size "lots"');
    expect(await demoDirs()).toHaveLength(1); // only the one kept above
  });
});
