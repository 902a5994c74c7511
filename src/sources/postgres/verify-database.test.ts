import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test/postgres.js';
import { inTransaction, type PgSession } from '../../postgres/connection.js';
import type { ManifestTable } from './database-manifest.js';
import { hashLoadedTable, hashTable } from './verify-database.js';

/** COPY text of rows `(id, label)`, in the order given. */
function copyText(ids: readonly number[]): string {
  return ids.map((id) => `${id}\tlabel ${id}\n`).join('');
}

function manifestEntry(name: string, ids: readonly number[]): ManifestTable {
  const text = copyText([...ids].sort((a, b) => a - b));
  return {
    name: `public.${name}`,
    schema: 'public',
    table: name,
    file: `tables/public.${name}.copy`,
    columns: ['id', 'label'],
    key: ['id'],
    role: 'whole',
    rows: ids.length,
    bytes: text.length,
    sha256: createHash('sha256').update(text).digest('hex'),
  };
}

async function load(session: PgSession, table: string, ids: readonly number[], freeze: boolean): Promise<void> {
  await session.query(`CREATE TABLE public.${table} (id int, label text)`);
  await inTransaction(session, async () => {
    if (freeze) await session.query(`TRUNCATE public.${table}`);
    await pipeline(Readable.from([copyText(ids)]), session.copyIn(`COPY public.${table} (id, label) FROM STDIN${freeze ? ' (FREEZE)' : ''}`));
  });
}

describe('hashing a loaded table for verification (embedded PostgreSQL)', () => {
  const pg = useTestDatabase('verify_hash');

  it('reads a table loaded frozen in one COPY in the order it was sent', async () => {
    const ids = Array.from({ length: 50_000 }, (_, i) => i + 1);
    await load(pg.session, 'frozen', ids, true);
    const { rows } = await pg.session.query<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT id, lag(id) OVER (ORDER BY ctid) AS before FROM public.frozen) o WHERE id < before`,
    );
    expect(Number(rows[0]!.n)).toBe(0);
    expect(await hashLoadedTable(pg.session, manifestEntry('frozen', ids))).toEqual({ rows: 50_000, sha256: manifestEntry('frozen', ids).sha256 });
  });

  it('still matches the manifest when the rows lie out of key order, and not when a row differs', async () => {
    const ids = [5, 3, 9, 1, 7, 2];
    await load(pg.session, 'shuffled', ids, false);
    const expected = manifestEntry('shuffled', ids);
    expect(await hashLoadedTable(pg.session, expected)).toEqual({ rows: 6, sha256: expected.sha256 });
    expect(await hashTable(pg.session, expected)).toEqual({ rows: 6, sha256: expected.sha256 });

    await pg.session.query(`UPDATE public.shuffled SET label = 'changed' WHERE id = 7`);
    const changed = await hashLoadedTable(pg.session, expected);
    expect(changed.rows).toBe(6);
    expect(changed.sha256).not.toBe(expected.sha256);
  });
});
