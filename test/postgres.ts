/**
 * Per-test-file databases in the run's embedded cluster (started by `postgres-global-setup.ts`).
 * A database is dropped by `drop()` unless the test failed and FAILSAFE_KEEP_DB=1 is set, so it can be
 * inspected with psql.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import { connect, type ConnectionSettings, type PgSession } from '../src/postgres/connection.js';

export interface TestDatabase {
  readonly name: string;
  readonly settings: ConnectionSettings;
  /** URL without the password; pass {@link TestDatabase.env} to child processes. */
  readonly url: string;
  /** PGPASSWORD for a CLI child process. */
  readonly env: Record<string, string>;
  connect(): Promise<PgSession>;
  drop(): Promise<void>;
}

export function clusterSettings(database = 'postgres'): ConnectionSettings {
  const { port, password } = inject('postgres');
  return { host: '127.0.0.1', port, user: 'postgres', password, database, sslMode: 'disable' };
}

/**
 * Creates an empty database (or a copy of `template`) with a unique name.
 *
 * @example
 * const db = await createTestDatabase('plan');
 * const session = await db.connect();
 */
export async function createTestDatabase(prefix: string, template?: string): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`.toLowerCase();
  const admin = await connect(clusterSettings());
  try {
    await admin.query(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`);
  } finally {
    await admin.end();
  }
  const settings = clusterSettings(name);
  return {
    name,
    settings,
    url: `postgres://postgres@127.0.0.1:${settings.port}/${name}?sslmode=disable`,
    env: { PGPASSWORD: settings.password! },
    connect: () => connect(settings),
    async drop() {
      if (process.env['FAILSAFE_KEEP_DB'] === '1') return;
      const session = await connect(clusterSettings());
      try {
        await session.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await session.end();
      }
    },
  };
}

/** A file's test database and one session on it, ready in `beforeAll` and gone in `afterAll`. */
export interface TestDatabaseSession {
  readonly db: TestDatabase;
  readonly session: PgSession;
}

/**
 * Registers the hooks that create a test database for the enclosing `describe` (or file), connect
 * one session to it, and end the session and drop the database afterwards.
 *
 * @example
 * const pg = useTestDatabase('verify_hash');
 * it('...', async () => { await pg.session.query('SELECT 1'); });
 */
export function useTestDatabase(prefix: string): TestDatabaseSession {
  let db: TestDatabase | undefined;
  let session: PgSession | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(prefix);
    session = await db.connect();
  });
  afterAll(async () => {
    await session?.end();
    await db?.drop();
  });
  return {
    get db() {
      if (!db) throw new Error('the test database is made in beforeAll');
      return db;
    },
    get session() {
      if (!session) throw new Error('the test database is made in beforeAll');
      return session;
    },
  };
}
