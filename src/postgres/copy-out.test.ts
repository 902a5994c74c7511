import fc from 'fast-check';
import pg from 'pg';
import { to as libraryCopyTo } from 'pg-copy-streams';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/postgres.js';
import { CopyOutStream } from './copy-out.js';

async function collect(stream: Readable, pauseEvery = 0): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of stream as AsyncIterable<Buffer>) {
    pieces.push(Buffer.from(piece));
    if (pauseEvery > 0 && pieces.length % pauseEvery === 0) await sleep(5);
  }
  return Buffer.concat(pieces);
}

describe('CopyOutStream (embedded PostgreSQL)', () => {
  let db: TestDatabase;
  let client: pg.Client;
  const copyOut = (sql: string): Readable => client.query(new CopyOutStream(sql));
  /** The same COPY through pg-copy-streams, the reference. */
  const reference = (sql: string): Promise<Buffer> => collect(client.query(libraryCopyTo(sql)));

  beforeAll(async () => {
    db = await createTestDatabase('copy_out');
    const { host, port, user, password, database } = db.settings;
    client = new pg.Client({ host, port, user, password, database });
    client.on('error', () => {});
    await client.connect();
    await client.query(`CREATE TABLE t (id int PRIMARY KEY, body text)`);
    // Tiny rows, rows of one message spread over many socket reads (64 KiB, 3 MiB), escapes, non-ASCII.
    await client.query(`INSERT INTO t SELECT x, CASE WHEN x % 1000 = 7 THEN repeat('w', 70000)
                                                  WHEN x = 5000 THEN repeat(E'\\t\\\\é\\n', 800000)
                                                  ELSE 'row ' || x END
                          FROM generate_series(1, 20000) x`);
  });
  afterAll(async () => {
    await client.end();
    await db.drop();
  });

  it('yields exactly the bytes pg-copy-streams does, however the rows fall on socket reads', async () => {
    const sql = 'COPY (SELECT * FROM t ORDER BY id) TO STDOUT';
    const expected = await reference(sql);
    expect(expected.length).toBeGreaterThan(4_000_000);
    expect((await collect(copyOut(sql))).equals(expected)).toBe(true);
    // A consumer that stops now and then: the socket waits for it, nothing is lost.
    expect((await collect(copyOut(sql), 3)).equals(expected)).toBe(true);
    expect((await client.query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(20000);
  });

  it('skips notices the server sends between rows', async () => {
    await client.query(`CREATE FUNCTION noisy(x int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'row %', x; RETURN x; END $$`);
    const sql = 'COPY (SELECT noisy(x), repeat(chr(65 + x % 26), x % 300) FROM generate_series(1, 3000) x) TO STDOUT';
    const notices: string[] = [];
    const onNotice = (notice: { message?: string }): void => void notices.push(notice.message ?? '');
    client.on('notice', onNotice);
    try {
      const expected = await reference(sql);
      const received = await collect(copyOut(sql));
      expect(received.equals(expected)).toBe(true);
      expect(received.toString('utf8').split('\n')).toHaveLength(3001);
    } finally {
      client.off('notice', onNotice);
    }
  });

  it('fails with the server error, before the first row or in the middle, and the session goes on', async () => {
    await expect(collect(copyOut('COPY no_such_table TO STDOUT'))).rejects.toThrow(/relation "no_such_table" does not exist/);
    expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    const failing = 'COPY (SELECT x, 1 / (x - 15000) FROM generate_series(1, 20000) x) TO STDOUT';
    await expect(collect(copyOut(failing))).rejects.toThrow(/division by zero/);
    expect((await client.query('SELECT 2 AS two')).rows[0].two).toBe(2);
    // Empty result: no rows, a clean end.
    expect((await collect(copyOut('COPY (SELECT 1 WHERE false) TO STDOUT'))).length).toBe(0);
  });

  it('matches pg-copy-streams on random rows (property)', async () => {
    await client.query('CREATE TABLE r (n int, a text, b text)');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.string({ unit: 'binary', maxLength: 200 }), fc.option(fc.string({ maxLength: 5000 }))), { maxLength: 300 }), async (rows) => {
        await client.query('TRUNCATE r');
        const clean = (text: string): string => text.replace(/\0/g, '');
        for (let start = 0; start < rows.length; start += 100) {
          const batch = rows.slice(start, start + 100);
          const values = batch.map((_, i) => `($${3 * i + 1}::int, $${3 * i + 2}, $${3 * i + 3})`).join(', ');
          if (batch.length > 0) await client.query(`INSERT INTO r VALUES ${values}`, batch.flatMap(([a, b], i) => [start + i, clean(a), b === null ? null : clean(b)]));
        }
        const sql = 'COPY (SELECT * FROM r ORDER BY n) TO STDOUT';
        expect((await collect(copyOut(sql))).equals(await reference(sql))).toBe(true);
      }),
      { numRuns: 25 },
    );
  });
});
