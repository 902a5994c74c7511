import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/postgres.js';
import { isErrorCode } from '../core/errors.js';
import type { PgSession } from '../postgres/connection.js';
import { DatasetGraph } from './dataset-graph.js';
import { defineMigration, type MigrationDefinition } from './definition.js';
import { loadMigration, type LoadedMigration } from './load-migration.js';
import { stageTenant, type StageTenantOptions } from './stage-tenant.js';
import { StagingStore } from './staging-store.js';

const LEGACY_SQL = `
CREATE TABLE gc_property (property_id int PRIMARY KEY, prop_name text NOT NULL, tz text);
CREATE TABLE gc_guest (property_id int REFERENCES gc_property, guest_no int, first text, last text, referred_by int,
                       PRIMARY KEY (property_id, guest_no));
CREATE TABLE gc_pref (property_id int, guest_no int, pref_no int, pref text, PRIMARY KEY (property_id, guest_no, pref_no));
INSERT INTO gc_property VALUES (1, 'Harbour House', 'Europe/Dublin'), (2, 'Other Hotel', NULL);
INSERT INTO gc_guest SELECT 1, g, 'First' || g, CASE WHEN g = 13 THEN NULL ELSE 'Last' || g END, CASE WHEN g = 14 THEN 13 WHEN g > 1 THEN 1 END FROM generate_series(1, 25) g;
INSERT INTO gc_guest SELECT 2, g, 'Other' || g, 'X', NULL FROM generate_series(1, 5) g;
INSERT INTO gc_pref SELECT 1, g, p, 'pref ' || p FROM generate_series(1, 25) g, generate_series(1, 2) p;
INSERT INTO gc_pref VALUES (1, 99, 1, 'for a guest that does not exist');
`;

const load = { endpoint: '/records', ids: (response: unknown) => response as number[] };

/** Guest 13 has no last name, so its transform throws; guest 14 was introduced by guest 13; preference 99 names a guest that does not exist. */
function legacyMigration(guestName: (row: Record<string, unknown>) => string = (row) => `${row.first} ${String(row.last).toUpperCase()}`): MigrationDefinition {
  return defineMigration({
    datasets: {
      hotel: {
        extract: 'SELECT * FROM gc_property WHERE property_id = $1::int',
        key: ['property_id'],
        transform: (row) => ({ name: row.prop_name, timezone: row.tz ?? 'UTC' }),
        load,
      },
      guest: {
        dependsOn: ['hotel'],
        extract: 'SELECT * FROM gc_guest WHERE property_id = $1::int',
        key: ['property_id', 'guest_no'],
        transform: (row, ctx) => {
          if (row.last === null) throw new Error('guest has no last name');
          return {
            hotelId: ctx.ref('hotel', row.property_id),
            name: guestName(row),
            referredBy: row.referred_by === null ? null : ctx.ref('guest', [row.property_id, row.referred_by]),
          };
        },
        load,
      },
      preference: {
        dependsOn: ['guest'],
        extract: 'SELECT * FROM gc_pref WHERE property_id = $1::int',
        key: ['property_id', 'guest_no', 'pref_no'],
        transform: (row, ctx) => ({ guestId: ctx.ref('guest', [row.property_id, row.guest_no]), text: row.pref }),
        load,
      },
    },
  });
}

function loaded(definition: MigrationDefinition): LoadedMigration {
  return { file: 'migration.ts', definition, graph: DatasetGraph.of(definition, 'migration.ts'), hash: 'test' };
}

describe('stageTenant', () => {
  let source: TestDatabase;
  let staging: TestDatabase;
  let sourceSession: PgSession;
  let stagingSession: PgSession;

  beforeAll(async () => {
    [source, staging] = await Promise.all([createTestDatabase('migrate_src'), createTestDatabase('migrate_stage')]);
    [sourceSession, stagingSession] = await Promise.all([source.connect(), staging.connect()]);
    await sourceSession.query(LEGACY_SQL);
  });
  afterAll(async () => {
    await Promise.all([sourceSession, stagingSession].map((session) => session.end()));
    await Promise.all([source, staging].map((db) => db.drop()));
  });

  const stage = (options: Partial<StageTenantOptions> & { name: string }) =>
    stageTenant({ migration: loaded(legacyMigration()), tenant: '1', source: sourceSession, staging: stagingSession, batchSize: 7, ...options });

  async function staged(name: string, dataset: string): Promise<Map<string, Record<string, unknown>>> {
    const { rows } = await stagingSession.query<{ record_key: string; record: Record<string, unknown> }>(
      'SELECT record_key, record FROM failsafe_migrate.staged WHERE migration = $1 AND tenant = $2 AND dataset = $3',
      [name, '1', dataset],
    );
    return new Map(rows.map((row) => [row.record_key, row.record]));
  }

  async function deadLetters(name: string): Promise<string[]> {
    const { rows } = await stagingSession.query<{ dataset: string; record_key: string; error: string }>(
      'SELECT dataset, record_key, error FROM failsafe_migrate.dead_letter WHERE migration = $1 ORDER BY dataset, record_key',
      [name],
    );
    return rows.map((row) => `${row.dataset} ${row.record_key}: ${row.error}`);
  }

  it("stages the tenant's rows in dependency order, with references, and dead-letters the rows that fail", async () => {
    const result = await stage({ name: 'first' });
    expect(result.datasets).toEqual([
      { dataset: 'hotel', outcome: 'staged', rowsRead: 1, records: 1, rejected: 0 },
      { dataset: 'guest', outcome: 'staged', rowsRead: 25, records: 23, rejected: 2 },
      { dataset: 'preference', outcome: 'staged', rowsRead: 51, records: 46, rejected: 5 },
    ]);
    const guests = await staged('first', 'guest');
    expect(guests.get('["1","2"]')).toEqual({ hotelId: { $ref: ['hotel', ['1']] }, name: 'First2 LAST2', referredBy: { $ref: ['guest', ['1', '1']] } });
    expect(guests.get('["1","1"]')).toMatchObject({ referredBy: null });
    expect(await deadLetters('first')).toEqual([
      'guest ["1","13"]: transform failed: guest has no last name',
      'guest ["1","14"]: reference to guest ["1","13"]: no such record staged',
      'preference ["1","13","1"]: reference to guest ["1","13"]: no such record staged',
      'preference ["1","13","2"]: reference to guest ["1","13"]: no such record staged',
      'preference ["1","14","1"]: reference to guest ["1","14"]: no such record staged',
      'preference ["1","14","2"]: reference to guest ["1","14"]: no such record staged',
      'preference ["1","99","1"]: reference to guest ["1","99"]: no such record staged',
    ]);
  });

  it('goes on after the last committed batch when interrupted, and keeps finished datasets', async () => {
    const controller = new AbortController();
    const interrupted = stage({
      name: 'resumed',
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.dataset === 'guest' && progress.done >= 14) controller.abort(new Error('killed'));
      },
    });
    await expect(interrupted).rejects.toThrow('killed');
    expect((await staged('resumed', 'guest')).size).toBeGreaterThan(0);
    const result = await stage({ name: 'resumed' });
    expect(result.datasets.map((d) => `${d.dataset} ${d.outcome} ${d.rowsRead} ${d.records} ${d.rejected}`)).toEqual([
      'hotel kept 1 1 0',
      'guest resumed 25 23 2',
      'preference staged 51 46 5',
    ]);
    expect([...(await staged('resumed', 'guest')).keys()].sort()).toEqual([...(await staged('first', 'guest')).keys()].sort());
  });

  it('restages a dataset with a changed mapping: records replaced, none left from the earlier run', async () => {
    await sourceSession.query('DELETE FROM gc_pref WHERE guest_no = 25');
    try {
      const result = await stageTenant({
        migration: loaded(legacyMigration((row) => `${row.last}, ${row.first}`)),
        name: 'first',
        tenant: '1',
        source: sourceSession,
        staging: stagingSession,
        restage: ['guest', 'preference'],
      });
      expect(result.datasets.map((d) => d.outcome)).toEqual(['kept', 'staged', 'staged']);
      expect((await staged('first', 'guest')).get('["1","2"]')).toMatchObject({ name: 'Last2, First2' });
      expect((await staged('first', 'preference')).has('["1","25","1"]')).toBe(false);
      expect((await deadLetters('first')).filter((line) => line.startsWith('guest'))).toHaveLength(2);
    } finally {
      await sourceSession.query("INSERT INTO gc_pref SELECT 1, 25, p, 'pref ' || p FROM generate_series(1, 2) p");
    }
  });

  it('keys the records of one row by their ctx.keyed names, so one that goes away does not shift the others', async () => {
    const withNames = (names: (row: Record<string, unknown>) => string[]) => {
      const base = legacyMigration();
      return loaded({
        datasets: {
          hotel: base.datasets.hotel!,
          contact: {
            dependsOn: ['hotel'],
            extract: 'SELECT * FROM gc_guest WHERE property_id = $1::int AND guest_no <= 2',
            key: ['property_id', 'guest_no'],
            transform: (row, ctx) => names(row).map((name) => ctx.keyed(name, { via: name, guest: row.guest_no })),
            load,
          },
        },
      });
    };
    await stage({ name: 'keyed', migration: withNames(() => ['email', 'phone']) });
    expect([...(await staged('keyed', 'contact')).entries()].sort()).toEqual([
      ['["1","1"]#email', { via: 'email', guest: 1 }],
      ['["1","1"]#phone', { via: 'phone', guest: 1 }],
      ['["1","2"]#email', { via: 'email', guest: 2 }],
      ['["1","2"]#phone', { via: 'phone', guest: 2 }],
    ]);
    await stage({ name: 'keyed', migration: withNames((row) => (row.guest_no === 1 ? ['phone'] : ['email', 'phone'])), restage: ['contact'] });
    expect([...(await staged('keyed', 'contact')).keys()].sort()).toEqual(['["1","1"]#phone', '["1","2"]#email', '["1","2"]#phone']);
    await expect(stage({ name: 'keyed2', migration: withNames(() => ['email', 'email']) })).rejects.toThrow(/dataset contact gives two records of row \["1","1"\] the name "email"/);
  });

  it('stops with a CONFIG error naming the file when an extract does not run, a reference skips dependsOn, or a key names two rows', async () => {
    const broken = legacyMigration();
    const badExtract = { datasets: { ...broken.datasets, hotel: { ...broken.datasets.hotel!, extract: 'SELECT * FROM gc_nowhere WHERE $1::int = 1' } } };
    await expect(stage({ name: 'broken', migration: loaded(badExtract) })).rejects.toThrow(/migration\.ts: the extract of dataset hotel does not run: relation "gc_nowhere" does not exist/);
    const badRef = {
      datasets: { ...broken.datasets, hotel: { ...broken.datasets.hotel!, transform: (_row: unknown, ctx: { ref: (d: string, k: unknown) => unknown }) => ({ x: ctx.ref('guest', 1) }) } },
    } as MigrationDefinition;
    const error = await stage({ name: 'broken2', migration: loaded(badRef) }).catch((err: unknown) => err);
    expect(isErrorCode(error, 'CONFIG') && (error as Error).message).toMatch(/dataset hotel refers to guest, which it does not depend on/);
    // Preferences keyed by guest alone: two rows per guest, one batch boundary between some of them (batches of 7).
    const badKey = { datasets: { ...broken.datasets, preference: { ...broken.datasets.preference!, key: ['property_id', 'guest_no'] } } };
    await expect(stage({ name: 'broken3', migration: loaded(badKey) })).rejects.toThrow(
      /the extract of dataset preference returns two rows with key \["1","1"\]: its key \(property_id, guest_no\) must name one row/,
    );
  });
});

describe('StagingStore.stageBatch', () => {
  it('appends new keys with COPY, and writes a batch whose key was staged after all as an upsert', async () => {
    const db = await createTestDatabase('migrate_batch');
    const session = await db.connect();
    try {
      const store = await StagingStore.open(session);
      const scope = { migration: 'm', tenant: 't\\1', dataset: 'd' };
      await store.restart(scope, '1');
      const record = (key: string, name: string) => ({ key, json: JSON.stringify({ name, note: 'tab\there, newline\n, backslash \\' }), contentHash: name });
      const batch = (records: ReturnType<typeof record>[]) => ({ records, failures: [], rows: records.length, lastKey: [records.at(-1)!.key] });
      expect(await store.onlyStagedBy(scope, '1')).toBe(true);
      expect(await store.stageBatch(scope, '1', batch([record('a', 'first'), record('b\\x\ty', 'second')]), 'insert')).toBe('insert');
      expect(await store.stageBatch(scope, '1', batch([record('a', 'again'), record('c', 'third')]), 'insert')).toBe('upsert');
      const { rows } = await session.query<{ record_key: string; record: { name: string; note: string } }>(
        "SELECT record_key, record FROM failsafe_migrate.staged WHERE tenant = 't\\1' ORDER BY record_key",
      );
      expect(rows.map((row) => [row.record_key, row.record.name])).toEqual([
        ['a', 'again'],
        ['b\\x\ty', 'second'],
        ['c', 'third'],
      ]);
      expect(rows[0]!.record.note).toBe('tab\there, newline\n, backslash \\');
      expect(await store.onlyStagedBy(scope, '2')).toBe(false);
    } finally {
      await session.end();
      await db.drop();
    }
  });
});

describe('StagingStore.open', () => {
  it('leaves the schema alone when another session brought it up to date while it waited for the lock', async () => {
    const db = await createTestDatabase('migrate_open_race');
    const [first, second] = await Promise.all([db.connect(), db.connect()]);
    try {
      // The second session finds no schema and begins its transaction; just before it asks for the
      // lock, the first takes it, so the second waits while the first creates the schema and commits.
      const sent: string[] = [];
      let creating: Promise<unknown> | undefined;
      const watched = Object.create(second, {
        query: {
          value: async (text: string, values?: readonly unknown[]) => {
            sent.push(text);
            if (text.includes('pg_advisory_xact_lock')) {
              let created = false;
              creating = StagingStore.open(first).finally(() => (created = true));
              // Until the first holds the lock (or, on a fast machine, is already done).
              for (let held = 0; held === 0 && !created; ) {
                const { rows } = await second.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()");
                held = rows[0]!.n;
              }
            }
            return second.query(text, values);
          },
        },
      }) as PgSession;
      await StagingStore.open(watched);
      await creating;
      expect(sent.filter((text) => text.includes('pg_description'))).toHaveLength(2);
      expect(sent.some((text) => text.includes('CREATE TABLE'))).toBe(false);
    } finally {
      await Promise.all([first.end(), second.end()]);
      await db.drop();
    }
  });

  it('creates the tables once when several sessions open a fresh staging database at the same time', async () => {
    const db = await createTestDatabase('migrate_open');
    const sessions = await Promise.all(Array.from({ length: 6 }, () => db.connect()));
    try {
      await Promise.all(sessions.map((session) => StagingStore.open(session)));
      const { rows } = await sessions[0]!.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'failsafe_migrate'");
      expect(rows[0]!.n).toBe(7);
    } finally {
      await Promise.all(sessions.map((session) => session.end()));
      await db.drop();
    }
  });
});

describe('loadMigration', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'failsafe-migration-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const write = async (name: string, text: string): Promise<string> => {
    const file = join(dir, name);
    await writeFile(file, text);
    return file;
  };
  const definitionModule = new URL('./definition.ts', import.meta.url).pathname;

  it('loads a TypeScript definition and orders its datasets', async () => {
    const file = await write(
      'good.ts',
      `import { defineMigration } from ${JSON.stringify(definitionModule)};
       const load = { endpoint: '/x', ids: (r: unknown) => r as number[] };
       export default defineMigration({ datasets: {
         guest: { dependsOn: ['hotel'], extract: 'SELECT 1 AS id, $1 AS t', key: ['id'], transform: (row) => row, load },
         hotel: { extract: 'SELECT 1 AS id, $1 AS t', key: ['id'], transform: (row) => row, load },
       } });`,
    );
    const migration = await loadMigration(file);
    expect(migration.graph.order).toEqual(['hotel', 'guest']);
    expect(migration.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('names the file and the problem: missing, not compiling, no default export, unknown dataset', async () => {
    await expect(loadMigration(join(dir, 'none.ts'))).rejects.toThrow(/migration file .*none\.ts does not exist/);
    await expect(loadMigration(await write('syntax.ts', 'export default {{'))).rejects.toThrow(/migration file .*syntax\.ts does not load: /);
    await expect(loadMigration(await write('empty.ts', 'export const x = 1;'))).rejects.toThrow(/empty\.ts has no default export with datasets/);
    await expect(
      loadMigration(await write('typo.mjs', "export default { datasets: { guest: { dependsOn: ['hotle'], extract: 'SELECT 1', key: ['id'], transform: (r) => r, load: { endpoint: '/g' } } } };")),
    ).rejects.toThrow(/typo\.mjs: dataset guest depends on unknown dataset "hotle"/);
  });
});
