/**
 * Runs the real `failsafe` CLI (the build in dist/, made by `npm test`'s pretest step) as a child
 * process, the way a user or a cron job does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerChildProcess } from './leak-check.js';

export const CLI = fileURLToPath(new URL('../bin/failsafe.js', import.meta.url));

/** The password every test repository uses unless a test says otherwise. */
export const TEST_PASSWORD = 'correct horse battery staple';

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  /** Standard output as bytes, for binary output (`restore --stdout`). */
  readonly stdoutBytes: Buffer;
  readonly stderr: string;
}

export interface CliOptions {
  /** Added to a clean environment (no AWS_*, no FAILSAFE_* from the developer's shell). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly input?: string | Buffer;
  readonly cwd?: string;
}

/** Environment of a CLI child: PATH and HOME only, plus the test password. */
export function cliEnv(extra: CliOptions['env'] = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    FAILSAFE_PASSWORD: TEST_PASSWORD,
  };
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Starts the CLI without waiting for it (for kill and concurrency tests). */
export function spawnCli(args: readonly string[], options: CliOptions = {}): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: cliEnv(options.env),
    cwd: options.cwd ?? process.cwd(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) registerChildProcess(child.pid);
  return child;
}

/** Waits for a spawned CLI and collects its output. */
export function collect(child: ChildProcess): Promise<CliResult> {
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const stdoutBytes = Buffer.concat(stdout);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr });
    });
  });
}

/**
 * Runs the CLI to completion.
 *
 * @example const { code, stdout } = await runCli(['snapshots', '--repo', repo, '--json'])
 */
export async function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options);
  const result = collect(child);
  child.stdin?.end(options.input ?? '');
  return result;
}

/** Runs the CLI and fails with its stderr unless it exits 0. Returns stdout. */
export async function cli(args: readonly string[], options: CliOptions = {}): Promise<string> {
  const result = await runCli(args, options);
  if (result.code !== 0) {
    throw new Error(`failsafe ${args.join(' ')} exited ${result.code ?? result.signal}:\n${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}

/** Runs the CLI with --json and parses stdout. */
export async function cliJson<T = unknown>(args: readonly string[], options: CliOptions = {}): Promise<T> {
  return JSON.parse(await cli([...args, '--json'], options)) as T;
}

/** A temporary directory removed by the returned cleanup function. */
export async function tempDir(prefix = 'failsafe-test-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
