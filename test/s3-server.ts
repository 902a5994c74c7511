/**
 * A real S3-compatible server (s3rver) on loopback for tests, run in a child process.
 *
 * s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 refuses unless the legacy
 * provider is loaded; loading it into the test process would change crypto for everything else, so the
 * server gets its own `node --openssl-legacy-provider` process. The child exits when its stdin closes, so
 * it cannot outlive the test process even if that one is killed.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { registerChildProcess } from './leak-check.js';

export interface S3ServerOptions {
  /** Buckets to create before the server accepts requests. */
  readonly buckets: readonly string[];
}

export interface S3Server {
  /** `http://127.0.0.1:<port>`; use path-style addressing. */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Where s3rver keeps the objects; removed by `stop()`. */
  readonly dataDir: string;
  stop(): Promise<void>;
}

const CHILD_SCRIPT = fileURLToPath(new URL('./s3-server-process.cjs', import.meta.url));
const STARTUP_TIMEOUT_MS = 15_000;
/** `S3RVER_DEBUG=1` makes s3rver log every request to the test's stderr. */
const DEBUG = process.env.S3RVER_DEBUG === '1';

/**
 * Starts s3rver on 127.0.0.1 with a random port and the given buckets.
 *
 * @example
 * const server = await startS3Server({ buckets: ['test'] });
 * try { ... new S3Storage({ bucket: 'test', endpoint: server.endpoint, ... }) } finally { await server.stop() }
 */
export async function startS3Server(options: S3ServerOptions): Promise<S3Server> {
  const dataDir = await mkdtemp(join(tmpdir(), 'failsafe-s3rver-'));
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', CHILD_SCRIPT, JSON.stringify({ dataDir, buckets: options.buckets })],
    { stdio: 'pipe' },
  );
  if (child.pid !== undefined) registerChildProcess(child.pid);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    if (DEBUG) process.stderr.write(chunk);
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.end();
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killTimer);
    }
    child.stdout.destroy();
    child.stderr.destroy();
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    const port = await readPort(child.stdout, exited, () => stderr);
    // Keep draining stdout so a chatty child never blocks on a full pipe.
    child.stdout.on('data', (chunk: Buffer) => DEBUG && process.stderr.write(chunk));
    return {
      endpoint: `http://127.0.0.1:${port}`,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      dataDir,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function readPort(stdout: NodeJS.ReadableStream, exited: Promise<void>, stderr: () => string): Promise<number> {
  const lines = createInterface({ input: stdout });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      new Promise<number>((resolve) => {
        lines.on('line', (line) => {
          // s3rver's own log lines (S3RVER_DEBUG=1) share stdout with the port announcement.
          const port = line.startsWith('{"port":') ? (JSON.parse(line) as { port: unknown }).port : undefined;
          if (typeof port === 'number') resolve(port);
          else if (DEBUG) process.stderr.write(`${line}\n`);
        });
      }),
      exited.then(() => Promise.reject(new Error(`s3rver child exited during startup: ${stderr()}`))),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('s3rver child did not start in time')), STARTUP_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    lines.close();
  }
}
