import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../../test/cli.js';
import { createLegacyDatabase, EXAMPLE_MIGRATION } from '../../../test/concierge-example.js';
import { trackLeaks } from '../../../test/leak-check.js';
import { createTestDatabase, type TestDatabase } from '../../../test/postgres.js';
import { startTargetApi } from '../../../examples/concierge-migration/target-api.js';

/** Records per second, for the reference API and the migration's limit alike. */
const RATE = 60;

/**
 * Two tenants loaded at once spend one limit: the reference API allows exactly the migration's rate,
 * so tenants with a bucket each (twice the rate together) would meet 429s.
 */
describe('migrate run --concurrency: tenants share the target limit', () => {
  let source: TestDatabase;
  let staging: TestDatabase;
  let store: TestDatabase;
  const leaks = trackLeaks();

  beforeAll(async () => {
    [source, staging, store] = await Promise.all([createLegacyDatabase('migrate_shared_src'), createTestDatabase('migrate_shared_stage'), createTestDatabase('migrate_shared_api')]);
  });
  afterAll(async () => {
    await Promise.all([source, staging, store].map((db) => db.drop()));
    await leaks.assertNoLeaks();
  });

  it('loads both tenants without one answer of 429', async () => {
    const session = await store.connect();
    const api = await startTargetApi(session, { ratePerSecond: RATE });
    try {
      const env = { ...source.env, CONCIERGE_API_URL: api.url, CONCIERGE_API_RATE: String(RATE) };
      const out = await cli(['migrate', 'run', '-m', EXAMPLE_MIGRATION, '--source', source.url, '--staging', staging.url, '--tenant', '1', '2', '--concurrency', '2'], { env });
      expect(out).toMatch(/tenant 1: loaded into reference/);
      expect(out).toMatch(/tenant 2: loaded into reference/);
      const { rows } = await session.query<{ hotels: number; records: number }>("SELECT count(*) FILTER (WHERE kind = 'hotels')::int AS hotels, count(*)::int AS records FROM api_record");
      expect(rows[0]!.hotels).toBe(2);
      expect(rows[0]!.records).toBeGreaterThan(2 * RATE);
      expect(api.requests.get(429) ?? 0).toBe(0);
      expect(api.requests.get(201)).toBeGreaterThan(10);
    } finally {
      await api.close();
      await session.end();
    }
  });
});
