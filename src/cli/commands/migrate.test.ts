import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, runCli, tempDir } from '../../../test/cli.js';
import { createLegacyDatabase, EXAMPLE_MIGRATION, TENANT_1_LOADED } from '../../../test/concierge-example.js';
import { trackLeaks } from '../../../test/leak-check.js';
import { createTestDatabase, type TestDatabase } from '../../../test/postgres.js';
import type { PgSession } from '../../postgres/connection.js';
import { startTargetApi, type TargetApi } from '../../../examples/concierge-migration/target-api.js';


/** The reference example's migration on its legacy schema: plan, stage, resume, status, and bad input. */
describe('failsafe migrate', () => {
  let source: TestDatabase;
  let staging: TestDatabase;
  const api = {} as { db: TestDatabase };
  // The example's hotel_location enrichment calls a geocoder while staging: the reference API's, up for every test.
  let geocoder: { session: PgSession; api: TargetApi };
  const leaks = trackLeaks();
  const migration = EXAMPLE_MIGRATION;
  const env = (): Record<string, string> => ({ ...source.env, CONCIERGE_GEOCODER_URL: geocoder.api.url });

  beforeAll(async () => {
    [source, staging, api.db] = await Promise.all([createLegacyDatabase('migrate_cli_src'), createTestDatabase('migrate_cli_stage'), createTestDatabase('migrate_cli_api')]);
    const session = await api.db.connect();
    geocoder = { session, api: await startTargetApi(session) };
  });
  afterAll(async () => {
    await geocoder.api.close();
    await geocoder.session.end();
    await Promise.all([source, staging, api.db].map((db) => db.drop()));
    await leaks.assertNoLeaks();
  });

  it("plans the datasets in order with one tenant's source rows", async () => {
    const out = await cli(['migrate', 'plan', '-m', migration, '--source', source.url, '--tenant', '1'], { env: env() });
    expect(out).toMatch(/migration migration, tenant 1: 13 datasets in this order/);
    expect(out.split('\n').filter((line) => /^(hotel|room|staff|guest|loyalty|preference|stay|vendor|task)(_[a-z]+)? /.test(line)).map((line) => line.split(/\s{2,}/)[0])).toEqual([
      'hotel',
      'guest',
      'preference',
      'vendor',
      'task',
      'hotel_location',
      'room',
      'staff',
      'loyalty',
      'guest_note',
      'stay',
      'guest_summary',
      'vendor_contact',
    ]);
    expect(out).toMatch(/preference\s+guest\s+81/);
    expect(out).toMatch(/stay\s+guest, room\s+21/);
    // Computed: one row per guest with a stay not cancelled.
    expect(out).toMatch(/guest_summary\s+guest\s+10/);
  });

  it('stages a tenant, keeps what is staged on a rerun, restages a dataset and its dependants with --only D+', async () => {
    const run = (...extra: string[]) => cli(['migrate', 'run', '-m', migration, '--source', source.url, '--staging', staging.url, '--tenant', '1', '--stage-only', ...extra], { env: env() });
    const first = await run();
    expect(first).toMatch(/tenant 1: staged/);
    expect(first).toMatch(/guest\s+staged\s+40\s+38\s+2/);
    expect(first).toMatch(/task\s+staged\s+61\s+57\s+4/);
    // The new cases, dirty rows included: stay 21 departs before it arrives, loyalty member 36 has tier X,
    // note 6 is about guest 13 (never staged); vendor LIMO has no contacts, TAXI two, FLOR one.
    expect(first).toMatch(/hotel_location\s+staged\s+1\s+1\s+0/);
    expect(first).toMatch(/room\s+staged\s+10\s+10\s+0/);
    expect(first).toMatch(/staff\s+staged\s+5\s+5\s+0/);
    expect(first).toMatch(/loyalty\s+staged\s+10\s+9\s+1/);
    expect(first).toMatch(/guest_note\s+staged\s+6\s+5\s+1/);
    expect(first).toMatch(/stay\s+staged\s+21\s+20\s+1/);
    expect(first).toMatch(/guest_summary\s+staged\s+10\s+10\s+0/);
    expect(first).toMatch(/vendor_contact\s+staged\s+3\s+3\s+0/);
    const again = await run();
    expect(again).toMatch(/guest\s+kept\s+40\s+38\s+2/);
    const only = await run('--only', 'guest+');
    expect(only).toMatch(/hotel\s+kept/);
    expect(only).toMatch(/vendor\s+kept/);
    expect(only).toMatch(/preference\s+staged/);
    expect(only).toMatch(/hotel_location\s+kept/);
    expect(only).toMatch(/guest_summary\s+staged/);
    const status = JSON.parse(await cli(['--json', 'migrate', 'status', '-m', migration, '--staging', staging.url, '--tenant', '1'], { env: env() })) as {
      tenants: { datasets: { dataset: string; staged: number; rejected: number; done: boolean }[] }[];
    };
    expect(status.tenants[0]!.datasets.find((d) => d.dataset === 'preference')).toMatchObject({ dataset: 'preference', staged: 76, rejected: 5, done: true });
    const errors = await cli(['migrate', 'errors', '-m', migration, '--staging', staging.url, '--tenant', '1', '--dataset', 'guest'], { env: env() });
    expect(errors).toBe(
      'tenant 1: 2 records not staged or loaded\n' +
        '  guest ["1","13"]: transform failed: guest has no last name\n' +
        '  guest ["1","14"]: reference to guest ["1","13"]: no such record staged\n',
    );
    const errorsOf = (dataset: string) => cli(['migrate', 'errors', '-m', migration, '--staging', staging.url, '--tenant', '1', '--dataset', dataset], { env: env() });
    expect(await errorsOf('stay')).toMatch(/stay \["1","21"\]: transform failed: stay departs \(2026-08-07\) before it arrives \(2026-08-10\)/);
    expect(await errorsOf('loyalty')).toMatch(/loyalty \["1","36"\]: transform failed: unknown loyalty tier code "X"/);
    expect(await errorsOf('guest_note')).toMatch(/guest_note \["1","6"\]: reference to guest \["1","13"\]: no such record staged/);
  });

  it('stages the tenants of a file, several at once', async () => {
    const work = await tempDir();
    try {
      const list = join(work.path, 'hotels.txt');
      await writeFile(list, '# hotels moving this week\n1\n\n2\n');
      const out = await cli(['migrate', 'run', '-m', migration, '--source', source.url, '--staging', staging.url, '--tenants', list, '--concurrency', '2', '--stage-only'], { env: env() });
      expect(out).toMatch(/tenant 1: staged/);
      expect(out).toMatch(/tenant 2: staged[^]*guest\s+staged\s+8\s+8\s+0/);
      // Hotel 2 has no address: not sent to the geocoder, and a dead letter.
      expect(out).toMatch(/tenant 2: staged[^]*hotel_location\s+staged\s+1\s+0\s+1/);
      const errors = await cli(['migrate', 'errors', '-m', migration, '--staging', staging.url, '--tenant', '2', '--dataset', 'hotel_location'], { env: env() });
      expect(errors).toMatch(/hotel_location \["2"\]: transform failed: hotel has no address to geocode/);
      expect(Object.fromEntries(geocoder.api.geocodes)).toEqual({ 200: 1 });
    } finally {
      await work.remove();
    }
  });

  it('loads a tenant into the reference API: references become target ids, a refused record is a dead letter, a rerun sends nothing, a changed row is an update', async () => {
    const apiSession = await api.db.connect();
    try {
      const target = await startTargetApi(apiSession, { ratePerSecond: 2000 });
      try {
        const run = (...extra: string[]) =>
          cli(['migrate', 'run', '-m', migration, '--source', source.url, '--staging', staging.url, '--tenant', '1', ...extra], { env: { ...env(), CONCIERGE_API_URL: target.url } });
        const first = await run();
        expect(first).toMatch(/tenant 1: loaded into reference/);
        expect(first).toMatch(/guest\s+38\s+0\s+0\s+0/);
        expect(first).toMatch(/vendor\s+2\s+0\s+1\s+0/);
        expect(first).toMatch(/vendor_contact\s+3\s+0\s+0\s+0/);
        expect(first).toMatch(/hotel_location\s+1\s+0\s+0\s+0/);
        const kinds = async (): Promise<Record<string, number>> =>
          Object.fromEntries((await apiSession.query<{ kind: string; n: number }>('SELECT kind, count(*)::int AS n FROM api_record GROUP BY kind')).rows.map((row) => [row.kind, row.n]));
        expect(await kinds()).toEqual(TENANT_1_LOADED);
        const { rows: referred } = await apiSession.query<{ ok: boolean }>(
          `SELECT bool_and(EXISTS (SELECT 1 FROM api_record h WHERE h.kind = 'hotels' AND h.id = (g.body->>'hotelId')::bigint)) AS ok FROM api_record g WHERE g.kind = 'guests'`,
        );
        expect(referred[0]!.ok).toBe(true);
        await expectEveryCase(apiSession, source, geocoder.api.url);
        const errors = await cli(['migrate', 'errors', '-m', migration, '--staging', staging.url, '--tenant', '1', '--dataset', 'vendor'], { env: env() });
        expect(errors).toMatch(/vendor \["1","LIMO"\] → reference: the target answered HTTP 422/);
        // The task for that vendor waits in dead letter instead of going with a missing reference.
        expect(first).toMatch(/task\s+56\s+0\s+1\s+0/);
        const taskErrors = await cli(['migrate', 'errors', '-m', migration, '--staging', staging.url, '--tenant', '1', '--dataset', 'task'], { env: env() });
        expect(taskErrors).toMatch(/task \["1","61"\] → reference: a record it refers to was not loaded \(rejected, or never staged\)/);

        const again = await run();
        expect(again).toMatch(/task\s+0\s+0\s+0\s+0/);
        expect(await kinds()).toEqual(TENANT_1_LOADED);

        const legacy = await source.connect();
        await legacy.query("UPDATE gc_guest SET last_nm = 'Renamed' WHERE property_id = 1 AND guest_no = 2");
        await legacy.end();
        const changed = await run('--only', 'guest');
        expect(changed).toMatch(/guest\s+0\s+1\s+0\s+0/);
        const { rows } = await apiSession.query<{ last: string; updated: number }>("SELECT body->>'lastName' AS last, updated FROM api_record WHERE kind = 'guests' AND body->>'firstName' = 'Guest2'");
        expect(rows).toEqual([{ last: 'Renamed', updated: 1 }]);

        // The refused vendor gets a name at the source: restaged, then sent again.
        const fix = await source.connect();
        await fix.query("UPDATE gc_vendor SET vendor_nm = 'Limousines Ltd' WHERE vendor_cd = 'LIMO'");
        await fix.end();
        await run('--only', 'vendor', '--stage-only');
        const redriven = await cli(['migrate', 'redrive', '-m', migration, '--staging', staging.url, '--tenant', '1', '--dataset', 'vendor'], { env: { ...env(), CONCIERGE_API_URL: target.url } });
        expect(redriven).toMatch(/tenant 1: 1 refused record sent again/);
        expect(redriven).toMatch(/vendor\s+1\s+0\s+0\s+0/);
        expect((await kinds()).vendors).toBe(3);
      } finally {
        await target.close();
      }
    } finally {
      await apiSession.end();
    }
  });

  it('stops a load that goes over its error budget: exit 3, naming the dataset and the budget', async () => {
    const work = await tempDir();
    const apiSession = await api.db.connect();
    const target = await startTargetApi(apiSession);
    try {
      // The example with a budget of no refused vendors: its nameless vendor stops the load.
      const strict = join(work.path, 'strict.ts');
      await writeFile(
        strict,
        `import base from ${JSON.stringify(EXAMPLE_MIGRATION)};\n` +
          'const vendor = base.datasets.vendor;\n' +
          'export default { ...base, datasets: { ...base.datasets, vendor: { ...vendor, load: { ...vendor.load, maxRejected: 0 } } } };\n',
      );
      const result = await runCli(['migrate', 'run', '-m', strict, '--source', source.url, '--staging', staging.url, '--tenant', '2'], { env: { ...env(), CONCIERGE_API_URL: target.url } });
      expect(result.code).toBe(0);
      const legacy = await source.connect();
      await legacy.query("INSERT INTO gc_vendor VALUES (2, 'NONAME', '', NULL, NULL, NULL, NULL)");
      await legacy.end();
      const over = await runCli(['migrate', 'run', '-m', strict, '--source', source.url, '--staging', staging.url, '--tenant', '2', '--only', 'vendor'], { env: { ...env(), CONCIERGE_API_URL: target.url } });
      expect(over.code).toBe(3);
      expect(over.stderr).toMatch(/load dataset vendor of tenant 2 into reference: the target refused 1 of 1 records of dataset vendor, over its budget of 0; the load stopped/);
    } finally {
      await target.close();
      await apiSession.end();
      await work.remove();
      const legacy = await source.connect();
      await legacy.query("DELETE FROM gc_vendor WHERE vendor_cd = 'NONAME'");
      await legacy.end();
    }
  });

  it("the reference API's geocoder: the same coordinates for the same address, 422 for none, 429 with Retry-After over its limit", async () => {
    const session = await api.db.connect();
    const limited = await startTargetApi(session, { geocodePerSecond: 2 });
    try {
      const ask = (address: string) => fetch(`${limited.url}/_geocode?address=${encodeURIComponent(address)}`);
      const first = (await (await ask('1 Main Street, Town')).json()) as { lat: number; lng: number };
      expect(first.lat).toBeGreaterThanOrEqual(-90);
      expect(first.lng).toBeLessThan(180);
      expect(await (await ask('  1 MAIN street,   town ')).json()).toEqual(first);
      const over = await ask('1 Main Street, Town');
      expect([over.status, over.headers.get('retry-after')]).toEqual([429, '1']);
      await over.body?.cancel();
      await sleep(600);
      const empty = await ask(' ');
      expect(empty.status).toBe(422);
      await empty.body?.cancel();
    } finally {
      await limited.close();
      await session.end();
    }
  });

  it("resets a tenant's staging, or a target's load state, only with --yes", async () => {
    const reset = (...extra: string[]) => runCli(['migrate', 'reset', '-m', migration, '--staging', staging.url, '--tenant', '2', ...extra], { env: env() });
    const asked = await reset();
    expect(asked.code).toBe(2);
    expect(asked.stdout).toMatch(/would forget, for tenant\(s\) 2: staged records, checkpoints and staging dead letters\ngive --yes to do it/);
    const done = await reset('--yes');
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/tenant 2: forgot (\d+) staged, (.*, )?13 stage_progress, 1 dead_letter/);
    const status = await cli(['migrate', 'status', '-m', migration, '--staging', staging.url, '--tenant', '2'], { env: env() });
    expect(status).toMatch(/guest\s+0\s+0\s+0\s+not staged/);
    const target = await reset('--target', 'reference', '--yes');
    expect(target.stdout).toMatch(/tenant 2: forgot \d+ key_map, \d+ load_batch, \d+ dead_letter/);
  });

  it('refuses a misspelled dataset, an unknown target, and a migration that does not load, each in one line', async () => {
    const base = ['migrate', 'run', '--source', source.url, '--staging', staging.url, '--tenant', '1'];
    const typo = await runCli([...base, '-m', migration, '--stage-only', '--only', 'gest'], { env: env() });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/--only gest: no dataset gest in/);
    const noTarget = await runCli([...base, '-m', migration, '--target', 'prod'], { env: env() });
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toMatch(/--target prod: no such target in .*migration\.ts \(targets: reference\)/);
    const work = await tempDir();
    try {
      const missing = await runCli([...base, '-m', join(work.path, 'nope.ts'), '--stage-only'], { env: env() });
      expect(missing.code).toBe(2);
      expect(missing.stderr.trim().split('\n')).toHaveLength(1);
      expect(missing.stderr).toMatch(/migration file .*nope\.ts does not exist/);
    } finally {
      await work.remove();
    }
  });
});

/** The datasets beyond one-to-one, as the reference API stored them after loading tenant 1 of the sample. */
async function expectEveryCase(api: PgSession, source: TestDatabase, geocoderUrl: string): Promise<void> {
  const bodies = async (kind: string): Promise<Record<string, unknown>[]> =>
    (await api.query<{ body: Record<string, unknown> }>('SELECT body FROM api_record WHERE kind = $1 ORDER BY id', [kind])).rows.map((row) => row.body);
  const idOf = async (kind: string, field: string, value: string): Promise<number> =>
    Number((await api.query<{ id: string }>(`SELECT id::text AS id FROM api_record WHERE kind = $1 AND body->>$2 = $3`, [kind, field, value])).rows[0]!.id);

  // One-to-many: a record per contact filled in at the source, each pointing at its vendor.
  const legacy = await source.connect();
  const { rows: contacts } = await legacy.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM gc_vendor, LATERAL (VALUES (contact1_nm, contact1_phone), (contact2_nm, contact2_phone)) c(nm, phone)
      WHERE property_id = 1 AND (coalesce(trim(nm), '') <> '' OR coalesce(trim(phone), '') <> '')`,
  );
  await legacy.end();
  const vendorContacts = await bodies('vendor-contacts');
  expect(vendorContacts).toHaveLength(contacts[0]!.n);
  const cityCabs = await idOf('vendors', 'code', 'TAXI');
  expect(vendorContacts.filter((contact) => contact.vendorId === cityCabs).map((contact) => contact.name)).toEqual(['Mary Byrne', 'Desk']);

  // Computed: guest 2 stayed twice (3 nights out on 26 January, 1 out on 24 April); guest 7's cancelled stay does not count.
  const summaryOf = async (firstName: string): Promise<Record<string, unknown> | undefined> => {
    const guestId = await idOf('guests', 'firstName', firstName);
    return (await bodies('guest-summaries')).find((summary) => summary.guestId === guestId);
  };
  expect(await summaryOf('Guest2')).toMatchObject({ stays: 2, nights: 4, lastDeparture: '2026-04-24' });
  expect(await summaryOf('Guest7')).toMatchObject({ stays: 1 });

  // Enrichment: the geocoder's coordinates for the hotel's address.
  const [location] = await bodies('hotel-locations');
  const address = "1 Sir John Rogerson's Quay, Dublin, D02 XY45, IE";
  const expected = (await (await fetch(`${geocoderUrl}/_geocode?address=${encodeURIComponent(address)}`)).json()) as { lat: number; lng: number };
  expect(location).toEqual({ hotelId: await idOf('hotels', 'name', 'Harbour House'), address, lat: expected.lat, lng: expected.lng });

  // Composition: the author's name joined from gc_staff; none for an imported note or a deleted author.
  const notes = await bodies('guest-notes');
  expect(notes.find((note) => note.text === 'allergic to shellfish')).toMatchObject({ author: 'Orla Keane', authorDepartment: 'concierge' });
  expect(notes.filter((note) => note.author === null).map((note) => note.text)).toEqual(['imported from the old front desk system', 'asked for a quiet room']);

  // Self-reference and nullable references: the supervisor chain, reservations without a room.
  expect((await bodies('staff-members')).find((member) => member.firstName === 'Orla')!.supervisorId).toBe(await idOf('staff-members', 'firstName', 'Ciaran'));
  const stays = await bodies('stays');
  expect(stays.filter((stay) => stay.roomId === null).map((stay) => stay.status)).toEqual(['reserved', 'reserved']);
  expect(stays.filter((stay) => stay.status === 'cancelled')).toHaveLength(2);
  expect((await bodies('rooms')).map((room) => room.type)).toContain('suite');
  const guest4 = await idOf('guests', 'firstName', 'Guest4');
  expect((await bodies('loyalty-accounts')).find((account) => account.guestId === guest4)).toMatchObject({ tier: 'silver', points: 600 });
}
