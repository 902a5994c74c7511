import { randomBytes } from 'node:crypto';
import { cp, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliJson, runCli, tempDir } from '../../../test/cli.js';
import { trackLeaks } from '../../../test/leak-check.js';
import type { Snapshot } from '../../repository/snapshot.js';

interface ForgetJson {
  readonly dryRun: boolean;
  readonly removed: string[];
  readonly groups: {
    key: Record<string, unknown>;
    keep: { id: string; time: string; reasons: string[] }[];
    remove: { id: string; time: string }[];
  }[];
  readonly prune?: { packsDeleted: number; bytesDeleted: number };
}

/** The history: monthly, then weekly (Mondays), then daily snapshots of web-1, and two of db-1. */
const HISTORY = {
  jan: { time: '2024-01-15T12:00:00Z', host: 'web-1', tags: ['release'] },
  feb: { time: '2024-02-15T12:00:00Z', host: 'web-1', tags: [] },
  mar: { time: '2024-03-15T12:00:00Z', host: 'web-1', tags: [] },
  apr01: { time: '2024-04-01T09:00:00Z', host: 'web-1', tags: [] },
  apr08: { time: '2024-04-08T09:00:00Z', host: 'web-1', tags: [] },
  apr15: { time: '2024-04-15T09:00:00Z', host: 'web-1', tags: [] },
  apr16: { time: '2024-04-16T12:00:00Z', host: 'web-1', tags: [] },
  apr17a: { time: '2024-04-17T10:00:00Z', host: 'web-1', tags: [] },
  apr17b: { time: '2024-04-17T18:00:00Z', host: 'web-1', tags: [] },
  apr18: { time: '2024-04-18T12:00:00Z', host: 'web-1', tags: [] },
  db10: { time: '2024-04-10T03:00:00Z', host: 'db-1', tags: [] },
  db18: { time: '2024-04-18T03:00:00Z', host: 'db-1', tags: [] },
} as const;
type Label = keyof typeof HISTORY;
const WEB: readonly Label[] = ['jan', 'feb', 'mar', 'apr01', 'apr08', 'apr15', 'apr16', 'apr17a', 'apr17b', 'apr18'];

describe('failsafe forget', () => {
  let work: { path: string; remove: () => Promise<void> };
  /** Holds the whole history; only dry runs touch it. */
  let base: string;
  const ids = new Map<Label, string>();
  const labels = new Map<string, Label>();
  let copies = 0;
  const leaks = trackLeaks();

  beforeAll(async () => {
    work = await tempDir();
    base = join(work.path, 'base');
    await cli(['init', '--repo', base]);
    const entries = Object.entries(HISTORY) as [Label, (typeof HISTORY)[Label]][];
    for (let i = 0; i < entries.length; i += 3) {
      await Promise.all(
        entries.slice(i, i + 3).map(async ([label, { time, host, tags }]) => {
          const name = host === 'db-1' ? 'db.sql' : 'app.sql';
          const args = ['backup', '--repo', base, '--stdin', '--stdin-name', name, '--host', host, '--time', time, ...tags.flatMap((tag) => ['--tag', tag])];
          const [{ snapshot }] = (await cliJson<{ snapshot: Snapshot }[]>(args, { input: `dump of ${label}\n` })) as [{ snapshot: Snapshot }];
          ids.set(label, snapshot.id);
          labels.set(snapshot.id, label);
        }),
      );
    }
  });

  afterAll(async () => {
    await work.remove();
    await leaks.assertNoLeaks();
  });

  async function copyOfBase(): Promise<string> {
    const copy = join(work.path, `copy-${++copies}`);
    await cp(base, copy, { recursive: true });
    return copy;
  }

  async function remaining(repo: string): Promise<Label[]> {
    return (await cliJson<Snapshot[]>(['snapshots', '--repo', repo])).map((snapshot) => labels.get(snapshot.id)!);
  }

  /** What a dry run on the full history would keep of web-1, by label, oldest first. */
  async function keptOfWeb(...flags: string[]): Promise<Label[]> {
    const result = await cliJson<ForgetJson>(['forget', '--repo', base, '--dry-run', ...flags]);
    expect(result.dryRun).toBe(true);
    const removed = new Set(result.removed);
    return WEB.filter((label) => !removed.has(ids.get(label)!));
  }

  it('keeps the newest snapshot of each of the last n days, ISO weeks and months', async () => {
    const results = await Promise.all([
      keptOfWeb('--keep-daily', '3'),
      keptOfWeb('--keep-weekly', '2'),
      keptOfWeb('--keep-monthly', '3'),
      keptOfWeb('--keep-monthly', '-1'),
      keptOfWeb('--keep-daily', '2', '--keep-weekly', '2', '--keep-monthly', '2'),
    ]);
    expect(results).toEqual([
      ['apr16', 'apr17b', 'apr18'], // 17 April has two: the later one counts
      ['apr08', 'apr18'], // 15 to 18 April are one ISO week (Monday to Sunday)
      ['feb', 'mar', 'apr18'],
      ['jan', 'feb', 'mar', 'apr18'],
      ['mar', 'apr08', 'apr17b', 'apr18'], // a snapshot is kept when any rule keeps it
    ]);
  });

  it('keeps the last n, those within a duration of the newest, and those with a tag', async () => {
    const results = await Promise.all([
      keptOfWeb('--keep-last', '2'),
      keptOfWeb('--keep-within', '3d'),
      keptOfWeb('--keep-within', '1m'),
      keptOfWeb('--keep-last', '1', '--keep-tag', 'release'),
    ]);
    expect(results).toEqual([
      ['apr17b', 'apr18'],
      ['apr16', 'apr17a', 'apr17b', 'apr18'], // 15 April 09:00 is more than 3 days before 18 April 12:00
      ['apr01', 'apr08', 'apr15', 'apr16', 'apr17a', 'apr17b', 'apr18'], // 1 calendar month back: from 18 March 12:00
      ['jan', 'apr18'],
    ]);
  });

  it('prints per group what it keeps with the reasons and what it removes, and removes nothing with --dry-run', async () => {
    const before = await readdir(join(base, 'snapshots'));
    const output = await cli(['forget', '--repo', base, '--dry-run', '--keep-daily', '2', '--keep-weekly', '2', '--keep-monthly', '2']);
    expect(await readdir(join(base, 'snapshots'))).toEqual(before);
    const short = (label: Label): string => ids.get(label)!.slice(0, 8);
    const lines = output.trimEnd().split('\n');
    expect(lines).toEqual([
      'host db-1, paths /db.sql: keep 2, remove 0',
      `  keep    ${short('db18')}  2024-04-18 03:00:00  daily snapshot, weekly snapshot, monthly snapshot`,
      `  keep    ${short('db10')}  2024-04-10 03:00:00  daily snapshot, weekly snapshot, oldest monthly snapshot`,
      'host web-1, paths /app.sql: keep 4, remove 6',
      `  keep    ${short('apr18')}  2024-04-18 12:00:00  daily snapshot, weekly snapshot, monthly snapshot`,
      `  keep    ${short('apr17b')}  2024-04-17 18:00:00  daily snapshot`,
      `  keep    ${short('apr08')}  2024-04-08 09:00:00  weekly snapshot`,
      `  keep    ${short('mar')}  2024-03-15 12:00:00  monthly snapshot`,
      ...(['apr17a', 'apr16', 'apr15', 'apr01', 'feb', 'jan'] as const).map(
        (label) => `  remove  ${short(label)}  ${HISTORY[label].time.slice(0, 19).replace('T', ' ')}`,
      ),
      'would remove 6 snapshots',
    ]);
  });

  it('judges each host and paths group separately unless told otherwise with --group-by, and honours filters', async () => {
    const [byDefault, byHost, oneGroup, dbOnly] = await Promise.all([
      cliJson<ForgetJson>(['forget', '--repo', base, '--dry-run', '--keep-last', '1']),
      cliJson<ForgetJson>(['forget', '--repo', base, '--dry-run', '--keep-last', '1', '--group-by', 'host']),
      cliJson<ForgetJson>(['forget', '--repo', base, '--dry-run', '--keep-last', '1', '--group-by', '']),
      cliJson<ForgetJson>(['forget', '--repo', base, '--dry-run', '--keep-last', '1', '--host', 'db-1']),
    ]);
    const kept = (result: ForgetJson): Label[] => result.groups.flatMap((group) => group.keep.map((entry) => labels.get(entry.id)!));
    expect(byDefault.groups.map((group) => group.key)).toEqual([
      { host: 'db-1', paths: ['/db.sql'] },
      { host: 'web-1', paths: ['/app.sql'] },
    ]);
    expect(kept(byDefault)).toEqual(['db18', 'apr18']);
    expect(byDefault.removed).toHaveLength(10);
    expect(byHost.groups.map((group) => group.key)).toEqual([{ host: 'db-1' }, { host: 'web-1' }]);
    expect(oneGroup.groups.map((group) => group.key)).toEqual([{}]);
    expect(kept(oneGroup)).toEqual(['apr18']);
    expect(oneGroup.removed).toHaveLength(11);
    expect(dbOnly.removed).toEqual([ids.get('db10')]);
    expect(dbOnly.groups[0]!.keep[0]).toEqual({ id: ids.get('db18'), time: '2024-04-18T03:00:00.000Z', reasons: ['last snapshot'] });
  });

  it('removes the snapshots a policy does not keep, and named snapshots by id prefix', async () => {
    const repo = await copyOfBase();
    const output = await cli(['forget', '--repo', repo, '--keep-last', '3', '--host', 'web-1']);
    expect(output).toMatch(/^removed 7 snapshots$/m);
    expect(await remaining(repo)).toEqual(['db10', 'apr17a', 'apr17b', 'db18', 'apr18']);

    const named = await cli(['forget', '--repo', repo, ids.get('db10')!.slice(0, 8), ids.get('apr17a')!]);
    expect(named).toBe('removed 2 snapshots\n');
    expect(await remaining(repo)).toEqual(['apr17b', 'db18', 'apr18']);

    const unknown = await runCli(['forget', '--repo', repo, ids.get('db10')!]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`no snapshot with id ${ids.get('db10')}`);
  });

  it('refuses to run without snapshots or a policy, exit 2 with a hint', async () => {
    for (const args of [[], ['--keep-last', '0'], ['--group-by', 'host']]) {
      const result = await runCli(['forget', '--repo', base, ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain('nothing would be removed');
      expect(result.stderr).toContain('--keep-*');
    }
    const badCount = await runCli(['forget', '--repo', base, '--keep-daily', 'seven']);
    expect(badCount.code).toBe(2);
    const badGroup = await runCli(['forget', '--repo', base, '--keep-last', '1', '--group-by', 'hostname']);
    expect(badGroup.code).toBe(2);
    expect(badGroup.stderr).toContain('invalid --group-by "hostname"');
    expect(await readdir(join(base, 'snapshots'))).toHaveLength(12);
  });

  it('applies the retention policy of the config file when no --keep-* flag is given', async () => {
    const config = join(work.path, 'retention.yaml');
    await writeFile(config, ['version: 1', 'retention:', '  keep-daily: 3', '  keep-tag: [release]', '  group-by: [host]', ''].join('\n'));
    const [byFlag, byEnv, overridden] = await Promise.all([
      runCli(['forget', '--repo', base, '--dry-run', '--json', '--config', config]),
      runCli(['forget', '--repo', base, '--dry-run', '--json'], { env: { FAILSAFE_CONFIG: config } }),
      runCli(['forget', '--repo', base, '--dry-run', '--json', '--keep-last', '1'], { env: { FAILSAFE_CONFIG: config } }),
    ]);
    for (const result of [byFlag, byEnv]) {
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toBe('using the retention policy of the config file: keep-daily=3 keep-tag=release\n');
      const parsed = JSON.parse(result.stdout) as ForgetJson;
      expect(parsed.groups.map((group) => group.key)).toEqual([{ host: 'db-1' }, { host: 'web-1' }]);
      const removed = new Set(parsed.removed);
      expect(WEB.filter((label) => !removed.has(ids.get(label)!))).toEqual(['jan', 'apr16', 'apr17b', 'apr18']);
    }
    // Flags replace the configured policy entirely.
    expect(overridden.code, overridden.stderr).toBe(0);
    expect(overridden.stderr).toBe('');
    expect((JSON.parse(overridden.stdout) as ForgetJson).removed).toHaveLength(10);

    const missing = await runCli(['forget', '--repo', base, '--config', join(work.path, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('not found');
  });

  it('frees the space with --prune: the repository shrinks, checks clean and the rest restores', async () => {
    const repo = join(work.path, 'prune');
    await cli(['init', '--repo', repo]);
    const old = randomBytes(3 * 1024 * 1024);
    const current = randomBytes(3 * 1024 * 1024);
    await cli(['backup', '--repo', repo, '--stdin', '--stdin-name', 'db.dump', '--time', '2024-01-01T00:00:00Z'], { input: old });
    await cli(['backup', '--repo', repo, '--stdin', '--stdin-name', 'db.dump', '--time', '2024-01-02T00:00:00Z'], { input: current });
    const sizeBefore = await directorySize(repo);

    const result = await cliJson<ForgetJson>(['forget', '--repo', repo, '--keep-last', '1', '--prune']);
    expect(result.removed).toHaveLength(1);
    expect(result.prune?.packsDeleted).toBeGreaterThanOrEqual(1);
    expect(result.prune?.bytesDeleted).toBeGreaterThan(3 * 1024 * 1024);
    const sizeAfter = await directorySize(repo);
    expect(sizeBefore - sizeAfter).toBeGreaterThan(3 * 1024 * 1024);
    expect(sizeAfter).toBeLessThan(3.5 * 1024 * 1024);

    const check = await runCli(['check', '--repo', repo, '--read-data']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const restored = await runCli(['restore', 'latest', '--repo', repo, '--stdout']);
    expect(restored.code).toBe(0);
    expect(restored.stdoutBytes.equals(current)).toBe(true);
  });

  it('prints the prune report after the forget report in text mode', async () => {
    const repo = await copyOfBase();
    const output = await cli(['forget', '--repo', repo, '--keep-last', '1', '--prune']);
    expect(output).toMatch(/^removed 10 snapshots$/m);
    expect(output).toMatch(/^to delete: \d+ unused packs/m);
    expect(output).toMatch(/^deleted \d+ packs/m);
    expect(output.indexOf('removed 10 snapshots')).toBeLessThan(output.indexOf('to delete:'));
  });
});

async function directorySize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}
