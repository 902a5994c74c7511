/**
 * Connecting to PostgreSQL: URL parsing with libpq's sslmode semantics, TLS when the server offers it,
 * and errors classified into failsafe's codes.
 *
 * The rest of failsafe depends on {@link SqlClient} (one method) or {@link PgSession} (query plus COPY),
 * never on `pg`'s own types, so a transaction, a pool or a fault-injecting wrapper can stand in.
 */
import type { Readable, Writable } from 'node:stream';
import type { Client, ClientConfig } from 'pg';
import { parse as parseConnectionString } from 'pg-connection-string';
import { FailsafeError } from '../core/errors.js';
import { CopyOutStream } from './copy-out.js';

/** The slice of a PostgreSQL client that catalog queries and planners need. */
export interface SqlClient {
  query<Row extends object = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: Row[] }>;
}

/** One server session: queries plus COPY streams. */
export interface PgSession extends SqlClient {
  /** `COPY ... TO STDOUT`: the server's bytes as a stream. */
  copyOut(sql: string): Readable;
  /** `COPY ... FROM STDIN`: write the rows, then end the stream; `finish` fires when the server accepted them. */
  copyIn(sql: string): Writable;
  /** The server's major version, e.g. 15. */
  readonly serverVersion: number;
  /** Whether the session runs over TLS. */
  readonly encrypted: boolean;
  end(): Promise<void>;
}

/** sslmode as libpq defines it; `prefer` (the default) uses TLS when the server offers it. */
export type SslMode = 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

export interface ConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  /** Absent: taken from PGPASSWORD by the driver. */
  readonly password?: string;
  readonly sslMode?: SslMode;
  /** TLS settings from the URL (sslrootcert, sslcert, sslkey already read). */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
}

const SSL_MODES: readonly SslMode[] = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'];

/**
 * Parses `postgres://user@host:port/db?sslmode=...`. The password, if the URL has one, is kept; callers
 * that took the URL from the command line refuse it first ({@link urlHasPassword}).
 *
 * @example
 * parsePostgresUrl('postgres://app@db.internal/app?sslmode=verify-full&sslrootcert=/etc/ca.pem')
 */
export function parsePostgresUrl(url: string): ConnectionSettings {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new FailsafeError('CONFIG', `not a PostgreSQL URL: ${redactUrl(url)} (expected postgres://user@host:port/database)`);
  }
  let parsed: ReturnType<typeof parseConnectionString>;
  try {
    parsed = parseConnectionString(url, { useLibpqCompat: true });
  } catch (err) {
    throw new FailsafeError('CONFIG', `invalid PostgreSQL URL ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
  const sslMode = (parsed['sslmode'] as string | undefined) ?? 'prefer';
  if (!SSL_MODES.includes(sslMode as SslMode)) {
    throw new FailsafeError('CONFIG', `invalid sslmode "${sslMode}" in ${redactUrl(url)} (use ${SSL_MODES.join(', ')})`);
  }
  const ssl = typeof parsed.ssl === 'object' ? parsed.ssl : {};
  const tls = {
    ...(ssl.ca ? { ca: ssl.ca } : {}),
    ...(ssl.cert ? { cert: ssl.cert } : {}),
    ...(ssl.key ? { key: ssl.key } : {}),
  };
  return {
    host: parsed.host ?? process.env['PGHOST'] ?? '127.0.0.1',
    port: Number(parsed.port ?? process.env['PGPORT'] ?? 5432),
    user: parsed.user ?? process.env['PGUSER'] ?? 'postgres',
    database: parsed.database ?? process.env['PGDATABASE'] ?? parsed.user ?? 'postgres',
    ...(parsed.password ? { password: parsed.password } : {}),
    sslMode: sslMode as SslMode,
    ...(Object.keys(tls).length > 0 ? { tls } : {}),
  };
}

/**
 * Settings for a URL written in a file (a migration's source or target), the password from
 * `env[passwordEnv]`, else PGPASSWORD, else the driver's ~/.pgpass. A named variable that is unset is
 * a `USAGE` error naming `what` the database is.
 */
export function settingsFromUrl(url: string, passwordEnv: string | undefined, env: NodeJS.ProcessEnv, what: string): ConnectionSettings {
  const settings = parsePostgresUrl(url);
  const password = env[passwordEnv ?? 'PGPASSWORD'];
  if (passwordEnv !== undefined && !password) throw new FailsafeError('USAGE', `${what}: environment variable ${passwordEnv} (its password) is not set`);
  return password ? { ...settings, password } : settings;
}

/**
 * Runs `work` in a transaction on `client`: committed when it resolves, rolled back (and its error
 * thrown on) when it rejects.
 *
 * @example const changed = await inTransaction(session, () => mutate(session));
 */
export async function inTransaction<T>(client: SqlClient, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** True when the URL carries a password (which must not come from argv). */
export function urlHasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}

/** The URL with any password replaced by `***`, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

/** `user@host:port/database`, for messages. */
export function describeConnection(settings: ConnectionSettings): string {
  return `${settings.user}@${settings.host}:${settings.port}/${settings.database}`;
}

/**
 * Opens a session. With sslmode `prefer` TLS is tried first and plain TCP only when the server says it
 * does not do TLS, as libpq does. Errors are classified: unreachable → UNAVAILABLE (retryable), refused
 * credentials → PERMISSION, unknown database → NOT_FOUND.
 */
export async function connect(settings: ConnectionSettings, applicationName = 'failsafe'): Promise<PgSession> {
  const mode = settings.sslMode ?? 'prefer';
  try {
    return await open(settings, applicationName, mode);
  } catch (err) {
    if (mode === 'prefer' && /does not support SSL/i.test((err as Error).message)) {
      try {
        return await open(settings, applicationName, 'disable');
      } catch (plainErr) {
        throw classifyConnectError(settings, plainErr);
      }
    }
    throw classifyConnectError(settings, err);
  }
}

type CopyStreams = Pick<typeof import('pg-copy-streams'), 'from'>;

/** The driver, imported on the first connection: loading it costs every command ~35 ms, and most never connect. */
async function loadDriver(): Promise<{ readonly Client: typeof Client; readonly copy: CopyStreams }> {
  const [pg, copy] = await Promise.all([import('pg'), import('pg-copy-streams')]);
  return { Client: pg.default.Client, copy: { from: copy.from } };
}

async function open(settings: ConnectionSettings, applicationName: string, mode: SslMode): Promise<PgSession> {
  const driver = await loadDriver();
  const client = new driver.Client({
    host: settings.host,
    port: settings.port,
    user: settings.user,
    database: settings.database,
    ...(settings.password === undefined ? {} : { password: settings.password }),
    ssl: sslOptions(mode, settings),
    application_name: applicationName,
    // Our queries are long-running scans and semi-joins that PostgreSQL's JIT would compile first: on
    // PostgreSQL 15 that compilation took 0.8 s of a 1.4 s tenant closure query, and it runs again for
    // every table's COPY. failsafe's sessions never gain from it.
    options: '-c jit=off',
    connectionTimeoutMillis: 15_000,
    keepAlive: true,
  });
  // A server that goes away mid-session emits 'error' on the client; the pending query rejects with it.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
  const version = await client.query<{ server_version_num: string }>('SHOW server_version_num');
  const serverVersion = Math.floor(Number(version.rows[0]!.server_version_num) / 10_000);
  return new PgClientSession(client, driver.copy, serverVersion, mode !== 'disable');
}

function sslOptions(mode: SslMode, settings: ConnectionSettings): ClientConfig['ssl'] {
  const tls = settings.tls ?? {};
  switch (mode) {
    case 'disable':
      return false;
    case 'prefer':
    case 'require':
      return tls.ca ? { ...tls, checkServerIdentity: () => undefined } : { ...tls, rejectUnauthorized: false };
    case 'verify-ca':
      if (!tls.ca) throw new FailsafeError('CONFIG', 'sslmode=verify-ca needs sslrootcert=FILE in the URL');
      return { ...tls, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { ...tls };
  }
}

class PgClientSession implements PgSession {
  readonly #client: Client;
  readonly #copy: CopyStreams;
  readonly serverVersion: number;
  readonly encrypted: boolean;

  constructor(client: Client, copy: CopyStreams, serverVersion: number, encrypted: boolean) {
    this.#client = client;
    this.#copy = copy;
    this.serverVersion = serverVersion;
    this.encrypted = encrypted;
  }

  async query<Row extends object>(text: string, values?: readonly unknown[]): Promise<{ rows: Row[] }> {
    const result = await this.#client.query(text, values as unknown[] | undefined);
    return { rows: result.rows as Row[] };
  }

  copyOut(sql: string): Readable {
    return this.#client.query(new CopyOutStream(sql));
  }

  copyIn(sql: string): Writable {
    return this.#client.query(this.#copy.from(sql));
  }

  async end(): Promise<void> {
    await this.#client.end();
  }
}

function classifyConnectError(settings: ConnectionSettings, err: unknown): FailsafeError {
  if (err instanceof FailsafeError) return err;
  const where = describeConnection(settings);
  const code = (err as { code?: string }).code;
  const message = (err as Error).message ?? String(err);
  if (code === '28P01' || code === '28000') {
    return new FailsafeError('PERMISSION', `PostgreSQL ${where} refused the login: ${message}`, {
      cause: err,
      hint: 'check the user and the password (PGPASSWORD, ~/.pgpass or the password in the config)',
    });
  }
  if (code === '3D000') return new FailsafeError('NOT_FOUND', `PostgreSQL ${where}: ${message}`, { cause: err });
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT' || /timeout/i.test(message)) {
    return new FailsafeError('UNAVAILABLE', `cannot reach PostgreSQL at ${settings.host}:${settings.port} (${code ?? message})`, {
      cause: err,
      retryable: true,
    });
  }
  if (/certificate|self.signed|SSL|TLS/i.test(message)) {
    return new FailsafeError('PERMISSION', `TLS with PostgreSQL ${where} failed: ${message}`, {
      cause: err,
      hint: 'check sslmode and sslrootcert in the URL',
    });
  }
  return new FailsafeError('UNAVAILABLE', `PostgreSQL ${where}: ${message}`, { cause: err, retryable: true });
}
