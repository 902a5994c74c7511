/**
 * `npm run bench:repo`: failsafe against restic on the same data, in the same run.
 *
 * Generates a deterministic dataset (default 1 GiB: two thirds table-like text rows, the rest random
 * bytes and duplicated files), then for each tool: first backup, repository size, restore, a second
 * backup after 1% of the rows changed (half appended, half edited in place), and peak RSS.
 * restic comes from Debian's package and is installed when missing (as is GNU time, for peak RSS).
 *
 * Usage: npm run bench:repo -- [--size 1GiB] [--rounds 3] [--work DIR] [--json FILE]
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatBytes, parseByteSize } from '../src/core/units.js';
import { diffFingerprints, fingerprintTree, generateDataset, mutateDataset } from '../src/demo/dataset.js';
import { directoryBytes, ensureDebianPackage, fastest, log, parseArgs, ratio, run, timed, type Measurement } from './support.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin', 'failsafe.js');
const PASSWORD = 'benchmark password';

interface ToolResult {
  tool: string;
  version: string;
  firstBackup: Measurement;
  repoBytes: number;
  restore: Measurement;
  secondBackup: Measurement;
  addedBytes: number;
  peakRssBytes: number;
  restoreIdentical: boolean;
}

interface Tool {
  readonly name: string;
  version(): string;
  init(repo: string): void;
  backup(repo: string, data: string): Measurement;
  restore(repo: string, target: string): Measurement;
}

const args = parseArgs(process.argv.slice(2), 'bench/repo.ts [--size 1GiB] [--rounds 3] [--work DIR] [--json FILE]');
const size = parseByteSize(args.size ?? '1GiB');
const work = resolve(args.work ?? join(ROOT, '.bench', 'repo'));

ensureDebianPackage('restic', 'restic');
ensureDebianPackage('/usr/bin/time', 'time');

const tools: Tool[] = [
  {
    name: 'failsafe',
    version: () => `failsafe ${execFileSync(process.execPath, [CLI, '--version'], { encoding: 'utf8' }).trim()}`,
    init: (repo) => run(process.execPath, [CLI, 'init', '--repo', repo], { FAILSAFE_PASSWORD: PASSWORD }),
    backup: (repo, data) => timed(work, process.execPath, [CLI, 'backup', '--quiet', '--repo', repo, '--path', data], { FAILSAFE_PASSWORD: PASSWORD }),
    restore: (repo, target) =>
      timed(work, process.execPath, [CLI, 'restore', 'latest', '--quiet', '--repo', repo, '--target', target], { FAILSAFE_PASSWORD: PASSWORD }),
  },
  {
    name: 'restic',
    version: () => execFileSync('restic', ['version'], { encoding: 'utf8' }).trim().split(' ').slice(0, 2).join(' '),
    init: (repo) => run('restic', ['init', '--quiet', '--repo', repo], { RESTIC_PASSWORD: PASSWORD }),
    backup: (repo, data) => timed(work, 'restic', ['backup', '--quiet', '--repo', repo, data], { RESTIC_PASSWORD: PASSWORD }),
    restore: (repo, target) => timed(work, 'restic', ['restore', 'latest', '--quiet', '--repo', repo, '--target', target], { RESTIC_PASSWORD: PASSWORD }),
  },
];

await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
const data = join(work, 'data');
log(`generating ${formatBytes(size)} of data in ${data}`);
const dataset = await generateDataset(data, { bytes: size, seed: 42 });
log(`  ${dataset.files} files, ${formatBytes(dataset.bytes)}, ${dataset.rows.toLocaleString('en')} rows`);

// Let the kernel write the generated files back before anything is timed.
execFileSync('sync');
const rounds = Number(args.rounds ?? 3);

const results = new Map<string, ToolResult>(
  tools.map((tool) => [
    tool.name,
    {
      tool: tool.name,
      version: tool.version(),
      firstBackup: { seconds: Infinity, peakRssBytes: 0 },
      repoBytes: 0,
      restore: { seconds: Infinity, peakRssBytes: 0 },
      restoreIdentical: true,
      secondBackup: { seconds: 0, peakRssBytes: 0 },
      addedBytes: 0,
      peakRssBytes: 0,
    },
  ]),
);
// Each round backs up into a fresh repository and restores into a fresh directory, the tools taking
// turns so a slow spell of the machine falls on both; the fastest round counts (the usual way to keep
// a neighbour's burst out of a figure).
for (let round = 1; round <= rounds; round++) {
  for (const tool of tools) {
    const result = results.get(tool.name)!;
    const repo = join(work, `${tool.name}-repo`);
    await rm(repo, { recursive: true, force: true });
    tool.init(repo);
    log(`${tool.name}: first backup (round ${round}/${rounds})`);
    result.firstBackup = fastest(result.firstBackup, tool.backup(repo, data));
    result.repoBytes = await directoryBytes(repo);
    // The backup's own writes are flushed first, so the restore is not timed against their writeback.
    execFileSync('sync');
    log(`${tool.name}: restore (round ${round}/${rounds})`);
    const target = join(work, `${tool.name}-restore`);
    result.restore = fastest(result.restore, tool.restore(repo, target));
    result.restoreIdentical &&= diffFingerprints(await fingerprintTree(data), await fingerprintTree(join(target, data))).length === 0;
    await rm(target, { recursive: true, force: true });
    execFileSync('sync');
  }
}

log('changing 1% of the rows (half appended, half edited in place)');
const mutation = await mutateDataset(data, { fraction: 0.01, seed: 43 });
log(`  ${mutation.appendedRows} rows appended, ${mutation.editedRows} rows edited`);

for (const tool of tools) {
  const repo = join(work, `${tool.name}-repo`);
  const result = results.get(tool.name)!;
  log(`${tool.name}: second backup`);
  result.secondBackup = tool.backup(repo, data);
  result.addedBytes = (await directoryBytes(repo)) - result.repoBytes;
  result.peakRssBytes = Math.max(result.firstBackup.peakRssBytes, result.restore.peakRssBytes, result.secondBackup.peakRssBytes);
}

const ours = results.get('failsafe')!;
const theirs = results.get('restic')!;
const rate = (measurement: Measurement): number => dataset.bytes / measurement.seconds;
const rows: [string, string, string, string, string][] = [
  ['', 'failsafe', 'restic', 'ratio', 'target'],
  ['first backup', `${formatBytes(rate(ours.firstBackup))}/s`, `${formatBytes(rate(theirs.firstBackup))}/s`, ratio(rate(ours.firstBackup), rate(theirs.firstBackup)), '≥ 1.50x'],
  ['restore', `${formatBytes(rate(ours.restore))}/s`, `${formatBytes(rate(theirs.restore))}/s`, ratio(rate(ours.restore), rate(theirs.restore)), '≥ 1.50x'],
  ['repository size', formatBytes(ours.repoBytes), formatBytes(theirs.repoBytes), ratio(ours.repoBytes, theirs.repoBytes), '≤ 1.00x'],
  ['second backup time', `${ours.secondBackup.seconds.toFixed(2)} s`, `${theirs.secondBackup.seconds.toFixed(2)} s`, ratio(ours.secondBackup.seconds, theirs.secondBackup.seconds), ''],
  ['second backup added', formatBytes(ours.addedBytes), formatBytes(theirs.addedBytes), ratio(ours.addedBytes, theirs.addedBytes), '≤ 1.00x'],
  ['peak RSS', formatBytes(ours.peakRssBytes), formatBytes(theirs.peakRssBytes), ratio(ours.peakRssBytes, theirs.peakRssBytes), '≤ 400 MB'],
  ['restore identical', String(ours.restoreIdentical), String(theirs.restoreIdentical), '', ''],
];
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${formatBytes(totalmem())} RAM, Node ${process.version}`;
console.log(`\nbench:repo ${new Date().toISOString().slice(0, 10)} — ${formatBytes(dataset.bytes)}, ${dataset.files} files — ${machine}`);
console.log(`${ours.version} vs ${theirs.version}\n`);
const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
for (const row of rows) console.log(`| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`);
if (args.json) await writeFile(args.json, JSON.stringify({ date: new Date().toISOString(), machine, dataset, mutation, results: [...results.values()] }, null, 2));
if (!ours.restoreIdentical) {
  console.error('failsafe restore differs from the source');
  process.exitCode = 1;
}
await rm(work, { recursive: true, force: true });

/** The faster of two measurements, with the higher peak RSS of both (memory is not best-of). */








