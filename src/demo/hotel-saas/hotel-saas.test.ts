import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/postgres.js';
import { quoteIdent, quoteQualified, readTableGraph, type TableGraph } from '../../postgres/catalog.js';
import type { PgSession } from '../../postgres/connection.js';
import {
  CROSS_TENANT_REFERENCE,
  HOTEL_SAAS_SCHEMA_SQL,
  HOTEL_SAAS_SHARED_TABLES,
  HOTEL_SAAS_TENANCY,
  createHotelSaas,
  mutateHotelSaas,
  type HotelSaasOptions,
  type HotelSaasSummary,
} from './index.js';

interface Loaded {
  readonly db: TestDatabase;
  readonly session: PgSession;
  readonly summary: HotelSaasSummary;
}

const databases: TestDatabase[] = [];
const sessions: PgSession[] = [];

async function load(prefix: string, options: HotelSaasOptions): Promise<Loaded> {
  const db = await createTestDatabase(prefix);
  databases.push(db);
  const session = await db.connect();
  sessions.push(session);
  return { db, session, summary: await createHotelSaas(session, options) };
}

/** SHA-256 of each table's `COPY (SELECT * ... ORDER BY key) TO STDOUT` bytes. */
async function tablePrints(session: PgSession, graph: TableGraph): Promise<Map<string, string>> {
  const prints = new Map<string, string>();
  for (const table of graph.tables.values()) {
    const hash = createHash('sha256');
    const order = table.key.map(quoteIdent).join(', ');
    for await (const chunk of session.copyOut(`COPY (SELECT * FROM ${quoteQualified(table.name)} ORDER BY ${order}) TO STDOUT`)) hash.update(chunk as Buffer);
    prints.set(table.name, hash.digest('hex'));
  }
  return prints;
}

/** Rows whose foreign key finds no parent (NULL in any key column means "no reference"). */
async function orphans(session: PgSession, graph: TableGraph): Promise<string[]> {
  const found: string[] = [];
  for (const fk of graph.foreignKeys) {
    const match = fk.fromColumns.map((c, i) => `p.${quoteIdent(fk.toColumns[i]!)} = c.${quoteIdent(c)}`).join(' AND ');
    const { rows } = await session.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ${quoteQualified(fk.from)} c
        WHERE ${fk.fromColumns.map((c) => `c.${quoteIdent(c)} IS NOT NULL`).join(' AND ')}
          AND NOT EXISTS (SELECT 1 FROM ${quoteQualified(fk.to)} p WHERE ${match})`,
    );
    if (rows[0]!.n !== '0') found.push(`${fk.name}: ${rows[0]!.n}`);
  }
  return found;
}

/** Rows of tables that carry the tenant column whose foreign key points at a row of another hotel. */
async function crossTenantRows(session: PgSession, graph: TableGraph): Promise<{ fk: string; key: string }[]> {
  const tenantColumn = (table: string): string | undefined =>
    table === HOTEL_SAAS_TENANCY.root ? HOTEL_SAAS_TENANCY.key : graph.tables.get(table)!.columns.some((c) => c.name === 'hotel_id') ? 'hotel_id' : undefined;
  const found: { fk: string; key: string }[] = [];
  for (const fk of graph.foreignKeys) {
    const child = tenantColumn(fk.from);
    const parent = tenantColumn(fk.to);
    if (child === undefined || parent === undefined) continue;
    const key = graph.tables.get(fk.from)!.key.map((c) => `c.${quoteIdent(c)}`);
    const { rows } = await session.query<{ key: string }>(
      `SELECT concat_ws(',', ${key.join(', ')}) AS key FROM ${quoteQualified(fk.from)} c
         JOIN ${quoteQualified(fk.to)} p ON ${fk.fromColumns.map((col, i) => `p.${quoteIdent(fk.toColumns[i]!)} = c.${quoteIdent(col)}`).join(' AND ')}
        WHERE c.${quoteIdent(child)} <> p.${quoteIdent(parent)}`,
    );
    for (const row of rows) found.push({ fk: fk.name, key: row.key });
  }
  return found;
}

describe('hotel-SaaS sample database', () => {
  let a: Loaded;
  let graph: TableGraph;

  beforeAll(async () => {
    a = await load('hotel_saas_a', { scale: 1 });
    graph = await readTableGraph(a.session);
  });
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.end()));
    await Promise.all(databases.map((db) => db.drop()));
  });

  it('creates the whole schema from the DDL string alone', async () => {
    const db = await createTestDatabase('hotel_saas_ddl');
    databases.push(db);
    const session = await db.connect();
    sessions.push(session);
    await session.query(HOTEL_SAAS_SCHEMA_SQL);
    const schema = await readTableGraph(session);
    expect([...schema.tables.keys()]).toEqual([...graph.tables.keys()]);
    expect(schema.foreignKeys).toHaveLength(graph.foreignKeys.length);
    const { rows } = await session.query<{ views: string; triggers: string; partitions: string }>(
      `SELECT (SELECT count(*) FROM pg_views WHERE schemaname = 'public')::text AS views,
              (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal)::text AS triggers,
              (SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.stay_night'::regclass)::text AS partitions`,
    );
    expect(rows[0]).toEqual({ views: '1', triggers: '5', partitions: '7' });
  });

  it('loads scale 1: 30 tables, 10 hotels of different sizes, row counts as reported', async () => {
    expect(graph.tables.size).toBe(30);
    expect([...graph.tables.values()].filter((t) => t.partitioned).map((t) => t.name)).toEqual(['public.stay_night']);
    expect(Object.keys(a.summary.rows).sort()).toEqual([...graph.tables.keys()].sort());
    for (const table of HOTEL_SAAS_SHARED_TABLES) expect(graph.tables.get(table)?.columns.some((c) => c.name === 'hotel_id')).toBe(false);
    for (const [table, expected] of Object.entries(a.summary.rows)) {
      const { rows } = await a.session.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteQualified(table)}`);
      expect(Number(rows[0]!.n), table).toBe(expected);
      expect(expected, table).toBeGreaterThan(0);
    }
    expect(a.summary.hotels).toBe(10);
    expect(a.summary.tenantIds).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const total = Object.values(a.summary.rows).reduce((x, y) => x + y, 0);
    expect(total / a.summary.hotels).toBeGreaterThan(1_000);
    expect(total / a.summary.hotels).toBeLessThan(3_000);
    const { rows: sizes } = await a.session.query<{ smallest: string; largest: string }>(
      `SELECT min(n)::text AS smallest, max(n)::text AS largest FROM (SELECT count(*) AS n FROM public.booking GROUP BY hotel_id) x`,
    );
    expect(Number(sizes[0]!.largest) / Number(sizes[0]!.smallest)).toBeGreaterThan(1.8);
  });

  it('satisfies every foreign key, and indexes each one', async () => {
    expect(graph.foreignKeys.length).toBeGreaterThan(60);
    const { rows } = await a.session.query<{ conname: string; condeferrable: boolean; convalidated: boolean }>(
      `SELECT conname, condeferrable, convalidated FROM pg_constraint WHERE contype = 'f' AND conparentid = 0 ORDER BY 1`,
    );
    expect(rows.filter((r) => r.condeferrable).map((r) => r.conname)).toEqual(['hotel_general_manager_id_fkey']);
    expect(rows.every((r) => r.convalidated)).toBe(true);
    expect(await orphans(a.session, graph)).toEqual([]);
    const { rows: unindexed } = await a.session.query<{ conname: string }>(
      `SELECT c.conname FROM pg_constraint c
        WHERE c.contype = 'f' AND c.conparentid = 0
          AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid
                             AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
                             AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey)`,
    );
    expect(unindexed).toEqual([]);
  });

  it('is deterministic: the same options give identical COPY bytes, another seed does not', async () => {
    const b = await load('hotel_saas_b', { scale: 1 });
    const c = await load('hotel_saas_c', { scale: 1, seed: 7 });
    const printsA = await tablePrints(a.session, graph);
    expect(await tablePrints(b.session, graph)).toEqual(printsA);
    const printsC = await tablePrints(c.session, graph);
    const differing = [...printsA].filter(([table, print]) => printsC.get(table) !== print).map(([table]) => table);
    expect(differing).toEqual(expect.arrayContaining(['public.hotel', 'public.booking', 'public.guest', 'public.stay_night']));
    expect(differing).not.toContain('public.country');
  });

  it('plants exactly one cross-tenant reference when asked, none otherwise', async () => {
    expect(await crossTenantRows(a.session, graph)).toEqual([]);
    const d = await load('hotel_saas_d', { scale: 1, crossTenantReference: true });
    const planted = d.summary.crossTenantReference!;
    expect(await crossTenantRows(d.session, graph)).toEqual([{ fk: 'booking_guest_id_fkey', key: String(planted.bookingId) }]);
    const { rows } = await d.session.query<{ booking_hotel: number; guest_hotel: number }>(
      `SELECT b.hotel_id AS booking_hotel, g.hotel_id AS guest_hotel FROM public.booking b JOIN public.guest g ON g.id = b.guest_id WHERE b.id = $1`,
      [planted.bookingId],
    );
    expect(rows[0]).toEqual({ booking_hotel: CROSS_TENANT_REFERENCE.tenantId, guest_hotel: CROSS_TENANT_REFERENCE.references.tenantId });
    expect(await orphans(d.session, graph)).toEqual([]);
  });

  it('mutates about the requested fraction, among recent rows, deterministically', async () => {
    const fraction = 0.02;
    const big = ['public.guest', 'public.booking', 'public.booking_room', 'public.stay_night', 'public.folio', 'public.folio_line', 'public.payment', 'public.housekeeping_task'];
    const keyOf = (table: string): string => graph.tables.get(table)!.key.map((c) => `t.${quoteIdent(c)}`).join(`, ':', `);
    await a.session.query('CREATE TEMP TABLE row_print (tbl text, k text, first_key bigint, h text)');
    for (const table of big) {
      const first = quoteIdent(graph.tables.get(table)!.key[0]!);
      await a.session.query(`INSERT INTO row_print SELECT $1, concat(${keyOf(table)}), t.${first}, md5(t::text) FROM ${quoteQualified(table)} t`, [table]);
    }

    const changed = await mutateHotelSaas(a.session, { fraction });

    let measured = 0;
    let before = 0;
    for (const table of big) {
      const first = quoteIdent(graph.tables.get(table)!.key[0]!);
      const { rows } = await a.session.query<{ changed: string; before: string; old_changed: string }>(
        `SELECT count(*) FILTER (WHERE r.h IS DISTINCT FROM md5(t::text))::text AS changed,
                (SELECT count(*) FROM row_print WHERE tbl = $1)::text AS before,
                count(*) FILTER (WHERE r.h IS DISTINCT FROM md5(t::text)
                                   AND t.${first} < (SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY first_key) FROM row_print WHERE tbl = $1))::text AS old_changed
           FROM ${quoteQualified(table)} t LEFT JOIN row_print r ON r.tbl = $1 AND r.k = concat(${keyOf(table)})`,
        [table],
      );
      expect(Number(rows[0]!.changed), table).toBeGreaterThan(0);
      expect(Number(rows[0]!.old_changed), `${table}: changes outside the newest 10%`).toBe(0);
      measured += Number(rows[0]!.changed);
      before += Number(rows[0]!.before);
    }
    expect(measured).toBe(changed);
    expect(changed / before).toBeGreaterThan(fraction * 0.7);
    expect(changed / before).toBeLessThan(fraction * 1.3);
    expect(await orphans(a.session, graph)).toEqual([]);
    expect(await crossTenantRows(a.session, graph)).toEqual([]);

    const b = await load('hotel_saas_e', { scale: 1 });
    expect(await mutateHotelSaas(b.session, { fraction })).toBe(changed);
    expect(await tablePrints(b.session, graph)).toEqual(await tablePrints(a.session, graph));
  });
});
