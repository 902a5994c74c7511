/**
 * What every bench script shares: timing a command with its peak RSS (GNU time), installing a peer
 * from Debian's packages when missing, flag parsing, ratios.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface Measurement {
  readonly seconds: number;
  readonly peakRssBytes: number;
}

/** Runs a command to completion under /usr/bin/time; `scratch` is a directory for time's report. */
export function timed(scratch: string, command: string, commandArgs: readonly string[], env: Record<string, string> = {}): Measurement {
  const report = join(scratch, 'time.txt');
  const started = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-o', report, '-f', '%M', command, ...commandArgs], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${command} ${commandArgs.join(' ')} failed (${result.status})`);
  const kilobytes = Number(execFileSync('tail', ['-n', '1', report], { encoding: 'utf8' }).trim());
  return { seconds, peakRssBytes: kilobytes * 1024 };
}

/** The faster of two rounds, with the higher peak RSS. */
export function fastest(a: Measurement | undefined, b: Measurement): Measurement {
  if (!a) return b;
  return { seconds: Math.min(a.seconds, b.seconds), peakRssBytes: Math.max(a.peakRssBytes, b.peakRssBytes) };
}

export function run(command: string, commandArgs: readonly string[], env: Record<string, string> = {}): void {
  const result = spawnSync(command, commandArgs, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`${command} ${commandArgs.join(' ')} failed (${result.status})`);
}

export function ensureDebianPackage(binary: string, pkg: string): void {
  const found = binary.startsWith('/') ? existsSync(binary) : spawnSync('which', [binary]).status === 0;
  if (found) return;
  log(`installing ${pkg} from Debian's packages`);
  const apt = (...aptArgs: string[]) => execFileSync('apt-get', aptArgs, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  apt('update', '-qq');
  apt('install', '-y', '-qq', pkg);
}

/** `--name value` pairs; anything else prints `usage` and throws. */
export function parseArgs(argv: readonly string[], usage: string): Record<string, string> {
  const options: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]?.replace(/^--/, '');
    if (!flag || argv[i + 1] === undefined) throw new Error(`usage: ${usage}`);
    options[flag] = argv[i + 1]!;
  }
  return options;
}

/** `a / b` as `0.46x`; below 0.1 with three decimals, so it reads against targets like 0.05x. */
export function ratio(a: number, b: number): string {
  if (!(b > 0)) return '-';
  const value = a / b;
  return `${value.toFixed(value < 0.1 ? 3 : 2)}x`;
}

export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

export function log(text: string): void {
  process.stderr.write(`${text}\n`);
}
