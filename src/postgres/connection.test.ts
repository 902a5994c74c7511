import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isErrorCode } from '../core/errors.js';
import { createTestDatabase, type TestDatabase } from '../../test/postgres.js';
import { connect, parsePostgresUrl, redactUrl, urlHasPassword } from './connection.js';

describe('parsePostgresUrl', () => {
  it('reads host, port, user, database and sslmode (prefer by default)', () => {
    expect(parsePostgresUrl('postgres://app@db.internal:6432/sales')).toMatchObject({
      host: 'db.internal',
      port: 6432,
      user: 'app',
      database: 'sales',
      sslMode: 'prefer',
    });
    expect(parsePostgresUrl('postgresql://app@h/db?sslmode=disable').sslMode).toBe('disable');
  });

  it('refuses a bad sslmode and a non-postgres URL with the password redacted', () => {
    expect(() => parsePostgresUrl('postgres://a@h/db?sslmode=maybe')).toThrow(/invalid sslmode "maybe"/);
    expect(() => parsePostgresUrl('mysql://a:secret@h/db')).toThrow(/not a PostgreSQL URL/);
    expect(() => parsePostgresUrl('mysql://a:secret@h/db')).not.toThrow(/secret/);
  });

  it('tells whether a URL carries a password and redacts it', () => {
    expect(urlHasPassword('postgres://a:pw@h/db')).toBe(true);
    expect(urlHasPassword('postgres://a@h/db')).toBe(false);
    expect(redactUrl('postgres://a:pw@h/db')).toBe('postgres://a:***@h/db');
  });
});

describe('connect (embedded PostgreSQL)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('connection');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('falls back to plain TCP when the server does not offer TLS under sslmode=prefer', async () => {
    const session = await connect({ ...db.settings, sslMode: 'prefer' });
    try {
      expect(session.encrypted).toBe(false);
      expect(session.serverVersion).toBeGreaterThanOrEqual(15);
    } finally {
      await session.end();
    }
  });

  it('fails with sslmode=require when the server has no TLS', async () => {
    await expect(connect({ ...db.settings, sslMode: 'require' })).rejects.toThrow(/does not support SSL/);
  });

  it('classifies a wrong password, an unknown database and an unreachable server', async () => {
    const wrong = await connect({ ...db.settings, password: 'nope' }).catch((err: unknown) => err);
    expect(isErrorCode(wrong, 'PERMISSION')).toBe(true);
    const missing = await connect({ ...db.settings, database: 'no_such_db' }).catch((err: unknown) => err);
    expect(isErrorCode(missing, 'NOT_FOUND')).toBe(true);
    const down = await connect({ ...db.settings, port: 1 }).catch((err: unknown) => err);
    expect(isErrorCode(down, 'UNAVAILABLE')).toBe(true);
    expect((down as Error).message).toMatch(/cannot reach PostgreSQL at 127.0.0.1:1/);
  });

  it('streams COPY out and in', async () => {
    const session = await db.connect();
    try {
      await session.query('CREATE TABLE t (id int PRIMARY KEY, note text)');
      const input = session.copyIn('COPY t FROM STDIN');
      await new Promise<void>((resolve, reject) => {
        input.on('finish', resolve).on('error', reject);
        input.end('1\tone\n2\ttwo\n');
      });
      const chunks: Buffer[] = [];
      for await (const chunk of session.copyOut('COPY (SELECT * FROM t ORDER BY id) TO STDOUT')) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('1\tone\n2\ttwo\n');
    } finally {
      await session.end();
    }
  });
});
